import { fail } from '../errors.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';

/** What these use of the composition root, and nothing more. */
export type SessionEndPorts = Pick<Services, 'audit' | 'clock' | 'sessions' | 'store'>;


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
