import { rmSync } from 'node:fs';
import type { Transaction } from 'kysely';
import { fail } from '../errors.js';
import { checkPassword, weakReasonText } from '../methods/password/policy.js';
import type { Caller } from '../methods/types.js';
import { setupTokenFile, type Services } from '../services.js';
import type { Database, Session, User } from '../store/schema.js';
import { safeEqual } from '../crypto/tokens.js';
import { notify } from './notify.js';
import { mfaSetupRequired } from './open-session.js';
import { attemptPassword } from './password-attempt.js';
import { revokeAllRememberedIn } from './remembered-browsers.js';
import { endSessionsIn } from './sessions.js';

export type Locale = 'en' | 'ja';

/** The first language of Accept-Language that the console speaks. */
export function localeFrom(acceptLanguage: string | undefined): Locale {
  for (const part of (acceptLanguage ?? '').split(',')) {
    const tag = part.split(';')[0]?.trim().toLowerCase() ?? '';
    if (tag.startsWith('ja')) return 'ja';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}

export function assertStrongPassword(password: string, email: string): void {
  const reason = checkPassword(password, email);
  if (reason) fail('password_too_weak', weakReasonText[reason], { reason });
}

export interface NewUserInput {
  email: string;
  password?: string | undefined;
  name?: string | undefined;
  role?: 'admin' | 'user' | undefined;
  locale?: Locale | undefined;
}

/** A user and its audit event, written in one transaction. */
type UserWriting = Pick<Services, 'store' | 'users' | 'audit' | 'clock'>;

export async function createUser(s: UserWriting & Pick<Services, 'hasher'>, input: NewUserInput, actor: { caller: Caller; actor: string }, opts: { onlyIfFirst?: boolean } = {}): Promise<User> {
  if (input.password !== undefined) assertStrongPassword(input.password, input.email);
  const fields = {
    email: input.email,
    name: input.name?.trim() || input.email.split('@')[0]!,
    role: input.role ?? 'user',
    locale: input.locale ?? 'en',
    passwordHash: input.password === undefined ? null : await s.hasher.hash(input.password),
    now: s.clock.now(),
  } as const;
  let user: User | null;
  try {
    // The user and its audit event commit together: a crash cannot leave one without the other.
    user = await s.store.db.transaction().execute(async (trx) => {
      const made = opts.onlyIfFirst ? await s.users.createFirst(trx, fields) : await s.users.within(trx).create(fields);
      if (made) {
        await s.audit.append(
          {
            type: 'user_created',
            userId: made.id,
            actor: actor.actor,
            ip: actor.caller.ip,
            userAgent: actor.caller.userAgent,
            detail: { email: made.email, role: made.role },
          },
          trx,
        );
      }
      return made;
    });
  } catch (err) {
    if (await s.users.findByEmail(input.email)) fail('email_taken');
    throw err;
  }
  if (!user) fail('setup_already_done');
  return user;
}

export const INVITATION_TTL_MS = 72 * 3_600_000;

/** A user created without a password gets a single-use link to choose one (valid 72 hours). */
export async function inviteUser(s: Pick<Services, 'invitations' | 'clock' | 'config' | 'audit'> & Parameters<typeof notify>[0], user: User, invitedBy: string): Promise<void> {
  const token = await s.invitations.create(user.id, s.clock.now(), INVITATION_TTL_MS);
  // The token rides in the fragment, which browsers never send to a server or put in a Referer.
  await notify(s, user, { kind: 'invitation', link: `${s.config.publicUrl}/console/#/invite/${token}`, expiresInHours: INVITATION_TTL_MS / 3_600_000, invitedBy });
  await s.audit.append({ type: 'invitation_sent', userId: user.id, actor: invitedBy });
}

export async function acceptInvitation(s: Pick<Services, 'clock' | 'invitations' | 'hasher' | 'users' | 'audit'>, token: string, password: string, caller: Caller): Promise<void> {
  const now = s.clock.now();
  // Check the password before spending the invitation, so a weak choice can be corrected.
  const email = await s.invitations.pendingEmail(token, now);
  if (email === undefined) fail('invalid_code', 'This invitation is not valid (it may be used or expired)');
  assertStrongPassword(password, email);
  const hash = await s.hasher.hash(password);
  const userId = await s.invitations.redeem(token, now);
  if (!userId) fail('invalid_code', 'This invitation is not valid (it may be used or expired)');
  await s.users.update(userId, { password_hash: hash, password_changed_at: now });
  await s.audit.append({ type: 'invitation_accepted', userId, ip: caller.ip, userAgent: caller.userAgent });
}

export async function setupNeeded(s: Pick<Services, 'users'>): Promise<boolean> {
  return !(await s.users.any());
}

/** POST /api/v1/setup: the first administrator, guarded by the one-time token from the data dir. */
export async function completeSetup(s: Parameters<typeof createUser>[0] & Pick<Services, 'config'>, input: NewUserInput & { setupToken: string }, expectedToken: string | undefined, caller: Caller): Promise<User> {
  if (!(await setupNeeded(s))) fail('setup_already_done');
  if (!expectedToken || !safeEqual(input.setupToken, expectedToken)) {
    await s.audit.append({ type: 'setup_refused', ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'invalid_setup_token' } });
    fail('invalid_setup_token');
  }
  const user = await createUser(s, { ...input, role: 'admin' }, { caller, actor: 'setup' }, { onlyIfFirst: true });
  rmSync(setupTokenFile(s.config.dataDir), { force: true });
  return user;
}

export async function changePassword(
  // What the password check and the MFA-setup check need, as they declare it, and the writes here.
  s: UserWriting &
    Pick<Services, 'hasher' | 'oidcPayloads' | 'rememberedBrowsers' | 'sessions' | 'signIns'> &
    Parameters<typeof attemptPassword>[0] &
    Parameters<typeof mfaSetupRequired>[0] &
    Parameters<typeof notify>[0],
  user: User,
  session: Session,
  currentPassword: string,
  newPassword: string,
  caller: Caller,
): Promise<void> {
  // A session in the wrong hands must not become an unthrottled password oracle: the current
  // password draws on the same budget as a sign-in.
  await attemptPassword(s, user, user.email, currentPassword, caller, 'password_change_failed');
  assertStrongPassword(newPassword, user.email);
  const hash = await s.hasher.hash(newPassword);
  const now = s.clock.now();
  // A change forced by an administrator was the session's only errand; MFA setup may be next.
  const setupRequired = session.password_change_only === 1 && (await mfaSetupRequired(s, user.id, session.aal));
  await s.store.db.transaction().execute(async (trx) => {
    await s.users.within(trx).update(user.id, { password_hash: hash, password_changed_at: now, force_password_change: 0 });
    const ended = await endSessionsIn(s, trx, user.id, now, session.id);
    // A half-finished sign-in got past the old password: it must not become a session now.
    const cancelled = await s.signIns.within(trx).cancelOpen(user.id, now);
    if (session.password_change_only === 1) await s.sessions.within(trx).restrict(session.id, { mfaSetupOnly: setupRequired, passwordChangeOnly: false });
    // A remembered browser skipped the second factor on the strength of the old password: none does now.
    const forgotten = await revokeAllRememberedIn(s, trx, user.id, now);
    await s.audit.append(
      { type: 'password_changed', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { otherSessionsEnded: ended, pendingSignInsEnded: cancelled, ...(forgotten > 0 ? { rememberedBrowsersEnded: forgotten } : {}) } },
      trx,
    );
  });
  await notify(s, user, {
    kind: 'password_changed',
    at: now,
    ...(caller.ip ? { ip: caller.ip } : {}),
    ...(caller.userAgent ? { userAgent: caller.userAgent } : {}),
  });
}

/** An administrator lifts every lock and back-off of the account, with its audit event, in one transaction. */
export async function unlockUser(s: Pick<Services, 'store' | 'regulator' | 'audit'>, user: User, actor: string, caller: Caller): Promise<void> {
  await s.store.db.transaction().execute(async (trx) => {
    await s.regulator.clear([s.regulator.password({ userId: user.id }), s.regulator.mfa(user.id)], trx);
    await s.audit.append({ type: 'account_unlocked', userId: user.id, actor, ip: caller.ip, userAgent: caller.userAgent }, trx);
  });
}

/** An administrator's change to a user; disabling ends the user's sessions in the same transaction. */
export async function updateUser(s: UserWriting & Pick<Services, 'oidcPayloads' | 'sessions' | 'signIns' | 'rememberedBrowsers'>, userId: string, changes: { name?: string; role?: 'admin' | 'user'; disabled?: boolean }, actor: string, caller: Caller): Promise<User> {
  const now = s.clock.now();
  return s.store.db.transaction().execute((trx) => updateUserWithin(s, trx, userId, changes, actor, caller, now));
}

/** The change itself, in the caller's transaction (updateUser's own, or an approval's under the two-person rule). */
export async function updateUserWithin(
  s: Pick<Services, 'users' | 'audit' | 'oidcPayloads' | 'sessions' | 'signIns' | 'rememberedBrowsers'>,
  trx: Transaction<Database>,
  userId: string,
  changes: { name?: string; role?: 'admin' | 'user'; disabled?: boolean },
  actor: string,
  caller: Caller,
  now: number,
): Promise<User> {
  const users = s.users.within(trx);
  if (!(await users.findById(userId))) fail('not_found', 'No such user');
  await users.update(userId, {
    ...(changes.name !== undefined ? { name: changes.name } : {}),
    ...(changes.role !== undefined ? { role: changes.role } : {}),
    ...(changes.disabled !== undefined ? { disabled: changes.disabled ? 1 : 0 } : {}),
  });
  const ended = changes.disabled ? await endSessionsIn(s, trx, userId, now) : 0;
  const cancelled = changes.disabled ? await s.signIns.within(trx).cancelOpen(userId, now) : 0;
  // A disabled account's remembered browsers end too: enabling it again must not revive them.
  const forgotten = changes.disabled ? await revokeAllRememberedIn(s, trx, userId, now) : 0;
  await s.audit.append(
    { type: 'user_updated', userId, actor, ip: caller.ip, userAgent: caller.userAgent, detail: { ...changes, sessionsEnded: ended, pendingSignInsEnded: cancelled, ...(forgotten > 0 ? { rememberedBrowsersEnded: forgotten } : {}) } },
    trx,
  );
  return (await users.findById(userId))!;
}

/** The user's own name and mail language, with its audit event. */
export async function updateProfile(s: Pick<Services, 'store' | 'users' | 'audit'>, user: User, changes: { name?: string; locale?: Locale }, caller: Caller): Promise<User> {
  return s.store.db.transaction().execute(async (trx) => {
    const users = s.users.within(trx);
    await users.update(user.id, { ...changes });
    await s.audit.append({ type: 'profile_updated', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { ...changes } }, trx);
    return (await users.findById(user.id))!;
  });
}

export interface ForcedPasswordChange {
  sessionsEnded: number;
  pendingSignInsEnded: number;
}

/**
 * SEC-05: the user must choose a new password at the next sign-in. Sessions and half-finished
 * sign-ins end too, or a session opened with the doubted password would outlive the decision.
 * Flag, revocations and audit event commit together: a crash leaves either all of it or none,
 * never a flagged user with live sessions nor an unrecorded change.
 */
export async function forcePasswordChange(s: UserWriting & Pick<Services, 'oidcPayloads' | 'rememberedBrowsers' | 'sessions' | 'signIns'>, userId: string, actor: string, caller: Caller): Promise<ForcedPasswordChange> {
  const now = s.clock.now();
  return s.store.db.transaction().execute(async (trx) => {
    const users = s.users.within(trx);
    if (!(await users.findById(userId))) fail('not_found', 'No such user');
    await users.update(userId, { force_password_change: 1 });
    const sessionsEnded = await endSessionsIn(s, trx, userId, now);
    const pendingSignInsEnded = await s.signIns.within(trx).cancelOpen(userId, now);
    // The password is in doubt: the next sign-in asks for the second factor again, in every browser.
    const forgotten = await revokeAllRememberedIn(s, trx, userId, now);
    await s.audit.append(
      { type: 'password_change_forced', userId, actor, ip: caller.ip, userAgent: caller.userAgent, detail: { sessionsEnded, pendingSignInsEnded, ...(forgotten > 0 ? { rememberedBrowsersEnded: forgotten } : {}) } },
      trx,
    );
    return { sessionsEnded, pendingSignInsEnded };
  });
}
