import { fail } from '../errors.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import type { Session, User } from '../store/schema.js';
import { verifySecondFactor } from './second-factor.js';
import { sessionView } from './session-view.js';

/** A second factor inside a session: a fresh `mfaVerifiedAt`, aal 2, and a new session token. */
export async function stepUp(s: Services, user: User, session: Session, body: { method: string } & Record<string, unknown>, caller: Caller) {
  const verified = await verifySecondFactor(s, user, body, caller, 'step_up');
  const now = s.clock.now();
  const amr = [...new Set([...(JSON.parse(session.amr) as string[]), ...verified.amr, 'mfa'])];
  const token = await s.sessions.raise(session.id, { aal: 2, amr, mfaVerifiedAt: now, mfaSetupOnly: false }, now);
  if (!token) fail('unauthenticated');
  const raised = (await s.store.db.selectFrom('sessions').selectAll().where('id', '=', session.id).executeTakeFirstOrThrow());
  return { token, view: sessionView(raised, user, s.config.sessionIdleMinutes * 60_000) };
}
