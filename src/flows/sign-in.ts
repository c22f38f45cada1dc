import { MamoriError, TooManyAttemptsError, fail } from '../errors.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import type { Session, User } from '../store/schema.js';
import { hmacHex } from '../crypto/tokens.js';
import { sessionView, type SessionView } from './session-view.js';
import { verifySecondFactor } from './second-factor.js';
import { WebauthnError } from '../methods/webauthn/index.js';
import {
  MFA_TRIES_PER_SIGN_IN,
  PASSWORD_FREE_FAILURES,
  PASSWORD_HARD_LOCK,
  passwordBackoffMs,
  retryAfterSeconds,
} from './throttle.js';

/** A half-finished sign-in lives at most this long (the `mamori_signin` cookie's lifetime). */
export const SIGN_IN_TTL_MS = 5 * 60_000;

export type SignInResult =
  | { status: 'email_code_sent'; signInToken: string }
  | { status: 'mfa_required'; methods: string[]; signInToken: string }
  | { status: 'signed_in' | 'mfa_setup_required'; sessionToken: string; session: SessionView };

/** Active second factors of a user, in the registry's order. */
export async function enrolledFactors(s: Services, userId: string): Promise<string[]> {
  const ids: string[] = [];
  for (const m of s.methods.secondFactors.values()) if (await m.isEnrolled(userId)) ids.push(m.id);
  return ids;
}

/** Unknown emails keep a failure count of their own, so throttling answers them like real accounts. */
function ghostKey(s: Services, email: string): string {
  return `acct:${hmacHex(s.box.deriveKey('ghost-account'), email.trim().toLowerCase())}`;
}

async function checkAddress(s: Services, caller: Caller): Promise<void> {
  const { ipFailureLimit, ipFailureWindowMinutes } = s.config;
  if (ipFailureLimit === 0 || !caller.ip) return;
  const wait = await s.ipFailures.blockedFor(caller.ip, ipFailureLimit, s.clock.now(), ipFailureWindowMinutes * 60_000);
  if (wait > 0) {
    s.metrics.lockouts.inc({ kind: 'ip' });
    throw new TooManyAttemptsError(wait);
  }
}

/** Counts a failed attempt against the caller's address (the second line of defence). */
export async function recordAddressFailure(s: Services, caller: Caller): Promise<void> {
  if (s.config.ipFailureLimit === 0 || !caller.ip) return;
  await s.ipFailures.record(caller.ip, s.clock.now(), s.config.ipFailureWindowMinutes * 60_000);
}

/**
 * Opens a session. With `completing`, the half-finished sign-in is completed in the same
 * transaction as the session and its audit event, and only one caller can do that: the others
 * get undefined.
 */
export async function newSession(
  s: Services,
  user: User,
  level: { aal: number; amr: string[]; mfaVerified: boolean },
  caller: Caller,
  completing?: string,
): Promise<{ token: string; session: Session; view: SessionView; setupRequired: boolean } | undefined> {
  const now = s.clock.now();
  const setupRequired = s.config.requireMfa && level.aal < 2 && (await enrolledFactors(s, user.id)).length === 0;
  const made = await s.store.db.transaction().execute(async (trx) => {
    if (completing !== undefined && !(await s.signIns.within(trx).complete(completing, now))) return undefined;
    const created = await s.sessions.within(trx).create({
      userId: user.id,
      aal: level.aal,
      amr: level.amr,
      mfaSetupOnly: setupRequired,
      now,
      mfaVerifiedAt: level.mfaVerified ? now : null,
      ip: caller.ip,
      userAgent: caller.userAgent,
    });
    await s.users.within(trx).update(user.id, { last_sign_in_at: now });
    await s.audit.append(
      {
        type: 'sign_in_succeeded',
        userId: user.id,
        ip: caller.ip,
        userAgent: caller.userAgent,
        detail: { aal: level.aal, amr: level.amr.join(' '), sessionId: created.session.id },
      },
      trx,
    );
    return created;
  });
  if (!made) return undefined;
  s.metrics.signIns.inc({ step: 'complete', result: 'success' });
  return { ...made, view: sessionView(made.session, user, s.config.sessionIdleMinutes * 60_000), setupRequired };
}

/**
 * One more consecutive wrong password for the account, wherever it was typed (sign-in or a
 * password change): the back-off, the hard lock at 100, their audit events and the email.
 */
export async function countPasswordFailure(s: Services, user: User, caller: Caller, eventType: string): Promise<void> {
  const now = s.clock.now();
  const failures = await s.users.recordPasswordFailure(user.id);
  const wait = passwordBackoffMs(failures);
  const hardLock = failures >= PASSWORD_HARD_LOCK;
  if (wait > 0 || hardLock) await s.users.setPasswordBlock(user.id, failures, wait > 0 ? now + wait : null, hardLock);
  await s.audit.append({
    type: eventType,
    userId: user.id,
    ip: caller.ip,
    userAgent: caller.userAgent,
    detail: { reason: 'wrong_password', consecutiveFailures: failures },
  });
  if (failures === PASSWORD_FREE_FAILURES) {
    s.metrics.lockouts.inc({ kind: 'password_backoff' });
    await s.audit.append({ type: 'sign_in_throttled', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { consecutiveFailures: failures } });
  }
  if (failures === PASSWORD_HARD_LOCK) {
    s.metrics.lockouts.inc({ kind: 'password_lock' });
    await s.audit.append({ type: 'account_locked', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'password', consecutiveFailures: failures } });
    await notify(s, user, { kind: 'account_locked', reason: 'password', at: now, hard: true });
  }
}

async function refuseWrongPassword(s: Services, user: User | undefined, email: string, caller: Caller): Promise<never> {
  const now = s.clock.now();
  await recordAddressFailure(s, caller);
  s.metrics.signIns.inc({ step: 'password', result: 'failure' });
  if (!user) {
    await s.ipFailures.recordConsecutive(ghostKey(s, email), now);
    await s.audit.append({
      type: 'sign_in_failed',
      ip: caller.ip,
      userAgent: caller.userAgent,
      detail: { reason: 'unknown_user', email: email.slice(0, 254) },
    });
    fail('invalid_credentials');
  }
  await countPasswordFailure(s, user, caller, 'sign_in_failed');
  fail('invalid_credentials');
}

/** Sends a security notification; a mail outage must not turn a sign-in into an error. */
export async function notify(s: Services, user: User, msg: Parameters<Services['mailer']['send']>[1]): Promise<void> {
  try {
    await s.mailer.send(user.email, msg, user.locale);
  } catch (err) {
    s.log.error({ err: { code: (err as { code?: string }).code }, kind: msg.kind, userId: user.id }, 'notification not delivered');
  }
}

/** Refuses while the account waits out its back-off or is locked (the right password too). */
export async function throttleState(s: Services, user: User | undefined, email: string): Promise<void> {
  const now = s.clock.now();
  if (user) {
    if (user.password_locked) fail('account_locked', 'Too many failed sign-ins; an administrator must unlock the account');
    if (user.password_blocked_until && user.password_blocked_until > now) {
      throw new TooManyAttemptsError(retryAfterSeconds(user.password_blocked_until, now));
    }
    return;
  }
  // An unknown email answers exactly like an account with the same history: its count never
  // expires (an account's only resets on success or unlock) and its back-off runs from its latest
  // failure, kept in `window_start` by recordConsecutive.
  const ghost = await s.store.db.selectFrom('ip_failures').selectAll().where('ip', '=', ghostKey(s, email)).executeTakeFirst();
  if (!ghost) return;
  if (ghost.failures >= PASSWORD_HARD_LOCK) fail('account_locked', 'Too many failed sign-ins; an administrator must unlock the account');
  const wait = passwordBackoffMs(ghost.failures);
  if (wait > 0 && ghost.window_start + wait > now) throw new TooManyAttemptsError(retryAfterSeconds(ghost.window_start + wait, now));
}

export async function signInWithPassword(s: Services, email: string, password: string, caller: Caller): Promise<SignInResult> {
  await checkAddress(s, caller);
  const user = await s.users.findByEmail(email);
  try {
    await throttleState(s, user, email);
  } catch (err) {
    if (err instanceof MamoriError) {
      s.metrics.signIns.inc({ step: 'password', result: 'throttled' });
      await s.audit.append({
        type: 'sign_in_refused',
        userId: user?.id ?? null,
        ip: caller.ip,
        userAgent: caller.userAgent,
        detail: { reason: err.code },
      });
    }
    throw err;
  }
  const ok = await s.hasher.verify(user?.password_hash ?? null, password);
  if (!user || !ok) return refuseWrongPassword(s, user, email, caller);
  if (user.disabled) {
    await s.audit.append({ type: 'sign_in_failed', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'disabled' } });
    fail('invalid_credentials');
  }
  const now = s.clock.now();
  const previousFailures = user.password_failures;
  await s.users.clearPasswordFailures(user.id);
  if (s.hasher.needsRehash(user.password_hash!)) {
    await s.users.update(user.id, { password_hash: await s.hasher.hash(password) });
  }
  if (previousFailures >= PASSWORD_FREE_FAILURES) {
    await notify(s, user, { kind: 'sign_in_after_failures', failures: previousFailures, at: now, ...(caller.ip ? { ip: caller.ip } : {}) });
  }
  s.metrics.signIns.inc({ step: 'password', result: 'success' });

  const factors = await enrolledFactors(s, user.id);
  if (factors.length > 0) {
    const { token } = await s.signIns.start({ userId: user.id, step: 'mfa', amr: ['pwd'], now, ttlMs: SIGN_IN_TTL_MS, ...caller });
    return { status: 'mfa_required', methods: factors, signInToken: token };
  }
  if (s.config.emailCode === 'off') {
    const made = (await newSession(s, user, { aal: 1, amr: ['pwd'], mfaVerified: false }, caller))!;
    return { status: made.setupRequired ? 'mfa_setup_required' : 'signed_in', sessionToken: made.token, session: made.view };
  }
  const { token, transaction } = await s.signIns.start({ userId: user.id, step: 'email_code', amr: ['pwd'], now, ttlMs: SIGN_IN_TTL_MS, ...caller });
  const sent = await s.methods.mailedCode.send(user, transaction.id, now);
  if (sent === 'hourly_cap') {
    await s.audit.append({ type: 'email_code_refused', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'hourly_cap' } });
    throw new TooManyAttemptsError(3600, 'Too many sign-in codes were sent this hour');
  }
  await s.audit.append({ type: 'email_code_sent', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { transaction: transaction.id } });
  return { status: 'email_code_sent', signInToken: token };
}

export async function signInWithEmailCode(s: Services, signInToken: string | undefined, code: string, caller: Caller): Promise<SignInResult> {
  await checkAddress(s, caller);
  const now = s.clock.now();
  const transaction = signInToken ? await s.signIns.findOpen(signInToken, now) : undefined;
  if (!transaction || transaction.step !== 'email_code') fail('invalid_code', 'No sign-in is waiting for a code; start again');
  const user = await s.users.findById(transaction.user_id);
  if (!user || user.disabled) fail('invalid_code', 'No sign-in is waiting for a code; start again');
  const result = await s.methods.mailedCode.verify(user.id, transaction.id, code, now);
  if (result === 'hourly_cap') {
    s.metrics.signIns.inc({ step: 'email_code', result: 'throttled' });
    await s.audit.append({ type: 'sign_in_refused', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'email_code_hourly_cap' } });
    throw new TooManyAttemptsError(3600, 'Too many wrong codes this hour');
  }
  const made = result === 'ok' ? await newSession(s, user, { aal: 1, amr: JSON.parse(transaction.amr) as string[], mfaVerified: false }, caller, transaction.id) : undefined;
  if (!made) {
    s.metrics.signIns.inc({ step: 'email_code', result: 'failure' });
    await recordAddressFailure(s, caller);
    await s.audit.append({
      type: 'sign_in_failed',
      userId: user.id,
      ip: caller.ip,
      userAgent: caller.userAgent,
      detail: { reason: result === 'wrong' ? 'wrong_email_code' : 'email_code_spent' },
    });
    fail('invalid_code');
  }
  return { status: made.setupRequired ? 'mfa_setup_required' : 'signed_in', sessionToken: made.token, session: made.view };
}

/** The second step for a user with MFA: a code, a recovery code or (later) a passkey. */
export async function signInWithSecondFactor(
  s: Services,
  signInToken: string | undefined,
  body: { method: string } & Record<string, unknown>,
  caller: Caller,
): Promise<SignInResult> {
  await checkAddress(s, caller);
  const now = s.clock.now();
  const transaction = signInToken ? await s.signIns.findOpen(signInToken, now) : undefined;
  if (!transaction || transaction.step !== 'mfa') fail('invalid_code', 'No sign-in is waiting for a second factor; start again');
  const user = await s.users.findById(transaction.user_id);
  if (!user || user.disabled) fail('invalid_code', 'No sign-in is waiting for a second factor; start again');
  let verified;
  try {
    verified = await verifySecondFactor(s, user, body, caller, 'sign_in');
  } catch (err) {
    if (err instanceof MamoriError && err.code === 'invalid_code') await s.signIns.recordFailure(transaction.id, MFA_TRIES_PER_SIGN_IN, now);
    throw err;
  }
  const amr = [...new Set([...(JSON.parse(transaction.amr) as string[]), ...verified.amr, 'mfa'])];
  const made = await newSession(s, user, { aal: 2, amr, mfaVerified: true }, caller, transaction.id);
  if (!made) fail('invalid_code', 'This sign-in is already complete; start again');
  return { status: 'signed_in', sessionToken: made.token, session: made.view };
}

/** Options for the second step with a passkey or security key, limited to this user's credentials. */
export async function secondFactorWebauthnOptions(s: Services, signInToken: string | undefined) {
  const transaction = signInToken ? await s.signIns.findOpen(signInToken, s.clock.now()) : undefined;
  if (!transaction || transaction.step !== 'mfa') fail('invalid_code', 'No sign-in is waiting for a second factor; start again');
  const user = await s.users.findById(transaction.user_id);
  if (!user || user.disabled) fail('invalid_code', 'No sign-in is waiting for a second factor; start again');
  return s.methods.webauthn.authenticationOptions('sign_in_mfa', user);
}

/** Passwordless: a discoverable credential that verified its user stands in for password and second factor. */
export async function signInWithPasskey(s: Services, credential: Parameters<Services['methods']['webauthn']['signInWithPasskey']>[0], caller: Caller): Promise<SignInResult> {
  await checkAddress(s, caller);
  let result;
  try {
    result = await s.methods.webauthn.signInWithPasskey(credential);
  } catch (err) {
    if (!(err instanceof WebauthnError)) throw err;
    await recordAddressFailure(s, caller);
    s.metrics.signIns.inc({ step: 'passkey', result: 'failure' });
    await s.audit.append({ type: 'sign_in_failed', ip: caller.ip, userAgent: caller.userAgent, detail: { reason: `passkey_${err.reason}` } });
    fail('invalid_credentials', 'The passkey was not accepted');
  }
  const user = await s.users.findById(result.userId);
  if (!user || user.disabled) fail('invalid_credentials', 'The passkey was not accepted');
  const made = (await newSession(s, user, { aal: 2, amr: [...result.amr, 'mfa'], mfaVerified: true }, caller))!;
  return { status: 'signed_in', sessionToken: made.token, session: made.view };
}
