import { fail } from '../errors.js';
import { EMAIL_CODE_TTL_MS } from '../methods/email-code/index.js';
import type { Caller } from '../methods/types.js';
import { isRefusal } from '../regulation/index.js';
import { PASSWORD_FREE_FAILURES } from '../regulation/rules.js';
import type { Services } from '../services.js';
import type { Transaction } from 'kysely';
import type { Database, MfaDevice, SignInTransaction, User } from '../store/schema.js';
import { notify, originOf } from './notify.js';
import { announceRecoveryCompleted, attachRecoveryIn, completeRecoveryIn, readyRecovery, recoveryForSignIn, voidRecoveryOnSignIn, type LostDevicePorts } from './lost-devices.js';
import { mfaSetupRequired, openSession, openSessionIn, type OpenedSession, type SessionPorts } from './open-session.js';
import { attemptPassword } from './password-attempt.js';
import { refuseAddress, retryLater } from './refusals.js';
import { grantIn, isRememberToken, rememberCookieLive, rememberDaysFor, revokeAllRememberedIn, signInRemembered, type RememberPorts } from './remembered-browsers.js';
import { verifySecondFactor, type SecondFactorPorts } from './second-factor.js';
import type { SessionView } from './session-view.js';

/** What these use of the composition root, and nothing more. */
export type SignInPorts = Pick<Services, 'audit' | 'clock' | 'config' | 'hasher' | 'log' | 'mailer' | 'methods' | 'metrics' | 'regulator' | 'signIns' | 'store' | 'users'> & SessionPorts & SecondFactorPorts & Parameters<typeof attemptPassword>[0] & LostDevicePorts & RememberPorts;


/** A half-finished sign-in lives at most this long (the `mamori_signin` cookie's lifetime). */
export const SIGN_IN_TTL_MS = 5 * 60_000;

export type SignInResult =
  | {
      status: 'email_code_sent';
      signInToken: string;
      /** Until when the code can be used: its own lifetime or the sign-in's, whichever ends first. */
      expiresAt: number;
      /** The code completes a recovery: the old devices go. */
      recovery?: true;
      /**
       * With `recovery`: the factors the account still holds. Whoever still holds one may use it in
       * this same sign-in instead of the code (`POST /sign-in/mfa`), which cancels the recovery.
       */
      methods?: string[];
    }
  | {
      status: 'mfa_required';
      methods: string[];
      signInToken: string;
      /** The method of the device the user used last, for the second step to open with. */
      preferred?: string;
      /** "Remember this browser" is offered at the MFA step, for this many days (src/flows/remembered-browsers.ts). */
      rememberBrowserDays?: number;
      /** The browser's `mamori_remember` cookie holds no live grant of anyone any more: clear it. */
      forgetRememberCookie?: true;
    }
  | {
      status: OpenedSession['status'];
      sessionToken: string;
      session: SessionView;
      /** Asked to remember the browser at the MFA step: the grant's cookie, or null when it is not offered. */
      remembered?: { token: string; expiresAt: number; days: number } | null;
    };

const opened = (made: OpenedSession): SignInResult => ({ status: made.status, sessionToken: made.token, session: made.view });

/**
 * The open sign-in behind the `mamori_signin` cookie, waiting for `step`, with its user. A sign-in
 * that waits for the code completing a recovery also takes a second factor: the owner who still
 * holds a device proves it there, and the recovery is void (it was started, perhaps, by whoever
 * reads the mailbox, who can also type the code).
 */
async function openSignIn(s: SignInPorts, signInToken: string | undefined, step: SignInTransaction['step']): Promise<{ transaction: SignInTransaction; user: User }> {
  const waitingFor = step === 'mfa' ? 'a second factor' : 'a code';
  const transaction = signInToken ? await s.signIns.findOpen(signInToken, s.clock.now()) : undefined;
  const waits = transaction !== undefined && (transaction.step === step || (step === 'mfa' && transaction.step === 'email_code' && (await recoveryForSignIn(s, transaction.id)) !== undefined));
  if (!transaction || !waits) fail('invalid_code', `No sign-in is waiting for ${waitingFor}; start again`);
  const user = await s.users.findById(transaction.user_id);
  if (!user || user.disabled) fail('invalid_code', `No sign-in is waiting for ${waitingFor}; start again`);
  return { transaction, user };
}

/**
 * `remember`: the browser's `mamori_remember` cookie, and `fresh` when the sign-in must prove a
 * second factor now whatever the browser holds (an OpenID Connect `prompt=login` or `max_age`).
 */
export async function signInWithPassword(s: SignInPorts, email: string, password: string, caller: Caller, remember: { token?: string | undefined; fresh?: boolean } = {}): Promise<SignInResult> {
  const user = await s.users.findByEmail(email);
  const { previousFailures } = await attemptPassword(s, user, email, password, caller, 'sign_in_failed');
  // checkPassword returns only for an existing user with the right password.
  const account = user!;
  if (account.disabled) {
    await s.audit.append({ type: 'sign_in_failed', userId: account.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'disabled' } });
    fail('invalid_credentials');
  }
  const now = s.clock.now();
  // An imported or outdated hash was re-hashed by attemptPassword, audited, in the attempt's transaction.
  if (previousFailures >= PASSWORD_FREE_FAILURES) {
    await notify(s, account, { kind: 'sign_in_after_failures', failures: previousFailures, at: now, ...originOf(caller) });
  }
  s.metrics.signIns.inc({ step: 'password', result: 'success' });

  // One list of the user's devices serves the factors' answer and the preferred method.
  const devices = await s.devices.listActive(account.id);
  const factors = await s.methods.factors.assigned(account.id, devices);
  // Only after a recovery's cooling-off does an emailed code stand in for the lost devices (src/flows/lost-devices.ts).
  const recovery = factors.length > 0 ? await readyRecovery(s, account) : undefined;
  if (factors.length > 0 && !recovery) {
    // A remembered browser stands in for the second factor (src/flows/remembered-browsers.ts);
    // a recovery under way does not get here, as the user said the devices are gone.
    const presented = isRememberToken(remember.token) ? remember.token : undefined;
    if (presented !== undefined && !remember.fresh) {
      const made = await signInRemembered(s, account, presented, caller);
      if (made) return opened(made.session);
    }
    const { token } = await s.signIns.start({ userId: account.id, step: 'mfa', amr: ['pwd'], now, ttlMs: SIGN_IN_TTL_MS, ...caller }, { waitForDisk: false });
    const days = rememberDaysFor(s, account);
    // A cookie another user's grant lives in stays: the browser may be shared.
    const forget = presented !== undefined && !(await rememberCookieLive(s, presented));
    const preferred = lastUsedMethod(s, devices, factors);
    return {
      status: 'mfa_required',
      methods: factors,
      signInToken: token,
      ...(preferred === undefined ? {} : { preferred }),
      ...(days === undefined ? {} : { rememberBrowserDays: days }),
      ...(forget ? { forgetRememberCookie: true as const } : {}),
    };
  }
  if (s.config.emailCode === 'off' && !recovery) return opened((await openSession(s, account, { aal: 1, amr: ['pwd'], mfaVerified: false }, caller))!);

  await takeEmailCodeSend(s, account, caller);
  // The sign-in, its code and the audit event commit together; the mail goes once they have.
  const { token, transaction, code } = await s.store.db.transaction().execute(async (trx) => {
    const started = await s.signIns.within(trx).start({ userId: account.id, step: 'email_code', amr: ['pwd'], now, ttlMs: SIGN_IN_TTL_MS, ...caller });
    if (recovery) await attachRecoveryIn(s, trx, recovery, started.transaction.id);
    return { token: started.token, transaction: started.transaction, code: await issueEmailCode(s, trx, account, started.transaction, caller, { recoveryId: recovery?.id }) };
  });
  const expiresAt = codeDeadline(transaction, now);
  await mailEmailCode(s, account, code, expiresAt - now);
  return { status: 'email_code_sent', signInToken: token, expiresAt, ...(recovery ? { recovery: true as const, methods: factors } : {}) };
}

/**
 * Another code for the sign-in waiting for one (the first mail was lost or late), in the same
 * sign-in: the earlier code is void, the mail counts against the same hourly budget as any other
 * sign-in code, and the sign-in keeps its deadline (a resend does not stretch it).
 */
export async function resendEmailCode(s: SignInPorts, signInToken: string | undefined, caller: Caller): Promise<SignInResult> {
  const { transaction, user } = await openSignIn(s, signInToken, 'email_code');
  const now = s.clock.now();
  const recovery = await recoveryForSignIn(s, transaction.id);
  if (!recovery && (await s.methods.factors.assigned(user.id)).length > 0) {
    await s.signIns.expire(transaction.id, now);
    fail('invalid_code', 'This account now has an MFA device; sign in again');
  }
  await takeEmailCodeSend(s, user, caller);
  const code = await s.store.db.transaction().execute((trx) => issueEmailCode(s, trx, user, transaction, caller, { recoveryId: recovery?.id, resent: true }));
  const expiresAt = codeDeadline(transaction, now);
  await mailEmailCode(s, user, code, expiresAt - now);
  return { status: 'email_code_sent', signInToken: signInToken!, expiresAt, ...(recovery ? { recovery: true as const } : {}) };
}

/** A code is good for its own lifetime, but no longer than the sign-in that waits for it. */
const codeDeadline = (transaction: SignInTransaction, now: number): number => Math.min(now + EMAIL_CODE_TTL_MS, transaction.expires_at);

/** One place of the hourly budget of mailed codes (a code sent and never used keeps it; using one gives it back). */
async function takeEmailCodeSend(s: SignInPorts, user: User, caller: Caller): Promise<void> {
  const refusal = await s.regulator.take(s.regulator.emailCodeSends(user.id));
  if (!refusal) return;
  await s.audit.append({ type: 'email_code_refused', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'hourly_cap' } });
  throw retryLater(refusal, 'Too many sign-in codes were sent this hour');
}

/** A fresh code for the sign-in (the user's earlier ones void) and its audit event, in the caller's transaction. */
async function issueEmailCode(
  s: SignInPorts,
  trx: Transaction<Database>,
  user: User,
  transaction: SignInTransaction,
  caller: Caller,
  extra: { recoveryId?: string | undefined; resent?: true },
): Promise<string> {
  const code = await s.methods.signInCode.issue(trx, user, transaction.id, s.clock.now());
  const detail = { transaction: transaction.id, ...(extra.recoveryId ? { recoveryId: extra.recoveryId } : {}), ...(extra.resent ? { resent: true } : {}) };
  await s.audit.append({ type: 'email_code_sent', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail }, trx);
  return code;
}

/** `validMs`: what the code has left (codeDeadline), which the mail states. */
async function mailEmailCode(s: SignInPorts, user: User, code: string, validMs: number): Promise<void> {
  try {
    await s.methods.signInCode.mail(user, code, validMs);
  } catch (err) {
    // A mail outage is the service's fault, and says nothing about the password: 503, not 500.
    s.log.error({ err: { code: (err as { code?: string }).code }, userId: user.id }, 'sign-in code not delivered');
    fail('service_unavailable', 'The sign-in code could not be sent; try again in a moment');
  }
}

/** The second factor of the user's most recently used device, if it is one the sign-in offers. */
function lastUsedMethod(s: SignInPorts, devices: readonly MfaDevice[], methods: readonly string[]): string | undefined {
  let last: { at: number; method: string } | undefined;
  for (const d of devices) {
    const method = s.methods.factors.ofDeviceType(d.type)?.id;
    const at = d.last_used_at ?? d.activated_at ?? d.created_at;
    if (method && methods.includes(method) && (!last || at > last.at)) last = { at, method };
  }
  return last?.method;
}

export async function signInWithEmailCode(s: SignInPorts, signInToken: string | undefined, code: string, caller: Caller): Promise<SignInResult> {
  const { transaction, user } = await openSignIn(s, signInToken, 'email_code');
  const now = s.clock.now();
  // A recovery sign-in (begun after the cooling-off) completes the recovery with this code.
  const recovery = await recoveryForSignIn(s, transaction.id);
  // The sign-in began before the user assigned an MFA device: the emailed code no longer suffices.
  if (!recovery && (await s.methods.factors.assigned(user.id)).length > 0) {
    await s.signIns.expire(transaction.id, now);
    fail('invalid_code', 'This account now has an MFA device; sign in again');
  }
  const attempt = await s.regulator.reserve([...s.regulator.address(caller.ip), s.regulator.emailCodeWrong(user.id)]);
  if (isRefusal(attempt)) {
    s.metrics.signIns.inc({ step: 'email_code', result: 'throttled' });
    if (attempt.budget.name === 'address') return refuseAddress(s, attempt, caller);
    await s.audit.append({ type: 'sign_in_refused', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'email_code_hourly_cap' } });
    throw retryLater(attempt, 'Too many wrong codes this hour');
  }
  const check = await s.methods.signInCode.check(transaction.id, code, now);
  if (check.result === 'ok') {
    const setupRequired = await mfaSetupRequired(s, user.id, 1);
    let deactivated: number | undefined;
    const made = await s.store.db.transaction().execute(async (trx) => {
      if (!(await s.methods.signInCode.consume(trx, check.codeId, now))) return undefined;
      // Budget rows before the session's audit event: the failure path takes them in this order too.
      await attempt.succeed(trx);
      await s.regulator.refund(s.regulator.emailCodeSends(user.id), trx);
      if (recovery) {
        // The devices going end every remembered browser too; the user's row first, as every
        // device removal takes it before the grants.
        await s.users.within(trx).lockRow(user.id);
        const forgotten = await revokeAllRememberedIn(s, trx, user.id, now);
        // The old devices go in this transaction, and the session may only assign a new one.
        const recovered = await completeRecoveryIn(s, trx, user, { id: transaction.id, amr: JSON.parse(transaction.amr) as string[] }, recovery, caller);
        if (!recovered) throw new CompletedMeanwhile();
        if (forgotten > 0) await s.audit.append({ type: 'remembered_browsers_ended', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'recovery_completed', recoveryId: recovery.id, ended: forgotten } }, trx);
        deactivated = recovered.devices;
        return recovered.session;
      }
      const session = await openSessionIn(s, trx, user, { aal: 1, amr: JSON.parse(transaction.amr) as string[], mfaVerified: false }, caller, { completing: transaction.id, setupRequired });
      if (!session) throw new CompletedMeanwhile();
      return session;
    }).catch((err: unknown) => {
      if (err instanceof CompletedMeanwhile) return undefined;
      throw err;
    });
    if (made) {
      s.metrics.signIns.inc({ step: 'complete', result: 'success' });
      if (deactivated !== undefined) await announceRecoveryCompleted(s, user, deactivated, caller);
      return opened(made);
    }
  }
  s.metrics.signIns.inc({ step: 'email_code', result: 'failure' });
  await s.store.db.transaction().execute(async (trx) => {
    await attempt.fail(trx);
    await s.audit.append({ type: 'sign_in_failed', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: check.result === 'wrong' ? 'wrong_email_code' : 'email_code_spent' } }, trx);
  });
  fail('invalid_code');
}

/** Rolls back a code consumed for a sign-in that a concurrent request completed first. */
class CompletedMeanwhile extends Error {}

/** The second step for a user with MFA: a code, a recovery code or a passkey. */
export async function signInWithSecondFactor(
  s: SignInPorts,
  signInToken: string | undefined,
  body: { method: string } & Record<string, unknown>,
  caller: Caller,
  /** `rememberBrowser`: the user ticked "Remember this browser" (honoured only where it is offered). */
  opts: { rememberBrowser?: boolean } = {},
): Promise<SignInResult> {
  const { transaction, user } = await openSignIn(s, signInToken, 'mfa');
  const rememberDays = opts.rememberBrowser ? rememberDaysFor(s, user) : undefined;
  let remembered: { token: string; expiresAt: number; days: number } | undefined;
  const made = await verifySecondFactor(s, user, body, caller, {
    purpose: 'sign_in',
    budgets: [s.regulator.signIn(transaction.id)],
    refused: () => fail('invalid_code', 'This sign-in has run out of tries; start again'),
    // Its fifth wrong answer ends the sign-in, in the transaction that counted it.
    onClosed: (trx) => s.signIns.within(trx).expire(transaction.id, s.clock.now()),
    onSuccess: async (trx, proof, events) => {
      const amr = [...new Set([...(JSON.parse(transaction.amr) as string[]), ...proof.amr, 'mfa'])];
      // The grant's row with the session's, its event among the step's (they all precede sign_in_succeeded).
      const granted = rememberDays === undefined ? undefined : await grantIn(s, trx, user, rememberDays, proof, caller);
      const session = await openSessionIn(s, trx, user, { aal: 2, amr, mfaVerified: true, phishingResistant: proof.phishingResistant === true }, caller, { completing: transaction.id, setupRequired: false, events: granted ? [...events, granted.event] : events });
      if (!session) fail('invalid_code', 'This sign-in is already complete; start again');
      if (granted) remembered = { token: granted.token, expiresAt: granted.grant.expires_at, days: granted.days };
      return session;
    },
  });
  s.metrics.signIns.inc({ step: 'complete', result: 'success' });
  // Whoever holds a device needs no recovery: an open one is void.
  await voidRecoveryOnSignIn(s, user, caller);
  return { ...opened(made), ...(opts.rememberBrowser ? { remembered: remembered ?? null } : {}) };
}

/** What a factor's browser ceremony needs before the second step (WebAuthn request options), limited to this user. */
export async function secondFactorChallenge(s: SignInPorts, signInToken: string | undefined, factorId: string) {
  const { user } = await openSignIn(s, signInToken, 'mfa');
  const challenge = s.methods.factors.get(factorId)?.challenge;
  if (!challenge) fail('not_found', 'This factor has no challenge');
  return challenge(user, 'sign_in');
}

/** The passwordless factor, if one is registered. */
function passwordless(s: SignInPorts) {
  return s.methods.factors.passwordless ?? fail('not_found', 'Passwordless sign-in is not offered');
}

/**
 * Options for passwordless sign-in. Anyone may ask, and each answer is a stored challenge until
 * it expires, so they are bounded per client address.
 */
export async function passwordlessOptions(s: SignInPorts, caller: Caller) {
  const factor = passwordless(s);
  for (const budget of s.regulator.passkeyChallenges(caller.ip)) {
    const refusal = await s.regulator.take(budget);
    if (refusal) return refuseAddress(s, refusal, caller);
  }
  return factor.options();
}

/** Passwordless: a discoverable credential that verified its user stands in for password and second factor. */
export async function signInPasswordless(s: SignInPorts, body: Record<string, unknown>, caller: Caller): Promise<SignInResult> {
  const factor = passwordless(s);
  const attempt = await s.regulator.reserve(s.regulator.address(caller.ip));
  if (isRefusal(attempt)) return refuseAddress(s, attempt, caller);
  let result;
  try {
    result = await factor.signIn(body);
  } catch (err) {
    await attempt.release();
    throw err;
  }
  if ('refused' in result) {
    s.metrics.signIns.inc({ step: 'passkey', result: 'failure' });
    await s.store.db.transaction().execute(async (trx) => {
      await attempt.fail(trx);
      await s.audit.append({ type: 'sign_in_failed', ip: caller.ip, userAgent: caller.userAgent, detail: { reason: `passkey_${result.refused}` } }, trx);
    });
    fail('invalid_credentials', 'The passkey was not accepted');
  }
  await attempt.succeed();
  const user = await s.users.findById(result.userId);
  if (!user || user.disabled) fail('invalid_credentials', 'The passkey was not accepted');
  const made = (await openSession(s, user, { aal: 2, amr: [...result.amr, 'mfa'], mfaVerified: true, phishingResistant: result.phishingResistant }, caller))!;
  // A passkey is a device the user still holds: an open recovery is void.
  await voidRecoveryOnSignIn(s, user, caller);
  return opened(made);
}
