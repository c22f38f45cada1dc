import { fail } from '../errors.js';
import { hmacHex } from '../crypto/tokens.js';
import { importedFormat } from '../methods/password/legacy.js';
import type { Caller } from '../methods/types.js';
import { isRefusal, type Attempt, type PasswordSubject } from '../regulation/index.js';
import { PASSWORD_FREE_FAILURES } from '../regulation/rules.js';
import type { Services } from '../services.js';
import type { User } from '../store/schema.js';
import { notify, originOf } from './notify.js';
import { refuseAddress, retryLater } from './refusals.js';

/** Unknown emails keep a budget of their own under an HMAC of the address, never the address itself. */
export function unknownEmailKey(s: Pick<Services, 'box'>, email: string): string {
  return hmacHex(s.box.deriveKey('ghost-account'), email.trim().toLowerCase());
}

/**
 * The right password against an imported hash (bcrypt, scrypt, PBKDF2…) or argon2id with older
 * parameters: the account moves to today's argon2id, in the transaction that settles the attempt,
 * so the success and the new hash commit together with their audit event. The new hash is
 * computed before the transaction opens (no lock is held through argon2id), and written only
 * over the hash that was checked: of two sign-ins racing here, one re-hashes and is audited.
 */
async function rehash(
  s: Pick<Services, 'audit' | 'hasher' | 'store' | 'users'>,
  user: User,
  password: string,
  attempt: Attempt,
  caller: Caller,
): Promise<void> {
  const old = user.password_hash!;
  const fresh = await s.hasher.hash(password);
  const replaced = await s.store.db.transaction().execute(async (trx) => {
    await attempt.succeed(trx);
    if (!(await s.users.within(trx).replacePasswordHash(user.id, old, fresh))) return false;
    await s.audit.append({ type: 'password_rehashed', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { from: importedFormat(old) ?? 'argon2id', to: 'argon2id' } }, trx);
    return true;
  });
  // The caller's copy of the row follows it, so nothing further along re-hashes the same password.
  if (replaced) user.password_hash = fresh;
}

const lockedDetail = 'Too many failed sign-ins; an administrator must unlock the account';

/**
 * One password attempt, wherever it is typed (sign-in, a password change): reserved on the
 * client address's and the account's budgets before argon2id runs, then settled. An unknown
 * email goes through exactly the same budget rule, statements and hash work as an account, so
 * status, body, headers and timing cannot tell them apart. Returns the account's consecutive
 * failures before this success; throws on a refusal or a wrong password.
 */
export async function attemptPassword(
  s: Pick<Services, 'box' | 'regulator' | 'metrics' | 'audit' | 'hasher' | 'store' | 'clock' | 'users'> & Parameters<typeof notify>[0],
  user: User | undefined,
  email: string,
  password: string,
  caller: Caller,
  eventType: 'sign_in_failed' | 'password_change_failed',
): Promise<{ previousFailures: number }> {
  const subject: PasswordSubject = user ? { userId: user.id } : { unknownEmailKey: unknownEmailKey(s, email) };
  const attempt = await s.regulator.reserve([...s.regulator.address(caller.ip), s.regulator.password(subject)]);
  if (isRefusal(attempt)) {
    s.metrics.signIns.inc({ step: 'password', result: 'throttled' });
    if (attempt.budget.name === 'address') return refuseAddress(s, attempt, caller);
    await s.audit.append({ type: 'sign_in_refused', userId: user?.id ?? null, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: attempt.decision.reason === 'locked' ? 'account_locked' : 'too_many_attempts' } });
    if (attempt.decision.reason === 'locked') fail('account_locked', lockedDetail);
    throw retryLater(attempt);
  }
  const ok = await s.hasher.verify(user?.password_hash ?? null, password);
  if (user && ok) {
    // A password change replaces the hash a moment later anyway; only a sign-in re-hashes.
    if (eventType === 'sign_in_failed' && s.hasher.needsRehash(user.password_hash!)) await rehash(s, user, password, attempt, caller);
    else await attempt.succeed();
    return { previousFailures: attempt.failuresBefore('password') };
  }

  s.metrics.signIns.inc({ step: 'password', result: 'failure' });
  const failed = await s.store.db.transaction().execute(async (trx) => {
    const counted = await attempt.fail(trx);
    const account = counted.find((f) => f.budget.name === 'password')!;
    const base = { userId: user?.id ?? null, ip: caller.ip, userAgent: caller.userAgent };
    await s.audit.append({ ...base, type: eventType, detail: user ? { reason: 'wrong_password', consecutiveFailures: account.failures } : { reason: 'unknown_user', email: email.slice(0, 254) } }, trx);
    if (account.failures === PASSWORD_FREE_FAILURES) await s.audit.append({ ...base, type: 'sign_in_throttled', detail: { consecutiveFailures: account.failures } }, trx);
    if (account.lockedNow) await s.audit.append({ ...base, type: 'account_locked', detail: { reason: 'password', consecutiveFailures: account.failures } }, trx);
    return account;
  });
  // Counted for unknown emails exactly as for accounts: the metrics tell nothing about which exist.
  if (failed.failures === PASSWORD_FREE_FAILURES) s.metrics.lockouts.inc({ kind: 'password_backoff' });
  if (failed.lockedNow) {
    s.metrics.lockouts.inc({ kind: 'password_lock' });
    if (user) await notify(s, user, { kind: 'account_locked', reason: 'password', at: s.clock.now(), hard: true, ...originOf(caller) });
  }
  fail('invalid_credentials', eventType === 'password_change_failed' ? 'The current password is not correct' : undefined);
}
