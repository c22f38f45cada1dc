import { fail } from '../errors.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import type { Session, User } from '../store/schema.js';
import { verifySecondFactor, type SecondFactorPorts } from './second-factor.js';
import { sessionView } from './session-view.js';

/** What these use of the composition root, and nothing more. */
export type StepUpPorts = Pick<Services, 'audit' | 'clock' | 'config' | 'sessions'> & SecondFactorPorts;


/** A second factor inside a session: a fresh `mfaVerifiedAt`, aal 2, and a new session token. */
export async function stepUp(s: StepUpPorts, user: User, session: Session, body: { method: string } & Record<string, unknown>, caller: Caller) {
  return verifySecondFactor(s, user, body, caller, {
    purpose: 'step_up',
    onSuccess: async (trx, proof, events) => {
      const now = s.clock.now();
      const amr = [...new Set([...(JSON.parse(session.amr) as string[]), ...proof.amr, 'mfa'])];
      const sessions = s.sessions.within(trx);
      const token = await sessions.raise(session.id, { aal: 2, amr, mfaVerifiedAt: now, mfaSetupOnly: false, phishingResistant: proof.phishingResistant === true }, now);
      if (!token) fail('unauthenticated');
      const raised = (await sessions.find(session.id))!;
      for (const event of events) await s.audit.append(event, trx);
      return { token, view: sessionView(raised, user, s.config.sessionIdleMinutes * 60_000) };
    },
  });
}
