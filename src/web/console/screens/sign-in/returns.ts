// Where a sign-in goes afterwards: back to an application that sent the browser here. Read once
// from the address at start. `?rd=` of the console's own origin is followed as is; forward-auth's
// `rd` (any host) only when GET /api/v1/return-to approves it, after a step-up when the level
// it asked for (`aal=2`, `aal=phr`) is missing.
import { call, client } from '../../api/client';
import type { Session } from '../../store';

interface Returns {
  /** A same-origin address (OpenID Connect's interaction pages) to go back to. */
  returnTo: string | null;
  /** forward-auth's return address and the level it asked for. */
  forward: { rd: string; aal: '2' | 'phr' | null } | null;
  /** An application asked for a new sign-in (OpenID Connect prompt=login or max_age): show the form even when signed in. */
  reauth: boolean;
}

export const returns: Returns = { returnTo: null, forward: null, reauth: false };

/** The query of the address or of its hash route (`#/sign-in?rd=…`). */
function routeParams(): URLSearchParams {
  const q = location.hash.indexOf('?');
  return new URLSearchParams(q >= 0 ? location.hash.slice(q + 1) : location.search);
}

export function readReturns(): void {
  const p = routeParams();
  const rd = p.get('rd');
  returns.reauth = p.get('reauth') === '1';
  returns.returnTo = null;
  returns.forward = null;
  if (!rd) return;
  try {
    const u = new URL(rd, location.origin);
    if (u.origin === location.origin && !u.pathname.startsWith('/api/')) returns.returnTo = u.href;
  } catch {
    // not an address
  }
  if (returns.returnTo === null) {
    const aal = p.get('aal');
    returns.forward = { rd, aal: aal === '2' || aal === 'phr' ? aal : null };
  }
}

/** Whether a session is at the level forward-auth asked for. */
export function meetsLevel(s: Session, aal: '2' | 'phr' | null): boolean {
  if (aal === 'phr') return s.acr === 'urn:mamori:phr';
  return aal === '2' ? s.aal >= 2 : true;
}

/** A session that may leave the console (not held for MFA setup or a password change). */
export const canLeave = (s: Session | null): s is Session => s !== null && !s.mfaSetupRequired && !s.passwordChangeRequired;

/** The same-origin return, used once. */
export function takeReturnTo(): string | null {
  const to = returns.returnTo;
  returns.returnTo = null;
  return to;
}

/** The forward-auth address the server approves, or null (then the console stays). */
export async function approvedForwardReturn(rd: string): Promise<string | null> {
  try {
    return (await call(client.GET('/api/v1/return-to', { params: { query: { rd } } }))).url;
  } catch {
    return null;
  }
}
