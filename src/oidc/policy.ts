import { isAcr, rankOf, type Acr } from '../flows/levels.js';

/** Mamori's policy for a client, carried in its metadata (src/oidc/adapter.ts). */
export interface ClientPolicy {
  minAcr: Acr | undefined;
  thirdParty: boolean;
  allowedGroups: string[];
}

export function clientPolicy(metadata: Record<string, unknown>): ClientPolicy {
  const min = metadata.mamori_min_acr;
  const groups = metadata.mamori_allowed_groups;
  return {
    minAcr: isAcr(min) ? min : undefined,
    thirdParty: metadata.mamori_third_party === true,
    allowedGroups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
  };
}

/**
 * The level an authorization request needs: the lowest of the known values in `acr_values` (any
 * of them would do), and never below the client's minimum — a client cannot lower its own floor by
 * asking for less (the Keycloak `acr_values=1` bypass). Unknown values are ignored.
 */
export function requiredAcr(acrValues: unknown, minAcr: Acr | undefined): Acr {
  const asked = typeof acrValues === 'string' ? acrValues.split(' ').filter(isAcr) : [];
  const lowestAsked = asked.sort((a, b) => rankOf(a) - rankOf(b))[0];
  const floor: Acr = minAcr ?? 'urn:mamori:aal1';
  if (lowestAsked === undefined) return floor;
  return rankOf(lowestAsked) >= rankOf(floor) ? lowestAsked : floor;
}

/** What the interaction does for a login prompt. */
export type LoginDecision =
  | { kind: 'finish' }
  | { kind: 'sign_in'; fresh: boolean }
  | { kind: 'step_up'; acr: Acr }
  | { kind: 'refuse'; error: 'unmet_authentication_requirements' | 'access_denied'; description: string };

export interface LoginSituation {
  /** The Mamori session's level and sign-in time, or undefined when nobody is signed in. */
  signedIn: { acr: Acr; signedInAt: number; mfaVerifiedAt: number | null; groups: string[] } | undefined;
  needed: Acr;
  /** What the user could reach with the devices they hold: 1, 2 or 3 (a passkey or security key). */
  reachable: 1 | 2 | 3;
  allowedGroups: string[];
  /** `prompt=login`: only a sign-in made after the request began counts. */
  promptLogin: boolean;
  /** `max_age` in seconds, when given. */
  maxAge: number | undefined;
  startedAt: number;
  now: number;
}

/**
 * Decides a login interaction: straight back when the Mamori session already satisfies the
 * request, otherwise sign in (again) or step up in the console, or refuse when the request cannot
 * be met by this user at all.
 */
export function decideLogin(x: LoginSituation): LoginDecision {
  const { signedIn } = x;
  if (!signedIn) return { kind: 'sign_in', fresh: false };
  const freshEnough = x.promptLogin
    ? signedIn.signedInAt >= x.startedAt
    : x.maxAge === undefined || x.now - signedIn.signedInAt <= x.maxAge * 1000 || signedIn.signedInAt >= x.startedAt;
  if (!freshEnough) return { kind: 'sign_in', fresh: true };
  // A fresh sign-in asked at aal 2 needs a fresh second factor too: a remembered browser (aal 2
  // without one, `mfaVerifiedAt` null) or an old step-up does not count. Signing in again asks it.
  if ((x.promptLogin || x.maxAge !== undefined) && rankOf(x.needed) >= 2) {
    const at = signedIn.mfaVerifiedAt;
    const freshFactor = at !== null && (at >= x.startedAt || (!x.promptLogin && x.maxAge !== undefined && x.now - at <= x.maxAge * 1000));
    if (!freshFactor) return { kind: 'sign_in', fresh: true };
  }
  if (x.allowedGroups.length > 0 && !x.allowedGroups.some((g) => signedIn.groups.includes(g))) {
    return { kind: 'refuse', error: 'access_denied', description: 'This account may not use this application' };
  }
  if (rankOf(signedIn.acr) >= rankOf(x.needed)) return { kind: 'finish' };
  if (x.reachable < rankOf(x.needed)) {
    return {
      kind: 'refuse',
      error: 'unmet_authentication_requirements',
      description: x.needed === 'urn:mamori:phr' ? 'This application needs a passkey or security key, and the account has none' : 'This application needs an MFA device, and the account has none',
    };
  }
  return { kind: 'step_up', acr: x.needed };
}
