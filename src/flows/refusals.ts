import { MamoriError, TooManyAttemptsError } from '../errors.js';
import type { Caller } from '../methods/types.js';
import type { Refusal } from '../regulation/index.js';
import { retryAfterSeconds } from '../regulation/rules.js';
import type { Services } from '../services.js';

/**
 * A refused reservation of a client address's budget: one audit event per address and window
 * (not one per request, so a flood cannot flood the log), a metric, and the 429.
 */
export async function refuseAddress(s: Pick<Services, 'metrics' | 'regulator' | 'audit'>, refusal: Refusal, caller: Caller): Promise<never> {
  s.metrics.lockouts.inc({ kind: 'ip' });
  const rule = refusal.budget.rule;
  if (rule.kind === 'window' && (await s.regulator.firstRefusal(refusal.budget))) {
    await s.audit.append({
      type: 'address_throttled',
      ip: caller.ip,
      userAgent: caller.userAgent,
      detail: { budget: refusal.budget.name, limit: rule.limit, windowMinutes: rule.windowMs / 60_000 },
    });
  }
  throw retryLater(refusal, 'Too many failed attempts from this address; try again later');
}

/** The 429 for a refusal that a wait will lift. */
export function retryLater(refusal: Refusal, detail?: string): MamoriError {
  const d = refusal.decision;
  return new TooManyAttemptsError(retryAfterSeconds(d.reason === 'locked' ? 3_600_000 : d.retryAfterMs), detail);
}
