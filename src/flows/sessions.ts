import { fail } from '../errors.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import type { Session, User } from '../store/schema.js';

/** What these use of the composition root, and nothing more. */
export type SessionEndPorts = Pick<Services, 'audit' | 'clock' | 'sessions' | 'store'>;


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
