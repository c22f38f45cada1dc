import type { Transaction } from 'kysely';
import { fail } from '../errors.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import type { Database, Session, User } from '../store/schema.js';

/** What these use of the composition root, and nothing more. */
export type SessionEndPorts = Pick<Services, 'audit' | 'clock' | 'sessions' | 'store'>;

/**
 * Every session of the user ends (but `keepSessionId`), and with them everything the OpenID
 * Connect provider issued for the user: its sessions, grants, codes and tokens. So no application
 * keeps a refresh token, nor a token claiming the old level, past a password change, a device
 * removed or assigned, a disabled account, an MFA reset or a lost-device recovery. The applications
 * of the kept session sign in again through it, without a screen. Runs inside the transaction of the
 * change; returns how many Mamori sessions ended, for its audit event.
 */
export async function endSessionsIn(
  s: Pick<Services, 'oidcPayloads' | 'sessions'>,
  trx: Transaction<Database>,
  userId: string,
  now: number,
  keepSessionId?: string,
): Promise<number> {
  const ended = await s.sessions.within(trx).revokeAll(userId, now, keepSessionId);
  await s.oidcPayloads.within(trx).revokeAccount(userId);
  return ended;
}


/**
 * The session a cookie carries, when it may act for its user elsewhere (forward-auth, the OpenID
 * Connect provider): live, its user enabled, and not restricted to assigning a device or setting a
 * new password. Anything else counts as not signed in there.
 */
export async function usableSession(s: Pick<Services, 'clock' | 'sessions'>, token: string | undefined): Promise<{ session: Session; user: User } | undefined> {
  if (!token || token.length > 256) return undefined;
  const found = await s.sessions.findLiveWithUser(token, s.clock.now());
  if (!found || found.user.disabled || found.session.mfa_setup_only || found.session.password_change_only) return undefined;
  return found;
}

/** Sign-out: the session ends server-side, with its audit event. No session, nothing to do. */
export async function signOut(s: SessionEndPorts, token: string | undefined, caller: Caller): Promise<void> {
  const now = s.clock.now();
  const session = token ? await s.sessions.findLive(token, now) : undefined;
  if (!session) return;
  await s.store.db.transaction().execute(async (trx) => {
    if (!(await s.sessions.within(trx).revoke(session.user_id, session.id, now))) return;
    await s.audit.append({ type: 'signed_out', userId: session.user_id, ip: caller.ip, userAgent: caller.userAgent, detail: { sessionId: session.id } }, trx);
  });
}

/** A user ends one of their own sessions (another browser, say). */
export async function revokeOwnSession(s: SessionEndPorts, userId: string, sessionId: string, caller: Caller): Promise<void> {
  await s.store.db.transaction().execute(async (trx) => {
    if (!(await s.sessions.within(trx).revoke(userId, sessionId, s.clock.now()))) fail('not_found', 'No such session');
    await s.audit.append({ type: 'session_revoked', userId, ip: caller.ip, userAgent: caller.userAgent, detail: { sessionId } }, trx);
  });
}
