/**
 * "Remember this browser" (issue 10, item 5; MAMORI_REMEMBER_BROWSER_DAYS, off by default, at
 * most 30). After a second factor at sign-in the user may tick it: the answer sets a random
 * `mamori_remember` cookie (256 bits, only its SHA-256 stored, one grant row per tick), and for
 * the period the password step in that browser, for that user, stands in for the second factor.
 *
 * What such a session is, and is not (NIST SP 800-63B lets a verifier remember a device for
 * reauthentication; this is the conservative reading of it):
 * - aal 2, amr `["pwd", "mfa", "remembered"]`, acr `urn:mamori:aal2`: forward-auth `two_factor`
 *   rules and OpenID Connect clients asking for aal 2 accept it, and `remembered` tells those who
 *   look that no factor was presented this time;
 * - never phishing-resistant (`urn:mamori:phr` still needs a passkey or security key, now);
 * - `mfa_verified_at` stays null: it is not a fresh second factor, so removing a device, new
 *   recovery codes and a new password still ask for a step-up;
 * - administrators are always asked: administration takes any aal-2 session (src/http/auth.ts
 *   requireAdmin), so a remembered one must not be one of theirs;
 * - a sign-in that must be fresh (OpenID Connect `prompt=login` / `max_age`, the console's
 *   `reauth=1`) says `fresh: true` and gets the second factor asked again.
 *
 * Every grant of a user ends, in the transaction of the change and before its audit event, when
 * a device is removed (by the user, an administrator, or a completed lost-device recovery), when
 * the password changes (the user's own change, also a forced one) or an administrator forces a
 * change, and when an administrator resets MFA. The user lists and revokes grants
 * (GET/DELETE /api/v1/me/remembered-browsers).
 */
import type { Transaction } from 'kysely';
import { newToken } from '../crypto/tokens.js';
import { fail } from '../errors.js';
import type { Caller, VerifiedFactor } from '../methods/types.js';
import type { Services } from '../services.js';
import type { AuditEntry } from '../store/audit.js';
import type { Database, RememberedBrowser, User } from '../store/schema.js';
import { openSessionIn, type OpenedSession, type SessionPorts } from './open-session.js';

/** What these use of the composition root, and nothing more. */
export type RememberPorts = Pick<Services, 'audit' | 'clock' | 'config' | 'metrics' | 'rememberedBrowsers' | 'store' | 'users'> & SessionPorts;

/** The `amr` value that marks a session whose second factor a remembered browser stood in for. */
export const REMEMBERED_AMR = 'remembered';
/** The configuration's ceiling (src/config.ts refuses more at start). */
export const MAX_REMEMBER_DAYS = 30;
const DAY_MS = 24 * 3_600_000;

/** What newToken makes (32 random bytes, base64url); any other cookie value is no grant. */
const REMEMBER_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The days this user may be offered, or undefined when the service does not offer it to them. */
export function rememberDaysFor(s: Pick<Services, 'config'>, user: Pick<User, 'role'>): number | undefined {
  const days = s.config.rememberBrowserDays;
  if (days <= 0) return undefined;
  return user.role === 'admin' ? undefined : Math.min(days, MAX_REMEMBER_DAYS);
}

/** A cookie value that could be a grant's token. */
export function isRememberToken(value: string | undefined): value is string {
  return value !== undefined && REMEMBER_TOKEN.test(value);
}

/**
 * At the MFA step, inside its transaction (before any audit event): stores a grant for the proof
 * just consumed and returns the cookie's token with the event to append among the step's own.
 */
export async function grantIn(
  s: RememberPorts,
  trx: Transaction<Database>,
  user: User,
  days: number,
  proof: VerifiedFactor,
  caller: Caller,
): Promise<{ token: string; grant: RememberedBrowser; days: number; event: AuditEntry }> {
  const token = newToken();
  const now = s.clock.now();
  const grant = await s.rememberedBrowsers.within(trx).grant({
    userId: user.id,
    token,
    now,
    expiresAt: now + days * DAY_MS,
    ip: caller.ip,
    userAgent: caller.userAgent,
    deviceId: proof.deviceId ?? null,
    amr: proof.amr,
  });
  const event: AuditEntry = {
    type: 'remembered_browser_granted',
    userId: user.id,
    ip: caller.ip,
    userAgent: caller.userAgent,
    detail: { rememberedBrowser: grant.id, days, deviceId: proof.deviceId ?? null, deviceName: proof.deviceName ?? null, expiresAt: new Date(grant.expires_at).toISOString() },
  };
  return { token, grant, days, event };
}

/**
 * The password step of a user with MFA whose browser presents a grant: a session without the
 * second factor, or undefined when the cookie holds no live grant of this user (then the second
 * factor is asked as always). The user's row is locked first, so a concurrent device removal or
 * password change either ended the grant before it is used or ends this session with the others.
 */
export async function signInRemembered(s: RememberPorts, user: User, token: string, caller: Caller): Promise<{ session: OpenedSession; grant: RememberedBrowser } | undefined> {
  if (rememberDaysFor(s, user) === undefined) return undefined;
  const made = await s.store.db.transaction().execute(async (trx) => {
    const now = s.clock.now();
    await s.users.within(trx).lockRow(user.id);
    const grant = await s.rememberedBrowsers.within(trx).use(user.id, token, now);
    if (!grant) return undefined;
    const level = { aal: 2, amr: ['pwd', 'mfa', REMEMBERED_AMR], mfaVerified: false, phishingResistant: false };
    const session = await openSessionIn(s, trx, user, level, caller, { setupRequired: false });
    if (!session) return undefined;
    // After sign_in_succeeded (the same transaction): which grant stood in for the second factor.
    await s.audit.append({ type: 'remembered_browser_used', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { rememberedBrowser: grant.id, sessionId: session.session.id } }, trx);
    return { session, grant };
  });
  if (made) s.metrics.signIns.inc({ step: 'remembered_browser', result: 'success' });
  return made;
}

/** Whether a cookie still holds any live grant (a dead one is cleared from the browser). */
export async function rememberCookieLive(s: Pick<Services, 'clock' | 'rememberedBrowsers'>, token: string): Promise<boolean> {
  return s.rememberedBrowsers.isLive(token, s.clock.now());
}

/**
 * Ends every grant of the user, inside the transaction of the change that ends them (a device
 * removed, a password changed, MFA reset); the caller records the count in its audit event.
 */
export async function revokeAllRememberedIn(s: Pick<Services, 'rememberedBrowsers'>, trx: Transaction<Database>, userId: string, now: number): Promise<number> {
  return s.rememberedBrowsers.within(trx).revokeAll(userId, now);
}

export interface RememberedBrowserView {
  id: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  ip: string | null;
  userAgent: string | null;
  /** The device whose second factor made the grant (null: a recovery code, or the device has gone). */
  device: { id: string; name: string } | null;
  amr: string[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function listRemembered(s: Pick<Services, 'clock' | 'rememberedBrowsers'>, user: User): Promise<RememberedBrowserView[]> {
  return (await s.rememberedBrowsers.listLive(user.id, s.clock.now())).map((g) => ({
    id: g.id,
    createdAt: iso(g.created_at),
    expiresAt: iso(g.expires_at),
    lastUsedAt: g.last_used_at === null ? null : iso(g.last_used_at),
    ip: g.ip,
    userAgent: g.user_agent,
    device: g.device_id !== null && g.device_name !== null ? { id: g.device_id, name: g.device_name } : null,
    amr: JSON.parse(g.amr) as string[],
  }));
}

/**
 * The user ends one grant (or, without `id`, all of theirs), with its audit event. Ending access
 * needs no step-up: it only takes away.
 */
export async function revokeRemembered(s: Pick<Services, 'audit' | 'clock' | 'rememberedBrowsers' | 'store'>, user: User, id: string | undefined, caller: Caller): Promise<number> {
  const now = s.clock.now();
  return s.store.db.transaction().execute(async (trx) => {
    const grants = s.rememberedBrowsers.within(trx);
    let ended: number;
    if (id === undefined) ended = await grants.revokeAll(user.id, now);
    else if (await grants.revoke(user.id, id, now)) ended = 1;
    else fail('not_found', 'No remembered browser with this id');
    await s.audit.append({ type: 'remembered_browser_revoked', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { rememberedBrowser: id ?? null, ended } }, trx);
    return ended;
  });
}
