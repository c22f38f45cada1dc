// Where a sign-in goes afterwards: back to an application that sent the browser here. Read once
// from the address at start. `?rd=` of the console's own origin (OpenID Connect's interaction
// pages) is followed as is; forward-auth's `rd` (any host) only when GET /api/v1/return-to
// approves it. Either may say which level it needs (`aal=2`, `aal=phr`): a step-up comes first
// when the session is below it.
import { call, client } from '../../api/client';
import type { Session } from '../../store';

export type Level = '2' | 'phr';

interface Returns {
  /** A same-origin address (OpenID Connect's interaction pages) to go back to. */
  returnTo: string | null;
  /** forward-auth's return address and the level it asked for. */
  forward: { rd: string; aal: Level | null } | null;
  /** The level the application asked for, whichever kind of return it is. */
  level: Level | null;
  /** An application asked for a new sign-in (OpenID Connect prompt=login or max_age): show the form even when signed in. */
  reauth: boolean;
}

export const returns: Returns = { returnTo: null, forward: null, level: null, reauth: false };

/** The query of the address or of its hash route (`#/sign-in?rd=…`). */
function routeParams(): URLSearchParams {
  const q = location.hash.indexOf('?');
  return new URLSearchParams(q >= 0 ? location.hash.slice(q + 1) : location.search);
}

export function readReturns(): void {
  const p = routeParams();
  const rd = p.get('rd');
  const aal = p.get('aal');
  returns.reauth = p.get('reauth') === '1';
  returns.level = aal === '2' || aal === 'phr' ? aal : null;
  returns.returnTo = null;
  returns.forward = null;
  if (!rd) return;
  try {
    const u = new URL(rd, location.origin);
    if (u.origin === location.origin && !u.pathname.startsWith('/api/')) returns.returnTo = u.href;
  } catch {
    // not an address
  }
  if (returns.returnTo === null) returns.forward = { rd, aal: returns.level };
}

// An application sent this tab back while the console was open (only the hash changed, so
// nothing started again): the new address counts. Read before the page is drawn again, as the
// router's own listener only queues that.
window.addEventListener('hashchange', () => {
  if (/^#\/sign-in\?/.test(location.hash)) readReturns();
});

/** Forgets every return (the user went elsewhere, or it was followed). */
export function clearReturns(): void {
  returns.returnTo = null;
  returns.forward = null;
  returns.level = null;
  returns.reauth = false;
}

export const hasReturn = (): boolean => returns.returnTo !== null || returns.forward !== null;

/** Whether a session is at the level an application asked for. */
export function meetsLevel(s: Session, aal: Level | null): boolean {
  if (aal === 'phr') return s.acr === 'urn:mamori:phr';
  return aal === '2' ? s.aal >= 2 : true;
}

/** A session that may leave the console (not held for MFA setup or a password change). */
export const canLeave = (s: Session | null): s is Session => s !== null && !s.mfaSetupRequired && !s.passwordChangeRequired;

/** The forward-auth address the server approves, or null (then the console stays). */
export async function approvedForwardReturn(rd: string): Promise<string | null> {
  try {
    return (await call(client.GET('/api/v1/return-to', { params: { query: { rd } } }))).url;
  } catch {
    return null;
  }
}
