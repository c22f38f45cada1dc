import { MamoriError, fail } from '../errors.js';
import type { Caller, SecondFactorId, VerifiedFactor } from '../methods/types.js';
import type { Services } from '../services.js';
import type { User } from '../store/schema.js';
import { notify, recordAddressFailure } from './sign-in.js';
import { MFA_HARD_STOP, MFA_LOCK_AFTER } from './throttle.js';

/** Whether the account's second-factor lock holds now (a timed lift may be configured). */
export function mfaLocked(s: Services, user: User): boolean {
  if (user.mfa_locked_at === null) return false;
  if (user.mfa_failures >= MFA_HARD_STOP || s.config.mfaLockMinutes === 0) return true;
  return s.clock.now() < user.mfa_locked_at + s.config.mfaLockMinutes * 60_000;
}

/**
 * Checks a second factor for sign-in or step-up. Failures count per account across every
 * sign-in, instance and factor, so a new challenge never buys new guesses.
 */
export async function verifySecondFactor(
  s: Services,
  user: User,
  body: { method: string } & Record<string, unknown>,
  caller: Caller,
  purpose: 'sign_in' | 'step_up',
): Promise<VerifiedFactor> {
  const method = s.methods.secondFactors.get(body.method as SecondFactorId);
  if (!method) fail('validation_failed', `Unknown method "${body.method.slice(0, 40)}"`);
  if (method.guessable && mfaLocked(s, user)) {
    s.metrics.mfaVerifications.inc({ method: method.id, result: 'locked' });
    await s.audit.append({ type: 'mfa_refused', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'mfa_locked', method: method.id, purpose } });
    fail('mfa_locked', 'Too many wrong codes; an administrator must unlock the account');
  }
  if (method.guessable && user.mfa_locked_at !== null) {
    // The timed lock ran out: start a fresh count below the lock threshold, keep the hard-stop total.
    await s.users.liftMfaLock(user.id);
  }
  const verified = (await method.isEnrolled(user.id)) ? await method.verify(user, body, caller, purpose) : null;
  if (verified) {
    // Only the factor the count is about resets it: a passkey doesn't wipe an attacker's code guesses.
    if (method.guessable) await s.users.clearMfaFailures(user.id);
    s.metrics.mfaVerifications.inc({ method: method.id, result: 'success' });
    await s.audit.append({
      type: purpose === 'sign_in' ? 'mfa_verified' : 'step_up_verified',
      userId: user.id,
      ip: caller.ip,
      userAgent: caller.userAgent,
      detail: { method: method.id, deviceId: verified.deviceId ?? null, deviceName: verified.deviceName ?? null },
    });
    if (method.id === 'recovery_code') {
      const remaining = await s.methods.recoveryCodes.remaining(user.id);
      await s.audit.append({ type: 'recovery_code_used', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { remaining } });
      await notify(s, user, { kind: 'recovery_code_used', remaining, at: s.clock.now() });
    }
    return verified;
  }
  await recordAddressFailure(s, caller);
  // A refused assertion (replay, wrong origin, clone) is audited, but only codes count as guesses.
  const failures = method.guessable ? await s.users.recordMfaFailure(user.id) : null;
  s.metrics.mfaVerifications.inc({ method: method.id, result: 'failure' });
  await s.audit.append({
    type: 'mfa_failed',
    userId: user.id,
    ip: caller.ip,
    userAgent: caller.userAgent,
    detail: { method: method.id, purpose, ...(failures === null ? {} : { consecutiveFailures: failures }) },
  });
  if (failures === null) fail('invalid_code');
  if (failures >= MFA_LOCK_AFTER && (await s.users.lockMfa(user.id, s.clock.now()))) {
    s.metrics.lockouts.inc({ kind: 'mfa_lock' });
    await s.audit.append({ type: 'account_locked', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'mfa', consecutiveFailures: failures } });
    await notify(s, user, { kind: 'account_locked', reason: 'mfa', at: s.clock.now(), hard: failures >= MFA_HARD_STOP || s.config.mfaLockMinutes === 0 });
    throw new MamoriError('mfa_locked', 'Too many wrong codes; an administrator must unlock the account');
  }
  fail('invalid_code');
}
