import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runMamori } from '../helpers/cli.js';
import type { Answer, Client } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { assignApp, appCode } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

/**
 * GET /api/v1/forward-auth in-process, on SQLite and PostgreSQL: the contract's answers, and the
 * bugs other forward-auth servers shipped (Authelia GHSA-68wm-pfjf-wqp6: a malformed request
 * allowed; authentik CVE-2026-25748: a malformed cookie gave a 200 without identity;
 * oauth2-proxy #3506: forwarded headers believed from anywhere; Caddy GHSA-7r4p-vjf4-gxv4:
 * identity headers missing from the answer, so the client's stayed).
 */

const PUBLIC = 'https://id.example.com';
const RULES = `
forwardAuth:
  defaultPolicy: deny
  rules:
    - domain: public.example.com
      policy: bypass
    - domain: app.example.com
      resources: ['^/admin(/.*)?$']
      subject: ['group:admin', 'user:Carol@Example.com']
      policy: two_factor
    - domain: app.example.com
      resources: ['^/admin(/.*)?$']
      policy: deny
    - domain: app.example.com
      resources: ['^/mfa(/.*)?$']
      policy: two_factor
    - domain: app.example.com
      resources: ['^/keys(/.*)?$']
      policy: phishing_resistant
    - domain: app.example.com
      methods: [DELETE]
      policy: two_factor
    - domain: ['app.example.com', '*.apps.example.com']
      policy: one_factor
    - domain: outside.test
      policy: one_factor
`;

const IDENTITY = ['remote-user', 'remote-email', 'remote-name', 'remote-groups', 'remote-aal'] as const;

/** What Traefik and Caddy send: the original request as X-Forwarded-*. */
function forwarded(url: string, method = 'GET', extra: Record<string, string> = {}): Record<string, string> {
  const u = new URL(url);
  return { 'x-forwarded-method': method, 'x-forwarded-proto': u.protocol.slice(0, -1), 'x-forwarded-host': u.host, 'x-forwarded-uri': u.pathname + u.search, ...extra };
}
/** What nginx auth_request sends. */
const original = (url: string, method = 'GET', extra: Record<string, string> = {}) => ({ 'x-original-url': url, 'x-original-method': method, ...extra });
const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const JSON_ONLY = { accept: 'application/json' };

function expectIdentityHeaders(r: Answer, values?: Partial<Record<(typeof IDENTITY)[number], string>>) {
  for (const name of IDENTITY) {
    expect(r.headers.has(name), `${name} present on a ${r.status}`).toBe(true);
    expect(r.headers.get(name)).toBe(values?.[name] ?? '');
  }
  if (values === undefined) expect(r.headers.get('mamori-identity') ?? '').toBe('');
  expect(r.headers.get('cache-control')).toBe('no-store');
}

const signInUrl = (rd: string, aal?: '2' | 'phr') => `${PUBLIC}/console/#/sign-in?rd=${encodeURIComponent(rd)}${aal ? `&aal=${aal}` : ''}`;

describe.each(databases)('forward-auth on $name', ({ name, skip }) => {
  let server: TestServer;
  let dir: string;
  let anon: Client;
  let alice: Client;
  let aliceId: string;
  let root: Client;

  const check = (c: Client, headers: Record<string, string>, query = '') => c.get(`/api/v1/forward-auth${query}`, headers);

  beforeAll(async () => {
    if (skip) return;
    dir = mkdtempSync(path.join(tmpdir(), 'mamori-fa-'));
    writeFileSync(path.join(dir, 'mamori.yaml'), RULES);
    server = await startServer({
      database: name,
      env: { MAMORI_CONFIG: path.join(dir, 'mamori.yaml'), MAMORI_PUBLIC_URL: PUBLIC, MAMORI_COOKIE_DOMAIN: 'example.com' },
    });
    const a = await createTestUser(server, 'alice@example.com');
    aliceId = a.id;
    await server.services.users.update(a.id, { name: '山田 Alice' });
    const r = await createTestUser(server, 'root@example.com', { role: 'admin' });
    await server.services.groups.set(r.id, ['ops', 'admin'], server.clock.now());
    anon = server.client();
    alice = await signIn(server, 'alice@example.com');
    root = await signIn(server, 'root@example.com');
    await assignApp(server.clock, root);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Password, then the authenticator app's next code: a session at aal 2. */
  async function signInWithApp(email: string, secret: string): Promise<Client> {
    server.clock.advance(90_000); // past the codes used before
    const c = server.client();
    expect((await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body).toMatchObject({ status: 'mfa_required' });
    const r = await c.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(secret, server.clock.now()) });
    expect(r.status, r.text).toBe(200);
    return c;
  }

  it.skipIf(skip)('a bypass target: 200 for anyone, the identity headers present and empty', async () => {
    const r = await check(anon, forwarded('https://public.example.com/x'));
    expect(r.status).toBe(200);
    expectIdentityHeaders(r);
    expect(r.text).toBe('');
  });

  it.skipIf(skip)('not signed in: 302 for a browser page, 303 for other methods, 401 for others and for nginx (with the sign-in address)', async () => {
    const target = 'https://app.example.com/private?a=1&b=%2F#';
    const url = 'https://app.example.com/private?a=1&b=%2F';
    let r = await check(anon, { ...forwarded(url), ...HTML });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(signInUrl(url));
    expectIdentityHeaders(r);
    r = await check(anon, { ...forwarded(url, 'HEAD'), ...HTML });
    expect(r.status).toBe(302);
    r = await check(anon, { ...forwarded(url, 'POST'), ...HTML });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe(signInUrl(url));
    // An XHR or an API client: 401, never a redirect it cannot follow.
    r = await check(anon, { ...forwarded(url), ...JSON_ONLY });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'unauthenticated' });
    expectIdentityHeaders(r);
    r = await check(anon, forwarded(url));
    expect(r.status).toBe(401);
    // nginx cannot follow a 302 from auth_request: always 401, with the address in Location for error_page.
    r = await check(anon, { ...original(url), ...HTML });
    expect(r.status).toBe(401);
    expect(r.headers.get('location')).toBe(signInUrl(url));
    expectIdentityHeaders(r);
    expect(target.startsWith(url)).toBe(true);
  });

  it.skipIf(skip)('signed in: 200 with every identity header, and a Mamori-Identity token that verifies against the JWKS', async () => {
    const r = await check(alice, { ...forwarded('https://app.example.com:8443/private'), ...HTML });
    expect(r.status).toBe(200);
    // Remote-Name is sent as UTF-8 bytes; fetch reads header bytes as Latin-1.
    const nameBytes = Buffer.from('山田 Alice', 'utf8').toString('latin1');
    expectIdentityHeaders(r, { 'remote-user': aliceId, 'remote-email': 'alice@example.com', 'remote-name': nameBytes, 'remote-groups': 'user', 'remote-aal': '1' });
    const token = r.headers.get('mamori-identity')!;
    const jwks = createLocalJWKSet(server.services.signingKeys.jwks());
    const now = server.clock.now();
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: PUBLIC, audience: 'app.example.com', algorithms: ['ES256'], currentDate: new Date(now) });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: aliceId, email: 'alice@example.com', name: '山田 Alice', groups: ['user'], aal: 1, acr: 'urn:mamori:aal1', amr: expect.arrayContaining(['pwd']) });
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(Math.abs(payload.iat! * 1000 - now)).toBeLessThan(5_000);
    // Another application cannot replay it: the audience is the host it was made for.
    await expect(jwtVerify(token, jwks, { issuer: PUBLIC, audience: 'other.example.com', currentDate: new Date(now) })).rejects.toThrow(/aud/);
    // A minute later it is void.
    await expect(jwtVerify(token, jwks, { issuer: PUBLIC, audience: 'app.example.com', currentDate: new Date(now + 61_000) })).rejects.toThrow(/exp/);
    // An application verifies it against the published OpenID Connect JWKS.
    const published = await fetch(`${server.url}/oidc/jwks`);
    expect(published.status).toBe(200);
    const remote = createLocalJWKSet((await published.json()) as { keys: Array<{ kid: string; kty: string }> });
    expect(decodeProtectedHeader(token).kid).toBeTruthy();
    await expect(jwtVerify(token, remote, { issuer: PUBLIC, audience: 'app.example.com', currentDate: new Date(now) })).resolves.toMatchObject({ payload: { sub: aliceId } });
  });

  it.skipIf(skip)('a client-sent Remote-User or Mamori-Identity is never echoed back', async () => {
    const spoof = { 'remote-user': aliceId, 'remote-email': 'root@example.com', 'remote-groups': 'admin', 'mamori-identity': 'x.y.z', remote_user: 'root' };
    let r = await check(anon, { ...forwarded('https://public.example.com/'), ...spoof });
    expect(r.status).toBe(200);
    expectIdentityHeaders(r);
    r = await check(alice, { ...forwarded('https://app.example.com/'), ...spoof });
    expect(r.headers.get('remote-email')).toBe('alice@example.com');
    expect(r.headers.get('remote-groups')).toBe('user');
    expect(r.headers.get('mamori-identity')).not.toBe('x.y.z');
  });

  it.skipIf(skip)('a malformed or missing target is 403, never a 2xx, even for a bypass host', async () => {
    const bad: Array<Record<string, string>> = [
      {},
      { 'x-forwarded-host': 'public.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-method': 'GET' },
      { 'x-original-url': 'https://public.example.com/' },
      original('https://public.example.com/%2e%2e%2fadmin'),
      original('https://public.example.com/a%2Fb'),
      original('https://user@public.example.com/'),
      original('public.example.com/'),
      forwarded('https://public.example.com/', 'GET', { 'x-forwarded-uri': '/a#b' }),
      forwarded('https://public.example.com/', 'GET', { 'x-forwarded-uri': '/a%00' }),
      forwarded('https://public.example.com/', 'GET', { 'x-forwarded-uri': '/a\\b' }),
      forwarded('https://public.example.com/', 'GET', { 'x-forwarded-proto': 'gopher' }),
      forwarded('https://public.example.com/', 'GET', { 'x-forwarded-host': 'public.example.com, app.example.com' }),
      // The proxy's X-Original-URL says one thing, X-Forwarded-* (sent by the client) another.
      original('https://public.example.com/', 'GET', { 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/admin' }),
    ];
    for (const headers of bad) {
      for (const c of [anon, alice]) {
        const r = await check(c, { ...headers, ...HTML });
        expect(r.status, JSON.stringify(headers)).toBe(403);
        expect(r.body).toMatchObject({ code: 'forbidden' });
        expectIdentityHeaders(r);
      }
    }
    // Two X-Forwarded-Host header lines, as a raw request would carry them.
    const h = new Headers(forwarded('https://public.example.com/'));
    h.append('x-forwarded-host', 'app.example.com');
    expect((await fetch(`${server.url}/api/v1/forward-auth`, { headers: h })).status).toBe(403);
  });

  it.skipIf(skip)('a target the rules do not know: 403 for everyone', async () => {
    for (const c of [anon, alice, root]) {
      const r = await check(c, { ...forwarded('https://unknown.example.com/'), ...HTML });
      expect(r.status).toBe(403);
      expectIdentityHeaders(r);
    }
  });

  it.skipIf(skip)('a malformed session cookie is not signed in: 401, not a 200 without identity', async () => {
    const c = server.client();
    for (const value of ['', 'x', '%%%', 'a'.repeat(300), '"quoted"', 'a=b; mamori_session=']) {
      c.cookies.set('mamori_session', value);
      const r = await check(c, forwarded('https://app.example.com/private'));
      expect(r.status).toBe(401);
      expectIdentityHeaders(r);
    }
  });

  it.skipIf(skip)('deny, and subjects: a group or an email; not signed in, a subject rule asks to sign in first', async () => {
    // alice is neither in group admin nor carol: the next rule denies.
    let r = await check(alice, { ...forwarded('https://app.example.com/admin/x'), ...HTML });
    expect(r.status).toBe(403);
    expectIdentityHeaders(r);
    r = await check(anon, { ...forwarded('https://app.example.com/admin'), ...HTML });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(signInUrl('https://app.example.com/admin'));
    // carol by her email (the rule spells it in capitals): the two_factor rule, at aal 1 → step-up.
    await createTestUser(server, 'carol@example.com');
    const carol = await signIn(server, 'carol@example.com');
    r = await check(carol, { ...forwarded('https://app.example.com/admin'), ...HTML });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(signInUrl('https://app.example.com/admin', '2'));
    // root by group admin, at aal 2 since assigning the authenticator app.
    r = await check(root, { ...forwarded('https://app.example.com/admin/users'), ...HTML });
    expect(r.status).toBe(200);
    expect(r.headers.get('remote-groups')).toBe('admin,ops');
  });

  it.skipIf(skip)('two_factor: an aal 1 session is sent to step up (302 / 401 with aal=2), an aal 2 one passes', async () => {
    const erin = await createTestUser(server, 'erin@example.com');
    await server.services.groups.set(erin.id, ['ops'], server.clock.now());
    const c = await signIn(server, 'erin@example.com');
    let r = await check(c, { ...forwarded('https://app.example.com/mfa/x'), ...HTML });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(signInUrl('https://app.example.com/mfa/x', '2'));
    r = await check(c, { ...forwarded('https://app.example.com/mfa/x'), ...JSON_ONLY });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'unauthenticated', detail: expect.stringMatching(/higher sign-in level/) });
    // Path parameters, which Java servers drop before serving, do not take a path out of its rule.
    for (const uri of ['https://app.example.com/mfa;x', 'https://app.example.com/mfa;jsessionid=1/x']) {
      expect((await check(c, { ...forwarded(uri), ...JSON_ONLY })).status, uri).toBe(401);
    }
    // A method rule: DELETE anywhere on app.example.com needs the second factor too.
    r = await check(c, { ...forwarded('https://app.example.com/items/1', 'DELETE'), ...HTML });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe(signInUrl('https://app.example.com/items/1', '2'));
    // Assigning an authenticator app proves it: the session is at aal 2 now.
    const app = await assignApp(server.clock, c);
    r = await check(c, { ...forwarded('https://app.example.com/mfa/x'), ...HTML });
    expect(r.status).toBe(200);
    expect(r.headers.get('remote-aal')).toBe('2');
    expect(r.headers.get('remote-groups')).toBe('user,ops');
    // A later sign-in with password and the app's code: aal 2 from the start.
    const again = await signInWithApp('erin@example.com', app.secret);
    r = await check(again, { ...forwarded('https://app.example.com/items/1', 'DELETE'), ...HTML });
    expect(r.status).toBe(200);
    const { payload } = await jwtVerify(r.headers.get('mamori-identity')!, createLocalJWKSet(server.services.signingKeys.jwks()), {
      audience: 'app.example.com',
      currentDate: new Date(server.clock.now()),
    });
    expect(payload).toMatchObject({ sub: erin.id, aal: 2, acr: 'urn:mamori:aal2', groups: ['user', 'ops'], amr: expect.arrayContaining(['otp']) });
    // ?aal=phr on the endpoint: TOTP is not phishing-resistant.
    r = await check(again, { ...forwarded('https://app.example.com/mfa/x'), ...HTML }, '?aal=phr');
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(signInUrl('https://app.example.com/mfa/x', 'phr'));
  });

  it.skipIf(skip)('phishing_resistant: aal 2 by TOTP is sent to step up with aal=phr; a security key session passes', async () => {
    let r = await check(root, { ...forwarded('https://app.example.com/keys'), ...HTML });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(signInUrl('https://app.example.com/keys', 'phr'));
    // A session as a security key leaves it (the WebAuthn ceremony itself is tested in test/webauthn).
    const rootUser = (await server.services.users.findByEmail('root@example.com'))!;
    const now = server.clock.now();
    const { token } = await server.services.sessions.create({ userId: rootUser.id, aal: 2, amr: ['pwd', 'hwk'], mfaSetupOnly: false, now, mfaVerifiedAt: now, phrVerifiedAt: now, ip: null, userAgent: null });
    const key = server.client();
    key.cookies.set('mamori_session', token);
    r = await check(key, { ...forwarded('https://app.example.com/keys'), ...HTML });
    expect(r.status).toBe(200);
    expect(r.headers.get('remote-aal')).toBe('2');
    const { payload } = await jwtVerify(r.headers.get('mamori-identity')!, createLocalJWKSet(server.services.signingKeys.jwks()), { currentDate: new Date(now) });
    expect(payload).toMatchObject({ acr: 'urn:mamori:phr', amr: ['pwd', 'hwk'] });
    expect((await check(key, forwarded('https://app.example.com/x'), '?aal=phr')).status).toBe(200);
  });

  it.skipIf(skip)('?aal=2 demands a second factor for every target it checks, bypass included; a bad value is 400 with the headers, other parameters are ignored', async () => {
    let r = await check(alice, { ...forwarded('https://app.example.com/private'), ...HTML }, '?aal=2');
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(signInUrl('https://app.example.com/private', '2'));
    r = await check(anon, { ...forwarded('https://public.example.com/'), ...HTML }, '?aal=2');
    expect(r.status).toBe(302);
    r = await check(alice, { ...forwarded('https://unknown.example.com/'), ...HTML }, '?aal=2');
    expect(r.status).toBe(403);
    // Other parameters are the application's (Caddy appends the original query): ignored.
    expect((await check(alice, forwarded('https://app.example.com/private'), '?x=1&rd=https://evil.example/')).status).toBe(200);
    for (const q of ['?aal=3', '?aal=1', '?aal=', '?aal=2&aal=phr']) {
      r = await check(alice, forwarded('https://app.example.com/private'), q);
      expect(r.status, q).toBe(400);
      expect(r.body).toMatchObject({ code: 'validation_failed' });
      expectIdentityHeaders(r);
    }
  });

  it.skipIf(skip)('restricted sessions (MFA setup only, password change only) are not signed in for forward-auth', async () => {
    const user = (await server.services.users.findByEmail('alice@example.com'))!;
    const now = server.clock.now();
    for (const restriction of [{ mfaSetupOnly: true }, { mfaSetupOnly: false, passwordChangeOnly: true }]) {
      const { token } = await server.services.sessions.create({ userId: user.id, aal: 1, amr: ['pwd'], now, mfaVerifiedAt: null, ip: null, userAgent: null, ...restriction });
      const c = server.client();
      c.cookies.set('mamori_session', token);
      const r = await check(c, forwarded('https://app.example.com/private'));
      expect(r.status).toBe(401);
      expectIdentityHeaders(r);
    }
  });

  it.skipIf(skip)('a sign-in that could not come back (host outside the cookie domain) is 403, not a redirect loop', async () => {
    const r = await check(anon, { ...forwarded('https://outside.test/'), ...HTML });
    expect(r.status).toBe(403);
    expect(r.headers.get('location')).toBeNull();
  });

  it.skipIf(skip)('HEAD answers as GET does, headers included', async () => {
    const r = await anon.request('HEAD', '/api/v1/forward-auth', undefined, { ...forwarded('https://app.example.com/x'), ...HTML });
    expect(r.status).toBe(302);
    expectIdentityHeaders(r);
    const ok = await alice.request('HEAD', '/api/v1/forward-auth', undefined, forwarded('https://app.example.com/x'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('remote-user')).toBe(aliceId);
  });

  it.skipIf(skip)('GET /api/v1/return-to: 200 {url} for an address under the cookie domain, 400 invalid_return otherwise', async () => {
    let r = await anon.get(`/api/v1/return-to?rd=${encodeURIComponent('https://app.example.com/x?y=1')}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ url: 'https://app.example.com/x?y=1' });
    for (const rd of ['https://evil.com/', '//evil.com', 'https:evil.com', '/\t/evil.com', 'https://app.example.com@evil.com/']) {
      r = await anon.get(`/api/v1/return-to?rd=${encodeURIComponent(rd)}`);
      expect(r.status, rd).toBe(400);
      expect(r.body).toMatchObject({ code: 'invalid_return' });
    }
    expect((await anon.get('/api/v1/return-to')).status).toBe(400);
    expect((await anon.get(`/api/v1/return-to?rd=${'a'.repeat(5000)}`)).body).toMatchObject({ code: 'validation_failed' });
  });

  it.skipIf(skip)('forwarded headers from an address outside MAMORI_TRUSTED_PROXIES are not believed: no target, 403', async () => {
    const other = await startServer({
      database: name,
      env: { MAMORI_CONFIG: path.join(dir, 'mamori.yaml'), MAMORI_PUBLIC_URL: PUBLIC, MAMORI_COOKIE_DOMAIN: 'example.com', MAMORI_TRUSTED_PROXIES: '10.0.0.0/8' },
    });
    try {
      const c = other.client();
      for (const headers of [forwarded('https://public.example.com/'), original('https://public.example.com/')]) {
        const r = await c.get('/api/v1/forward-auth', headers);
        expect(r.status).toBe(403);
        expect(r.body).toMatchObject({ detail: expect.stringMatching(/MAMORI_TRUSTED_PROXIES/) });
        expectIdentityHeaders(r);
      }
    } finally {
      await other.close();
    }
  });
});

describe('forward-auth rules are read at start', () => {
  it('a bad rule stops `mamori serve` before it listens, naming MAMORI_CONFIG (exit 2)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mamori-fa-bad-'));
    try {
      const file = path.join(dir, 'mamori.yaml');
      writeFileSync(file, 'forwardAuth:\n  rules:\n    - domain: app.example.com\n      resources: ["^/(admin"]\n      policy: deny\n');
      // The configuration itself loads (the section is forward-auth's to read) …
      expect(loadConfig({ MAMORI_CONFIG: file, MAMORI_DATA_DIR: dir }).file.forwardAuth).toBeDefined();
      // … and the server refuses it at start.
      const r = await runMamori(['serve'], { MAMORI_CONFIG: file, MAMORI_DATA_DIR: path.join(dir, 'data'), MAMORI_PORT: '0' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/MAMORI_CONFIG: .*mamori\.yaml: forwardAuth\.rules\[0\]: "\^\/\(admin" is not a valid regular expression/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
