/**
 * Sign-in from a browser not seen before for that user (issue 10, item 4): each browser carries a
 * long-lived random cookie (`mamori_browser`), and each user's browsers are remembered by a hash
 * of it. A completed sign-in from a browser the user has not signed in from before is mailed to
 * the owner, except the first browser an account ever signs in from (a new account's first
 * sign-in is no news to its owner).
 */
import { newToken } from '../crypto/tokens.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import { notify, originOf } from './notify.js';

/** The cookie's lifetime, the most browsers allow (RFC 6265bis caps Max-Age at 400 days). */
export const BROWSER_COOKIE_DAYS = 400;
export const BROWSER_COOKIE_MS = BROWSER_COOKIE_DAYS * 24 * 3_600_000;
/** Browsers remembered per user, the most recently seen; an older one signing in again is news again. */
export const KNOWN_BROWSERS_PER_USER = 50;

/** A known browser's "last seen" is written again only when older than this (or its address or user agent changed). */
export const SEEN_FRESH_MS = 3_600_000;

/** What newToken makes (32 random bytes, base64url); anything else in the cookie is replaced. */
const BROWSER_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export type KnownBrowserPorts = Pick<Services, 'audit' | 'clock' | 'knownBrowsers' | 'log' | 'mailer' | 'store' | 'users'>;

/**
 * At a completed sign-in: remembers the browser for the user (touching it if known) and returns
 * the cookie value to set, a new one when the browser brought none. A browser new to a user who
 * has signed in from others before is mailed to them, after the row and its audit event commit.
 * Best effort: the sign-in has committed already, so a failure here is logged, never thrown.
 */
export async function recognizeBrowser(s: KnownBrowserPorts, userId: string, cookie: string | undefined, caller: Caller): Promise<string> {
  const token = cookie !== undefined && BROWSER_TOKEN.test(cookie) ? cookie : newToken();
  try {
    const now = s.clock.now();
    const seen = { ip: caller.ip, userAgent: caller.userAgent };
    if (token === cookie && (await s.knownBrowsers.touch(userId, token, now, seen, SEEN_FRESH_MS))) return token;
    const isNews = await s.store.db.transaction().execute(async (trx) => {
      const browsers = s.knownBrowsers.within(trx);
      const before = await browsers.countForUser(userId);
      // Of two racing sign-ins from one new browser, the one whose row went in tells the owner.
      if (!(await browsers.remember(userId, token, now, seen))) return false;
      const forgotten = await browsers.trim(userId, KNOWN_BROWSERS_PER_USER);
      await s.audit.append({ type: 'browser_remembered', userId, ip: caller.ip, userAgent: caller.userAgent, detail: { first: before === 0, forgotten } }, trx);
      return before > 0;
    });
    if (isNews) {
      const user = await s.users.findById(userId);
      if (user) await notify(s, user, { kind: 'new_browser_sign_in', at: now, ...originOf(caller) });
    }
  } catch (err) {
    s.log.error({ err: { code: (err as { code?: string }).code, message: err instanceof Error ? err.message : String(err) }, userId }, 'browser not remembered');
  }
  return token;
}
