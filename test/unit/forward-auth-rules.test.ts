import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { sessionLevel } from '../../src/flows/levels.js';
import { decide, type Caller } from '../../src/forward-auth/decide.js';
import { parseRules, type Rules } from '../../src/forward-auth/rules.js';
import { normalisePath, readTarget } from '../../src/forward-auth/target.js';
import { trustedProxyCheck } from '../../src/trusted-proxies.js';

/**
 * The forward-auth rules, the target a proxy describes, and the decision between them, as
 * tables. The bugs other forward-auth servers shipped are rows here: skip rules matching the
 * query (oauth2-proxy GHSA-7rh7-c77v-6434), a `#` widening a rule (CVE-2026-41059), forwarded
 * headers believed from anywhere (oauth2-proxy #3506), a malformed request allowed (Authelia
 * GHSA-68wm-pfjf-wqp6).
 */

const level = (aal: 1 | 2, phr = false) => sessionLevel({ aal, amr: JSON.stringify(aal === 2 ? ['pwd', 'otp'] : ['pwd']), phr_verified_at: phr ? 1 : null });
const caller = (email: string, groups: string[], l = level(1)): Caller => ({ userId: `id-${email}`, email, name: email, groups, level: l });

const rules: Rules = parseRules({
  defaultPolicy: 'deny',
  rules: [
    { domain: 'public.example.com', policy: 'bypass' },
    { domain: ['app.example.com'], resources: ['^/static/.*$', '^/healthz$'], policy: 'bypass' },
    { domain: 'app.example.com', resources: '^/admin(/.*)?$', subject: ['group:admin', 'user:Boss@Example.com'], policy: 'two_factor' },
    { domain: 'app.example.com', resources: '^/admin(/.*)?$', policy: 'deny' },
    { domain: 'app.example.com', methods: ['post', 'DELETE'], policy: 'two_factor' },
    { domain: 'app.example.com', resources: '^/keys', policy: 'phishing_resistant' },
    { domain: ['app.example.com', '*.tools.example.com'], policy: 'one_factor' },
  ],
});

const t = (host: string, path: string, method = 'GET') => ({ host, path, method });

describe('forward-auth rules', () => {
  it.each([
    // [host, path, method, caller, expected]
    ['public.example.com', '/anything', 'GET', undefined, 'allow'],
    ['app.example.com', '/static/app.js', 'GET', undefined, 'allow'],
    ['app.example.com', '/healthz', 'GET', undefined, 'allow'],
    // The query is never part of the path matched (GHSA-7rh7-c77v-6434): /private?x=/static/ is no static file.
    ['app.example.com', '/private', 'GET', undefined, 'sign_in:urn:mamori:aal1'],
    ['app.example.com', '/private', 'GET', 'alice', 'allow'],
    // Wildcards cover every depth under the name, never the name itself or a look-alike.
    ['a.tools.example.com', '/', 'GET', 'alice', 'allow'],
    ['a.b.tools.example.com', '/', 'GET', 'alice', 'allow'],
    ['tools.example.com', '/', 'GET', 'alice', 'deny'],
    ['eviltools.example.com', '/', 'GET', 'alice', 'deny'],
    ['app.example.com.evil.com', '/', 'GET', 'alice', 'deny'],
    // Unknown hosts fall to the default policy: deny.
    ['other.example.com', '/', 'GET', 'alice', 'deny'],
    ['other.example.com', '/', 'GET', undefined, 'deny'],
    // Subjects: a group, or an email compared as stored (lower case); anonymous must sign in first to know.
    ['app.example.com', '/admin', 'GET', undefined, 'sign_in:urn:mamori:aal1'],
    ['app.example.com', '/admin/users', 'GET', 'admin1', 'sign_in:urn:mamori:aal2'],
    ['app.example.com', '/admin/users', 'GET', 'admin2', 'allow'],
    ['app.example.com', '/admin', 'GET', 'boss2', 'allow'],
    // Not in the subject: the next matching rule (deny) decides, first match wins.
    ['app.example.com', '/admin', 'GET', 'alice', 'deny'],
    ['app.example.com', '/administrator', 'GET', 'alice', 'allow'],
    // Methods, named in any case in the file.
    ['app.example.com', '/items', 'POST', 'alice', 'sign_in:urn:mamori:aal2'],
    ['app.example.com', '/items', 'DELETE', 'alice2', 'allow'],
    ['app.example.com', '/items', 'PUT', 'alice', 'allow'],
    // Phishing-resistant: aal 2 by TOTP is not enough.
    ['app.example.com', '/keys', 'GET', 'alice2', 'sign_in:urn:mamori:phr'],
    ['app.example.com', '/keys', 'GET', 'alicePhr', 'allow'],
  ] as const)('%s %s %s as %s → %s', (host, path, method, who, expected) => {
    const callers: Record<string, Caller> = {
      alice: caller('alice@example.com', ['user']),
      alice2: caller('alice@example.com', ['user'], level(2)),
      alicePhr: caller('alice@example.com', ['user'], level(2, true)),
      admin1: caller('root@example.com', ['admin']),
      admin2: caller('root@example.com', ['admin', 'ops'], level(2)),
      boss2: caller('boss@example.com', ['user'], level(2)),
    };
    const d = decide(rules, t(host, path, method), who === undefined ? undefined : callers[who]);
    expect(d.kind === 'sign_in' ? `sign_in:${d.need}` : d.kind).toBe(expected);
  });

  it('says which rule decided, and whether a sign-in or a step-up is missing', () => {
    expect(decide(rules, t('app.example.com', '/items', 'POST'), caller('a@example.com', ['user']))).toEqual({ kind: 'sign_in', by: 5, need: 'urn:mamori:aal2', signedIn: true });
    expect(decide(rules, t('app.example.com', '/items', 'POST'), undefined)).toEqual({ kind: 'sign_in', by: 5, need: 'urn:mamori:aal2', signedIn: false });
    expect(decide(rules, t('nowhere.example.com', '/', 'GET'), undefined)).toEqual({ kind: 'deny', by: 'default' });
  });

  it('the endpoint’s ?aal= raises every allowing policy, bypass too, and never lifts a deny', () => {
    const a1 = caller('a@example.com', ['user']);
    const a2 = caller('a@example.com', ['user'], level(2));
    expect(decide(rules, t('public.example.com', '/'), undefined, 'urn:mamori:aal2')).toMatchObject({ kind: 'sign_in', need: 'urn:mamori:aal2' });
    expect(decide(rules, t('app.example.com', '/x'), a1, 'urn:mamori:aal2')).toMatchObject({ kind: 'sign_in', need: 'urn:mamori:aal2', signedIn: true });
    expect(decide(rules, t('app.example.com', '/x'), a2, 'urn:mamori:aal2')).toMatchObject({ kind: 'allow' });
    expect(decide(rules, t('app.example.com', '/x'), a2, 'urn:mamori:phr')).toMatchObject({ kind: 'sign_in', need: 'urn:mamori:phr' });
    expect(decide(rules, t('app.example.com', '/keys'), a1, 'urn:mamori:aal2')).toMatchObject({ need: 'urn:mamori:phr' });
    expect(decide(rules, t('other.example.com', '/'), a2, 'urn:mamori:aal2')).toMatchObject({ kind: 'deny' });
  });

  it('defaultPolicy: deny when absent, or what the file says; no section at all denies everything', () => {
    expect(parseRules({}).defaultPolicy).toBe('deny');
    expect(parseRules(undefined)).toEqual({ defaultPolicy: 'deny', rules: [] });
    expect(decide(parseRules(undefined), t('app.example.com', '/'), caller('a@example.com', ['user'], level(2, true)))).toEqual({ kind: 'deny', by: 'default' });
    const open = parseRules({ defaultPolicy: 'one_factor' });
    expect(decide(open, t('x.example.com', '/'), undefined)).toMatchObject({ kind: 'sign_in', by: 'default' });
    expect(decide(open, t('x.example.com', '/'), caller('a@example.com', ['user']))).toEqual({ kind: 'allow', by: 'default', policy: 'one_factor' });
  });

  it.each([
    [{ rules: [{ domain: 'a.example.com', resources: ['^/(unclosed'], policy: 'deny' }] }, /rules\[0\].*"\^\/\(unclosed" is not a valid regular expression/],
    [{ rules: [{ domain: 'a.example.com', policy: 'allow' }] }, /rules\[0\]\.policy/],
    [{ defaultPolicy: 'two_factors' }, /defaultPolicy/],
    [{ rules: [{ policy: 'deny' }] }, /rules\[0\]/],
    [{ rules: [{ domain: 'a.example.com', policy: 'deny', network: '10.0.0.0/8' }] }, /rules\[0\].*unknown key/],
    [{ rules: [{ domain: 'a b.example.com', policy: 'deny' }] }, /is not a host name/],
    [{ rules: [{ domain: 'a.*.example.com', policy: 'deny' }] }, /is not a host name/],
    [{ rules: [{ domain: 'a.example.com', methods: ['GE T'], policy: 'deny' }] }, /is not an HTTP method/],
    [{ rules: [{ domain: 'a.example.com', subject: ['role:admin'], policy: 'deny' }] }, /is not group:<name> or user:<email>/],
    [{ rules: [{ domain: 'a.example.com', subject: 'group:ops', policy: 'bypass' }] }, /bypass rule cannot have a subject/],
    [{ rule: [] }, /unknown key/],
    ['deny', /forwardAuth/],
  ])('refuses %j at start with a ConfigError naming MAMORI_CONFIG', (section, message) => {
    let err: unknown;
    try {
      parseRules(section, '/etc/mamori.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('MAMORI_CONFIG');
    expect((err as ConfigError).message).toMatch(/^MAMORI_CONFIG: \/etc\/mamori.yaml: forwardAuth/);
    expect((err as ConfigError).message).toMatch(message);
  });

  it('compiles each regular expression once, without flags that would widen it', () => {
    const r = parseRules({ rules: [{ domain: 'a.example.com', resources: '^/Admin$', policy: 'deny' }] });
    const [re] = r.rules[0]!.resources!;
    expect(re!.flags).toBe('');
    expect(re!.test('/admin')).toBe(false);
    // test() twice gives the same answer: no stateful "g" flag.
    expect([re!.test('/Admin'), re!.test('/Admin')]).toEqual([true, true]);
  });
});

describe('path normalisation', () => {
  it.each([
    ['/', '/'],
    ['/admin', '/admin'],
    ['/admin/', '/admin/'],
    ['//admin', '/admin'],
    ['/static//../admin', '/admin'],
    ['/static/../admin', '/admin'],
    ['/static/./../admin', '/admin'],
    ['/../../admin', '/admin'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/%61dmin', '/admin'],
    ['/%41DMIN', '/ADMIN'],
    ['/static/%2e%2e/admin', '/admin'],
    ['/static/.%2E/admin', '/admin'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%20b', '/a%20b'],
    // Never decoded twice: %2561 is "%61", not "a".
    ['/%2561dmin', '/%2561dmin'],
    ['/x%3Fy', '/x%3Fy'],
    ['/x%23y', '/x%23y'],
    ['/...', '/...'],
    // Path parameters, as Tomcat, Jetty and Spring drop them before serving.
    ['/admin;x', '/admin'],
    ['/admin;/x', '/admin/x'],
    ['/admin;jsessionid=1/users;v=2', '/admin/users'],
    ['/;x/admin', '/admin'],
    ['/static;x/../admin', '/admin'],
    ['/admin%3Bx', '/admin%3Bx'],
  ])('%s → %s', (raw, path) => {
    expect(normalisePath(raw)).toEqual({ ok: true, path });
  });

  it.each([
    ['/static%2f..%2fadmin', /encoded slash/],
    ['/static%2F..%2Fadmin', /encoded slash/],
    ['/static%5c..%5cadmin', /encoded slash or backslash/],
    ['/a%00b', /control/],
    ['/a%0ab', /control/],
    ['/a%7fb', /control/],
    ['/a%zz', /malformed percent/],
    ['/a%4', /malformed percent/],
    ['admin', /does not start with/],
  ])('refuses %s', (raw, reason) => {
    const r = normalisePath(raw);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(reason);
  });
});

describe('the target a proxy describes', () => {
  const fwd = (uri: string, extra: Record<string, string[]> = {}) => ({
    'x-forwarded-method': ['GET'],
    'x-forwarded-proto': ['https'],
    'x-forwarded-host': ['App.Example.com:8443'],
    'x-forwarded-uri': [uri],
    ...extra,
  });
  const orig = (url: string, method = 'GET', extra: Record<string, string[]> = {}) => ({ 'x-original-url': [url], 'x-original-method': [method], ...extra });

  it('reads Traefik/Caddy X-Forwarded-* and nginx X-Original-* alike', () => {
    expect(readTarget(fwd('/static/../admin?x=/static/'), true)).toEqual({
      ok: true,
      target: { method: 'GET', proto: 'https', host: 'app.example.com', path: '/admin', url: 'https://app.example.com:8443/static/../admin?x=/static/', via: 'forwarded' },
    });
    expect(readTarget(orig('HTTPS://App.Example.com./a//b?q=1', 'post'), true)).toEqual({
      ok: true,
      target: { method: 'POST', proto: 'https', host: 'app.example.com', path: '/a/b', url: 'https://app.example.com./a//b?q=1', via: 'original' },
    });
    expect(readTarget(orig('http://app.example.com'), true)).toMatchObject({ ok: true, target: { path: '/', url: 'http://app.example.com/' } });
    expect(readTarget(orig('http://[::1]:8080/x'), true)).toMatchObject({ ok: true, target: { host: '[::1]', path: '/x' } });
  });

  it('the query and a fragment never reach the path that rules see (GHSA-7rh7-c77v-6434, CVE-2026-41059)', () => {
    const skipStatic = parseRules({ rules: [{ domain: 'app.example.com', resources: ['/static/'], policy: 'bypass' }, { domain: 'app.example.com', policy: 'one_factor' }] });
    const r = readTarget(fwd('/private?file=/static/x'), true);
    expect(r.ok && r.target.path).toBe('/private');
    expect(r.ok && decide(skipStatic, r.target, undefined).kind).toBe('sign_in');
    // A raw # is not a fragment to strip and match around: it is refused.
    expect(readTarget(fwd('/private#/static/'), true)).toMatchObject({ ok: false });
    expect(readTarget(orig('https://app.example.com/private#/static/'), true)).toMatchObject({ ok: false });
    // Encoded, it is an ordinary character of the path.
    const enc = readTarget(fwd('/private%23/static/'), true);
    expect(enc.ok && enc.target.path).toBe('/private%23/static/');
  });

  it.each([
    ['no headers at all', {}],
    ['X-Forwarded-Uri missing', { 'x-forwarded-method': ['GET'], 'x-forwarded-proto': ['https'], 'x-forwarded-host': ['app.example.com'] }],
    ['X-Forwarded-Method missing', { 'x-forwarded-proto': ['https'], 'x-forwarded-host': ['app.example.com'], 'x-forwarded-uri': ['/'] }],
    ['X-Original-Method missing', { 'x-original-url': ['https://app.example.com/'] }],
    ['two hosts', fwd('/', { 'x-forwarded-host': ['a.example.com', 'b.example.com'] })],
    ['a host list', fwd('/', { 'x-forwarded-host': ['a.example.com, b.example.com'] })],
    ['userinfo', orig('https://evil@app.example.com/')],
    ['no host', orig('https:///admin')],
    ['relative URL', orig('/admin')],
    ['ftp', orig('ftp://app.example.com/')],
    ['proto ftp', fwd('/', { 'x-forwarded-proto': ['ftp'] })],
    ['proto list', fwd('/', { 'x-forwarded-proto': ['https,http'] })],
    ['absolute-form uri', fwd('https://evil.example.com/')],
    ['empty uri', fwd('')],
    ['space', fwd('/a b')],
    ['tab', fwd('/a\tb')],
    ['newline', fwd('/a\nb')],
    ['NUL', fwd('/a\u0000b')],
    ['backslash', fwd('/static\\..\\admin')],
    ['non-ASCII', fwd('/café')],
    ['encoded slash', fwd('/static/..%2Fadmin')],
    ['encoded NUL', fwd('/a%00')],
    ['bad port', fwd('/', { 'x-forwarded-host': ['app.example.com:99999'] })],
    ['bad host', fwd('/', { 'x-forwarded-host': ['app example.com'] })],
    ['host with a path', fwd('/', { 'x-forwarded-host': ['app.example.com/x'] })],
    ['bad method', fwd('/', { 'x-forwarded-method': ['G ET'] })],
    ['X-Original-URL and X-Forwarded-Uri disagree', orig('https://public.example.com/', 'GET', { 'x-forwarded-uri': ['/admin'] })],
    ['X-Original-URL and X-Forwarded-Host disagree', orig('https://public.example.com/', 'GET', { 'x-forwarded-host': ['app.example.com'] })],
    ['X-Original-Method and X-Forwarded-Method disagree', orig('https://public.example.com/', 'GET', { 'x-forwarded-method': ['POST'] })],
  ])('refuses %s (403, never a 2xx)', (_name, headers) => {
    expect(readTarget(headers, true).ok).toBe(false);
  });

  it('agreeing X-Forwarded-* beside X-Original-* are fine', () => {
    const r = readTarget(orig('https://app.example.com/x?y', 'GET', { 'x-forwarded-proto': ['https'], 'x-forwarded-host': ['app.example.com'], 'x-forwarded-uri': ['/x?y'] }), true);
    expect(r).toMatchObject({ ok: true, target: { via: 'original', path: '/x' } });
  });

  it('believes nothing from an address outside MAMORI_TRUSTED_PROXIES', () => {
    const r = readTarget(fwd('/'), false);
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/MAMORI_TRUSTED_PROXIES/) });
    const isTrustedPeer = trustedProxyCheck(['127.0.0.1/32', '10.0.0.0/8', 'fd00::/8']);
    expect(isTrustedPeer('127.0.0.1')).toBe(true);
    expect(isTrustedPeer('::ffff:127.0.0.1')).toBe(true);
    expect(isTrustedPeer('10.1.2.3')).toBe(true);
    expect(isTrustedPeer('fd12::1')).toBe(true);
    expect(isTrustedPeer('127.0.0.2')).toBe(false);
    expect(isTrustedPeer('::1')).toBe(false);
    expect(isTrustedPeer('192.168.1.1')).toBe(false);
    expect(isTrustedPeer(undefined)).toBe(false);
    expect(isTrustedPeer('not an address')).toBe(false);
  });
});
