import { describe, expect, it } from 'vitest';
import { checkReturnTo } from '../../src/forward-auth/return-to.js';

/**
 * Where the console may send a browser after sign-in. Rows include the open redirects
 * oauth2-proxy shipped: CVE-2020-5233 (`/\evil`), CVE-2020-11053 (`%09`, `%0a`: the parser drops
 * tabs and newlines), CVE-2020-4037 (`https:evil`, read as `https://evil`).
 */

const https = { publicUrl: 'https://id.example.com', cookieDomain: 'example.com' };
const noDomain = { publicUrl: 'https://id.example.com', cookieDomain: undefined };
const plainHttp = { publicUrl: 'http://id.example.test:8080', cookieDomain: 'example.test' };

describe('rd: the return address after sign-in', () => {
  it.each([
    ['https://app.example.com/', https, 'https://app.example.com/'],
    ['https://app.example.com/path?q=1&r=2#frag', https, 'https://app.example.com/path?q=1&r=2#frag'],
    ['https://example.com/', https, 'https://example.com/'],
    ['https://a.b.example.com/x', https, 'https://a.b.example.com/x'],
    // Ports: cookies ignore them, so any port on a host under the cookie domain.
    ['https://app.example.com:8443/x', https, 'https://app.example.com:8443/x'],
    ['HTTPS://APP.EXAMPLE.COM/X', https, 'https://app.example.com/X'],
    ['https://id.example.com/console/#/security', https, 'https://id.example.com/console/#/security'],
    // Without a cookie domain: the public origin only.
    ['https://id.example.com/console/', noDomain, 'https://id.example.com/console/'],
    // http only while the public URL itself is http.
    ['http://app.example.test:8080/private', plainHttp, 'http://app.example.test:8080/private'],
    ['https://app.example.test/private', plainHttp, 'https://app.example.test/private'],
  ] as const)('follows %s', (rd, scope, url) => {
    expect(checkReturnTo(rd, scope)).toEqual({ ok: true, url });
  });

  it.each([
    ['https://evil.com/', https],
    ['https://evilexample.com/', https],
    ['https://example.com.evil.com/', https],
    ['https://app.example.com./', https],
    ['https://evil.com#.example.com', https],
    ['https://evil.com?.example.com', https],
    ['https://evil.com\\.example.com', https],
    ['http://app.example.com/', https],
    ['ftp://app.example.com/', https],
    ['javascript:alert(1)//.example.com', https],
    ['data:text/html,<script>alert(1)</script>', https],
    // Userinfo, whichever way it is spelt.
    ['https://app.example.com@evil.com/', https],
    ['https://app.example.com:pw@evil.com/', https],
    ['https://@evil.com/', https],
    ['https://user@app.example.com/', https],
    // Relative forms, resolved by the browser against wherever it is.
    ['//evil.com/', https],
    ['/\\evil.com', https],
    ['\\\\evil.com', https],
    ['/path', https],
    ['evil.com', https],
    ['https:evil.com', https],
    ['https:/evil.com', https],
    ['https:\\\\evil.com', https],
    ['https:///evil.com', https],
    // What URLSearchParams makes of %09, %0a, %0d, %00 and %20 (CVE-2020-11053).
    ['/\t/evil.com', https],
    ['https://app.example.com\t.evil.com/', https],
    ['https://evil.com\n.example.com', https],
    ['https:/\n/evil.com', https],
    ['https://app.example.com/\r\n', https],
    ['https://app.example.com/\u0000', https],
    [' https://app.example.com/', https],
    ['https://app.example.com/ x', https],
    ['https://app.example.com/\u2028', https],
    ['https://ａpp.example.com/', https],
    // Other ports of the public host without a cookie domain: another origin.
    ['https://id.example.com:8443/', noDomain],
    ['http://id.example.com/', noDomain],
    ['https://app.example.com/', noDomain],
    // The API is no page to land on.
    ['https://id.example.com/api/v1/sign-out', https],
    ['', https],
    [`https://app.example.com/${'a'.repeat(5000)}`, https],
  ] as const)('ignores %j', (rd, scope) => {
    expect(checkReturnTo(rd, scope).ok).toBe(false);
  });
});
