import { isIP } from 'node:net';

/**
 * The request a reverse proxy asks about, read from its headers: `X-Original-Method` and
 * `X-Original-URL` (nginx auth_request) or `X-Forwarded-Method/Proto/Host/Uri` (Traefik, Caddy).
 * Anything this cannot read with certainty is refused, never guessed: a guess is a way for a
 * request to be checked against another rule than the one the proxy will serve it under.
 */

export interface Target {
  /** Upper case, as rules name methods. */
  method: string;
  proto: 'http' | 'https';
  /** Lower case, without port or trailing dot: what rules and the identity token's `aud` see. */
  host: string;
  /** Normalised: unreserved characters decoded, dot segments and duplicate slashes gone. */
  path: string;
  /** The URL as the user asked for it (scheme, host and port, raw path and query), to come back to after sign-in. */
  url: string;
  /** Which headers it came from: nginx's `auth_request` cannot redirect, so it is always told 401. */
  via: 'original' | 'forwarded';
}

export type TargetResult = { ok: true; target: Target } | { ok: false; reason: string };

/** Header values by name, each value separate (Node's `req.headersDistinct`). */
export type DistinctHeaders = Record<string, string[] | undefined>;

const TCHAR_METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** host[:port] → the host for rules, or undefined when it is not a host. */
function parseAuthority(raw: string): { host: string; authority: string } | undefined {
  const authority = raw.toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return undefined;
  const [, name = '', port] = m;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
  if (name.startsWith('[')) return isIP(name.slice(1, -1)) === 6 ? { host: name, authority } : undefined;
  const host = name.endsWith('.') ? name.slice(0, -1) : name;
  if (host.length === 0 || host.length > 253 || !host.split('.').every((l) => LABEL.test(l))) return undefined;
  return { host, authority };
}

/**
 * A request target's path for matching, or why it is refused. Percent-encoded unreserved
 * characters are decoded (`%61dmin` is `admin`), other escapes kept in upper case and never
 * decoded twice; dot segments are resolved and duplicate slashes collapsed, as the servers
 * behind the proxy do. An encoded slash or backslash is refused: servers disagree on whether it
 * separates segments, so no reading of it is safe.
 *
 * A segment's path parameters (`/admin;jsessionid=x`) are cut off before matching: Tomcat,
 * Jetty and Spring serve `/admin;x` as `/admin`, so a rule for `/admin` must see it so. Servers
 * that read `;` as part of the name meet a stricter rule at worst, never a looser one. An
 * encoded `%3B` is a character of the name to all of them and is kept.
 */
export function normalisePath(rawPath: string): { ok: true; path: string } | { ok: false; reason: string } {
  if (!rawPath.startsWith('/')) return { ok: false, reason: 'the path does not start with /' };
  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath[i]!;
    if (c !== '%') {
      decoded += c;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, reason: 'the path has a malformed percent escape' };
    const byte = parseInt(hex, 16);
    if (byte === 0x2f || byte === 0x5c) return { ok: false, reason: 'the path has an encoded slash or backslash' };
    if (byte < 0x20 || byte === 0x7f) return { ok: false, reason: 'the path has an encoded control character' };
    const ch = String.fromCharCode(byte);
    decoded += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i += 2;
  }
  const segments = decoded.split('/').slice(1).map((seg) => {
    const params = seg.indexOf(';');
    return params === -1 ? seg : seg.slice(0, params);
  });
  const out: string[] = [];
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..') out.pop();
      if (last) out.push('');
    } else if (seg !== '' || last) {
      out.push(seg);
    }
  });
  return { ok: true, path: `/${out.join('/')}` };
}

/**
 * The origin-form request target (`/path?query`): printable ASCII only. A raw `#` is refused too:
 * no client sends a fragment, and servers disagree on whether it ends the path (CVE-2026-41059).
 */
function parseRequestTarget(raw: string): { ok: true; path: string; uri: string } | { ok: false; reason: string } {
  if (raw.length === 0 || raw.length > 8192) return { ok: false, reason: 'the request URI is empty or too long' };
  if (/[^\x21-\x7e]|[\\#]/.test(raw)) return { ok: false, reason: 'the request URI has a space, control character, backslash, # or non-ASCII character' };
  const q = raw.indexOf('?');
  const path = normalisePath(q === -1 ? raw : raw.slice(0, q));
  if (!path.ok) return path;
  return { ok: true, path: path.path, uri: raw };
}

function single(headers: DistinctHeaders, name: string): { value: string | undefined } | { error: string } {
  const values = headers[name];
  if (values === undefined || values.length === 0) return { value: undefined };
  if (values.length > 1) return { error: `${name} is given more than once` };
  return { value: values[0] };
}

/**
 * Reads the target. `trusted` says whether the connection comes from MAMORI_TRUSTED_PROXIES;
 * otherwise no header is believed and there is no target.
 */
export function readTarget(headers: DistinctHeaders, trusted: boolean): TargetResult {
  if (!trusted) return { ok: false, reason: 'the request does not come from an address in MAMORI_TRUSTED_PROXIES, so its forwarded headers are not believed' };
  const read: Record<string, string | undefined> = {};
  for (const name of ['x-original-url', 'x-original-method', 'x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri']) {
    const v = single(headers, name);
    if ('error' in v) return { ok: false, reason: v.error };
    read[name] = v.value;
  }
  const original = read['x-original-url'];
  let target: Target;
  if (original !== undefined) {
    const m = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(original);
    if (!m) return { ok: false, reason: 'X-Original-URL is not an absolute http(s) URL' };
    const proto = m[1]!.toLowerCase() as 'http' | 'https';
    const auth = parseAuthority(m[2]!);
    if (!auth) return { ok: false, reason: 'X-Original-URL has no valid host' };
    const rest = m[3] === '' ? '/' : m[3]!.startsWith('?') ? `/${m[3]}` : m[3]!;
    const rt = parseRequestTarget(rest);
    if (!rt.ok) return { ok: false, reason: `X-Original-URL: ${rt.reason}` };
    const method = read['x-original-method'];
    if (method === undefined) return { ok: false, reason: 'X-Original-Method is missing' };
    if (!TCHAR_METHOD.test(method)) return { ok: false, reason: 'X-Original-Method is not a method' };
    target = { method: method.toUpperCase(), proto, host: auth.host, path: rt.path, url: `${proto}://${auth.authority}${rt.uri}`, via: 'original' };
    // Headers of the other style may ride along (set by another proxy, or by the client when the
    // proxy passes its headers on): believed only when they describe this very request.
    const agree =
      (read['x-forwarded-method'] === undefined || read['x-forwarded-method'].toUpperCase() === target.method) &&
      (read['x-forwarded-proto'] === undefined || read['x-forwarded-proto'].toLowerCase() === proto) &&
      (read['x-forwarded-host'] === undefined || read['x-forwarded-host'].toLowerCase() === auth.authority) &&
      (read['x-forwarded-uri'] === undefined || read['x-forwarded-uri'] === rt.uri);
    if (!agree) return { ok: false, reason: 'X-Original-* and X-Forwarded-* describe different requests' };
    return { ok: true, target };
  }
  const method = read['x-forwarded-method'];
  const protoRaw = read['x-forwarded-proto'];
  const hostRaw = read['x-forwarded-host'];
  const uri = read['x-forwarded-uri'];
  if (method === undefined || protoRaw === undefined || hostRaw === undefined || uri === undefined) {
    return { ok: false, reason: 'no target: X-Original-URL and X-Original-Method, or X-Forwarded-Method, -Proto, -Host and -Uri are needed' };
  }
  if (!TCHAR_METHOD.test(method)) return { ok: false, reason: 'X-Forwarded-Method is not a method' };
  const proto = protoRaw.toLowerCase();
  if (proto !== 'http' && proto !== 'https') return { ok: false, reason: 'X-Forwarded-Proto is not http or https' };
  const auth = parseAuthority(hostRaw);
  if (!auth) return { ok: false, reason: 'X-Forwarded-Host is not a host' };
  const rt = parseRequestTarget(uri);
  if (!rt.ok) return { ok: false, reason: `X-Forwarded-Uri: ${rt.reason}` };
  target = { method: method.toUpperCase(), proto, host: auth.host, path: rt.path, url: `${proto}://${auth.authority}${rt.uri}`, via: 'forwarded' };
  return { ok: true, target };
}
