/**
 * Where the console may send a browser after sign-in (`rd`). Read with the WHATWG URL parser,
 * the one the browser will use, so what is checked is what is followed; the raw text is checked
 * first for what that parser silently repairs (tabs and newlines dropped, backslashes read as
 * slashes, `https:host` read as `https://host`), the tricks behind CVE-2020-11053, CVE-2020-4037
 * and CVE-2020-5233.
 */

export interface ReturnScope {
  /** The public origin (MAMORI_PUBLIC_URL). */
  publicUrl: string;
  /** MAMORI_COOKIE_DOMAIN, lower case without a leading dot; unset: only the public origin. */
  cookieDomain: string | undefined;
}

export type ReturnCheck = { ok: true; url: string } | { ok: false; reason: string };

export const MAX_RETURN_LENGTH = 4096;

export function checkReturnTo(rd: string, scope: ReturnScope): ReturnCheck {
  if (rd.length === 0 || rd.length > MAX_RETURN_LENGTH) return { ok: false, reason: 'empty or too long' };
  // Whitespace and control characters anywhere (the parser strips or drops them), backslashes
  // (read as `/` in http URLs) and non-ASCII (the browser may map it to other characters).
  if (/[^\x21-\x7e]|\\/.test(rd)) return { ok: false, reason: 'whitespace, control characters, backslashes or non-ASCII' };
  // Absolute with both slashes: `//host`, `/path`, `https:host` and `https:/host` are refused
  // rather than resolved against some base.
  if (!/^https?:\/\/[^/]/i.test(rd)) return { ok: false, reason: 'not an absolute http(s) URL' };
  let url: URL;
  try {
    url = new URL(rd);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  const publicOrigin = new URL(scope.publicUrl);
  if (url.username !== '' || url.password !== '' || /^[^/]*\/\/[^/?#]*@/.test(rd)) return { ok: false, reason: 'user information in the URL' };
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && publicOrigin.protocol === 'http:')) {
    return { ok: false, reason: 'not https' };
  }
  if (url.origin === publicOrigin.origin) {
    // The console's own origin: a page, never an API endpoint.
    return url.pathname.startsWith('/api/') ? { ok: false, reason: 'an API address' } : { ok: true, url: url.href };
  }
  const domain = scope.cookieDomain;
  if (domain === undefined) return { ok: false, reason: 'not the public origin (no MAMORI_COOKIE_DOMAIN)' };
  const host = url.hostname;
  if (host !== domain && !host.endsWith(`.${domain}`)) return { ok: false, reason: `not ${domain} or under it` };
  return { ok: true, url: url.href };
}
