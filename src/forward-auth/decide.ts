import { meets, rankOf, type Acr, type SessionLevel } from '../flows/levels.js';
import { requestMatches, subjectMatches, type Policy, type RuleTarget, type Rules } from './rules.js';

/** The signed-in user a check is about (restricted sessions never get here: they are not signed in for forward-auth). */
export interface Caller {
  userId: string;
  email: string;
  name: string;
  /** The user's groups with the role among them. */
  groups: string[];
  level: SessionLevel;
}

/** Which rule decided: its number, or the default policy. */
export type DecidedBy = number | 'default';

export type Decision =
  | { kind: 'allow'; by: DecidedBy; policy: Policy }
  /** Sign in, or reach `need` (`signedIn` says which: a step-up or a first sign-in). */
  | { kind: 'sign_in'; by: DecidedBy; need: Acr; signedIn: boolean }
  | { kind: 'deny'; by: DecidedBy };

const LEVEL: Record<Exclude<Policy, 'deny'>, Acr | undefined> = {
  bypass: undefined,
  one_factor: 'urn:mamori:aal1',
  two_factor: 'urn:mamori:aal2',
  phishing_resistant: 'urn:mamori:phr',
};

function higher(a: Acr | undefined, b: Acr | undefined): Acr | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return rankOf(a) >= rankOf(b) ? a : b;
}

/**
 * The one decision of forward-auth, whichever proxy asked and in whichever header style: the
 * first rule whose domain, path and method fit (and whose subject is the caller) decides; none
 * fits, the default policy does. `demanded` (the endpoint's `?aal=`) raises every allowing
 * policy, bypass included, to at least that level; it never lifts a deny.
 */
export function decide(rules: Rules, target: RuleTarget, caller: Caller | undefined, demanded?: Acr): Decision {
  let policy: Policy = rules.defaultPolicy;
  let by: DecidedBy = 'default';
  for (const rule of rules.rules) {
    if (!requestMatches(rule, target)) continue;
    if (rule.subjects !== undefined) {
      // Whether the rule is about this user can only be known once they are signed in.
      if (caller === undefined) return { kind: 'sign_in', by: rule.number, need: higher('urn:mamori:aal1', demanded)!, signedIn: false };
      if (!subjectMatches(rule, caller)) continue;
    }
    policy = rule.policy;
    by = rule.number;
    break;
  }
  if (policy === 'deny') return { kind: 'deny', by };
  const need = higher(LEVEL[policy], demanded);
  if (need === undefined) return { kind: 'allow', by, policy };
  if (caller !== undefined && meets(caller.level, need)) return { kind: 'allow', by, policy };
  return { kind: 'sign_in', by, need, signedIn: caller !== undefined };
}
