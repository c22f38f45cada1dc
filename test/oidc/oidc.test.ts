import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, exportJWK, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { cliEnvFor, projectRoot, runMamori } from '../helpers/cli.js';
import { createClient } from '../../src/flows/oidc-clients.js';
import { databases } from '../helpers/db.js';
import { AFTER_LOGOUT, CALLBACK, exchange, follow, registerRp, signInWithApp, startAuthorization, type Rp } from '../helpers/oidc.js';
import { adminAtAal2, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import type { Client } from '../helpers/client.js';

/**
 * A real OpenID Connect client (openid-client) against the running server: discovery, the code
 * flow with PKCE, refresh and logout. On PostgreSQL two instances share the database and the
 * browser's requests alternate between them, as behind a load balancer.
 */
describe.each(databases.map((d) => ({ ...d, instances: d.name === 'postgres' ? 2 : 1 })))('OpenID Connect provider on $name ($instances instance(s))', ({ name, skip, instances }) => {
  let a: TestServer;
  let servers: TestServer[];
  let rp: Rp;
  let totpUser: { email: string; secret: string; id: string };

  beforeAll(async () => {
    if (skip) return;
    a = await startServer({ database: name });
    servers = [a];
    if (instances === 2) servers.push(await startServer({ shareWith: a, env: { MAMORI_PUBLIC_URL: a.config.publicUrl } }));
    rp = await registerRp(a);
    const made = await createTestUser(a, 'tomo@example.com');
    const c = await signIn(a, 'tomo@example.com');
    const app = await assignApp(a.clock, c);
    totpUser = { email: 'tomo@example.com', secret: app.secret, id: made.id };
    await createTestUser(a, 'nomfa@example.com');
  });
  afterAll(async () => {
    for (const s of [...(servers ?? [])].reverse()) await s.close();
  });

  /** A plain authorization from this browser: an ID token at aal1, by password alone. */
  const expectPasswordOnlyToken = async (browser: Client) => {
    const plain = await startAuthorization(rp);
    const claims = (await exchange(rp, plain, await follow(browser, plain.url, servers))).claims()!;
    expect(claims.acr).toBe('urn:mamori:aal1');
    expect(claims.amr).toEqual(['pwd']);
  };
  /** An authorization asking for aal2 from this browser: back at the client with unmet_authentication_requirements, no code. */
  const expectAal2Refused = async (browser: Client) => {
    const strict = await startAuthorization(rp, { acr_values: 'urn:mamori:aal2' });
    const landing = await follow(browser, strict.url, servers);
    expect(landing.kind).toBe('callback');
    if (landing.kind !== 'callback') return;
    expect(landing.url.searchParams.get('error')).toBe('unmet_authentication_requirements');
    expect(landing.url.searchParams.get('code')).toBeNull();
  };

  it.skipIf(skip)('discovery: the issuer is the public URL; levels and the sign-in claims are listed; PKCE S256 only', async () => {
    const meta = rp.config.serverMetadata();
    expect(meta.issuer).toBe(a.config.publicUrl);
    expect(meta.acr_values_supported).toEqual(['urn:mamori:aal1', 'urn:mamori:aal2', 'urn:mamori:phr']);
    expect(meta.claims_supported).toEqual(expect.arrayContaining(['sub', 'email', 'email_verified', 'name', 'amr', 'acr', 'auth_time', 'groups']));
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.end_session_endpoint).toBeDefined();
    expect(meta.revocation_endpoint).toBeDefined();
  });

  it.skipIf(skip)('a user with TOTP asked for urn:mamori:aal2 signs in with the second factor; the ID token says how', async () => {
    const browser = a.client();
    const started = await startAuthorization(rp, { acr_values: 'urn:mamori:aal2' });
    const toConsole = await follow(browser, started.url, servers);
    expect(toConsole).toMatchObject({ kind: 'console', route: '/sign-in' });
    if (toConsole.kind !== 'console') return;
    const rd = toConsole.params.get('rd')!;
    expect(rd).toMatch(/^\/oidc\/interaction\/[A-Za-z0-9_-]+$/);

    await signInWithApp(a, browser, totpUser.email, totpUser.secret);
    const tokens = await exchange(rp, started, await follow(browser, new URL(rd, a.config.publicUrl), servers.slice().reverse()));
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(totpUser.id);
    expect(claims.acr).toBe('urn:mamori:aal2');
    expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
    expect(typeof claims.auth_time).toBe('number');
    expect(claims.email).toBe(totpUser.email);
    expect(claims.email_verified).toBe(true);
    expect(claims.groups).toEqual(['user']);
    expect(tokens.refresh_token).toBeTruthy();

    // userinfo with the access token, on the other instance.
    const info = await oidc.fetchUserInfo(rp.config, tokens.access_token, totpUser.id);
    expect(info.email).toBe(totpUser.email);

    // Signed in at the level asked for: the next authorization goes straight back, no screen.
    const again = await startAuthorization(rp, { acr_values: 'urn:mamori:aal2' });
    const direct = await follow(browser, again.url, servers);
    expect(direct.kind).toBe('callback');
    expect((await exchange(rp, again, direct)).claims()!.acr).toBe('urn:mamori:aal2');
  });

  it.skipIf(skip)("the provider's session of an earlier aal2 sign-in gives no aal2 token once the browser signed in again at aal1", async () => {
    await createTestUser(a, 'drop@example.com');
    const browser = await signIn(a, 'drop@example.com');
    const app = await assignApp(a.clock, browser);
    await browser.post('/api/v1/sign-out');
    await signInWithApp(a, browser, 'drop@example.com', app.secret);
    const first = await startAuthorization(rp, { acr_values: 'urn:mamori:aal2' });
    expect((await exchange(rp, first, await follow(browser, first.url, servers))).claims()!.acr).toBe('urn:mamori:aal2');

    // The only device removed, then signed out and in again in the same browser: password and emailed code.
    expect((await browser.delete(`/api/v1/me/mfa-devices/${app.id}`)).status).toBe(204);
    expect((await browser.post('/api/v1/sign-out')).status).toBe(204);
    a.clock.advance(2_000);
    const r1 = await browser.post('/api/v1/sign-in', { email: 'drop@example.com', password: STRONG_PASSWORD });
    expect(r1.body).toMatchObject({ status: 'email_code_sent' });
    expect((await browser.post('/api/v1/sign-in/email-code', { code: await a.lastCode('drop@example.com') })).status).toBe(200);

    await expectAal2Refused(browser);
    // Without acr_values the token tells the level of the session as it is now.
    await expectPasswordOnlyToken(browser);
  });

  it.skipIf(skip)('acr_values is enforced: a password-only session asked for aal2 gets unmet_authentication_requirements, never an aal1 token', async () => {
    const browser = await signIn(a, 'nomfa@example.com');
    await expectPasswordOnlyToken(browser);
    await expectAal2Refused(browser);
  });

  it.skipIf(skip)("a client's minimum level holds even when the client asks for less (acr_values=urn:mamori:aal1)", async () => {
    const strictRp = await registerRp(a, { minAcr: 'urn:mamori:aal2' });
    const browser = await signIn(a, 'nomfa@example.com');
    for (const params of [{}, { acr_values: 'urn:mamori:aal1' }] as Array<Record<string, string>>) {
      const started = await startAuthorization(strictRp, params);
      const landing = await follow(browser, started.url, servers);
      expect(landing.kind === 'callback' && landing.url.searchParams.get('error')).toBe('unmet_authentication_requirements');
    }
    // The TOTP user reaches it, with aal2 in the token.
    const tb = a.client();
    await signInWithApp(a, tb, totpUser.email, totpUser.secret);
    const started = await startAuthorization(strictRp, { acr_values: 'urn:mamori:aal1' });
    expect((await exchange(strictRp, started, await follow(tb, started.url, servers))).claims()!.acr).toBe('urn:mamori:aal2');
  });

  it.skipIf(skip)('max_age=0 and prompt=login force a new sign-in, and auth_time moves', async () => {
    const browser = a.client();
    await signInWithApp(a, browser, totpUser.email, totpUser.secret);
    const first = await startAuthorization(rp);
    const firstClaims = (await exchange(rp, first, await follow(browser, first.url, servers))).claims()!;

    for (const params of [{ max_age: '0' }, { prompt: 'login' }] as Array<Record<string, string>>) {
      const started = await startAuthorization(rp, params);
      const landing = await follow(browser, started.url, servers);
      expect(landing).toMatchObject({ kind: 'console', route: '/sign-in' });
      if (landing.kind !== 'console') return;
      expect(landing.params.get('reauth')).toBe('1');
      // Coming back without signing in again does not help.
      const rd = new URL(landing.params.get('rd')!, a.config.publicUrl);
      expect(await follow(browser, rd, servers)).toMatchObject({ kind: 'console', route: '/sign-in' });

      // auth_time has whole seconds.
      await new Promise((r) => setTimeout(r, 1_100));
      await signInWithApp(a, browser, totpUser.email, totpUser.secret);
      const claims = (await exchange(rp, started, await follow(browser, rd, servers))).claims()!;
      expect(claims.auth_time).toBeGreaterThan(firstClaims.auth_time!);
    }
  });

  it.skipIf(skip)('refresh tokens rotate on use; a reused one revokes the grant', async () => {
    const browser = a.client();
    await signInWithApp(a, browser, totpUser.email, totpUser.secret);
    const started = await startAuthorization(rp);
    const tokens = await exchange(rp, started, await follow(browser, started.url, servers));
    const first = tokens.refresh_token!;
    const refreshed = await oidc.refreshTokenGrant(rp.config, first);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(first);
    expect(refreshed.claims()!.sub).toBe(totpUser.id);

    await expect(oidc.refreshTokenGrant(rp.config, first)).rejects.toMatchObject({ error: 'invalid_grant' });
    // The reuse looked like a stolen token: the rotated one is revoked with the whole grant.
    await expect(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it.skipIf(skip)("a disabled account, a device removed and a password change end the applications' refresh and access tokens", async () => {
    const admin = (await adminAtAal2(a, 'grants.admin@example.com')).client;
    const made = await createTestUser(a, 'grants@example.com');
    const first = await assignApp(a.clock, await signIn(a, 'grants@example.com'));
    const tokensFor = async () => {
      const browser = a.client();
      await signInWithApp(a, browser, 'grants@example.com', first.secret);
      const started = await startAuthorization(rp, { acr_values: 'urn:mamori:aal2' });
      const tokens = await exchange(rp, started, await follow(browser, started.url, servers));
      // Usable before the change: the refresh answers, and userinfo takes the access token.
      const kept = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
      expect((await oidc.fetchUserInfo(rp.config, kept.access_token, made.id)).sub).toBe(made.id);
      return { browser, tokens: kept };
    };
    const expectEnded = async (tokens: Awaited<ReturnType<typeof tokensFor>>['tokens'], after: string) => {
      await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), after).rejects.toMatchObject({ error: 'invalid_grant' });
      await expect(oidc.fetchUserInfo(rp.config, tokens.access_token, made.id), after).rejects.toThrow();
    };

    // Disabled, then enabled again: the old grant does not come back with the account.
    let { browser, tokens } = await tokensFor();
    expect((await admin.patch(`/api/v1/admin/users/${made.id}`, { disabled: true })).status).toBe(200);
    expect((await admin.patch(`/api/v1/admin/users/${made.id}`, { disabled: false })).status).toBe(200);
    await expectEnded(tokens, 'disabled and enabled');

    // A device removed (a second one, so the account keeps its level): the tokens of the old devices end.
    ({ browser, tokens } = await tokensFor());
    const second = await assignApp(a.clock, browser, 'Tablet');
    ({ browser, tokens } = await tokensFor());
    expect((await browser.delete(`/api/v1/me/mfa-devices/${second.id}`)).status).toBe(204);
    await expectEnded(tokens, 'device removed');

    // The password changed, from the very browser the application signed in through.
    ({ browser, tokens } = await tokensFor());
    expect((await browser.put('/api/v1/me/password', { currentPassword: STRONG_PASSWORD, newPassword: `${STRONG_PASSWORD} anew` })).status).toBe(204);
    await expectEnded(tokens, 'password changed');
    // The browser's own Mamori session stayed: the application signs in again through it, without a screen.
    const again = await startAuthorization(rp);
    expect((await exchange(rp, again, await follow(browser, again.url, servers))).claims()!.sub).toBe(made.id);
  });

  it.skipIf(skip)('DPoP: tokens bound to the client key; a server nonce from one instance is good at the other; a bare, replayed or malformed proof is refused', async () => {
    const browser = a.client();
    await signInWithApp(a, browser, totpUser.email, totpUser.secret);
    const started = await startAuthorization(rp);
    const landing = await follow(browser, started.url, servers);
    if (landing.kind !== 'callback') throw new Error('no callback');
    const keys = await oidc.randomDPoPKeyPair();
    const dpop = oidc.getDPoPHandle(rp.config, keys);
    const tokens = await oidc.authorizationCodeGrant(rp.config, landing.url, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce }, undefined, { DPoP: dpop });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!, undefined, { DPoP: dpop });
    expect(refreshed.token_type.toLowerCase()).toBe('dpop');

    // A nonce the first instance handed out is good at the last one: the nonce secret is shared.
    const last = servers.at(-1)!;
    const proof = async (url: string, nonce?: string) => {
      const publicJwk = await exportJWK(keys.publicKey);
      const ath = createHash('sha256').update(refreshed.access_token).digest('base64url');
      return new SignJWT({ htm: 'GET', htu: url, ath, jti: randomUUID(), ...(nonce ? { nonce } : {}) })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk })
        .setIssuedAt()
        .sign(keys.privateKey);
    };
    // The proof names the public URL: every instance sees its requests under that name.
    const htu = `${a.config.publicUrl}/oidc/me`;
    const first = await fetch(`${a.url}/oidc/me`, { headers: { authorization: `DPoP ${refreshed.access_token}`, dpop: await proof(htu) } });
    expect(first.status).toBe(401);
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toBeTruthy();
    const atLast = await fetch(`${last.url}/oidc/me`, { headers: { authorization: `DPoP ${refreshed.access_token}`, dpop: await proof(htu, nonce!) } });
    expect(atLast.status, await atLast.clone().text()).toBe(200);
    expect(((await atLast.json()) as { sub: string }).sub).toBe(totpUser.id);
    // The same proof again is a replay (the replay record is in the shared store).
    const replayed = await proof(htu, nonce!);
    expect((await fetch(`${a.url}/oidc/me`, { headers: { authorization: `DPoP ${refreshed.access_token}`, dpop: replayed } })).status).toBe(200);
    expect((await fetch(`${a.url}/oidc/me`, { headers: { authorization: `DPoP ${refreshed.access_token}`, dpop: replayed } })).status).toBe(401);
    // Without the proof the bound token is refused.
    const bare = await fetch(`${servers.at(-1)!.url}/oidc/me`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
    expect(bare.status).toBe(401);
    // A proof without a server nonce is refused with a fresh nonce to use.
    const noNonce = await fetch(`${a.url}/oidc/me`, { headers: { authorization: `DPoP ${refreshed.access_token}`, dpop: 'eyJhbGciOiJFUzI1NiJ9.e30.x' } });
    expect(noNonce.status).toBe(401);
    expect(noNonce.headers.get('www-authenticate')).toMatch(/^DPoP /);
  });

  it.skipIf(skip)('PKCE is required of every client, confidential ones too', async () => {
    const url = oidc.buildAuthorizationUrl(rp.config, { redirect_uri: CALLBACK, scope: 'openid', state: 's' });
    const landing = await follow(a.client(), url, servers);
    expect(landing.kind === 'callback' && landing.url.searchParams.get('error')).toBe('invalid_request');
  });

  it.skipIf(skip)('RP-initiated logout ends the Mamori session too', async () => {
    const browser = a.client();
    await signInWithApp(a, browser, totpUser.email, totpUser.secret);
    const started = await startAuthorization(rp);
    const tokens = await exchange(rp, started, await follow(browser, started.url, servers));
    expect((await browser.get('/api/v1/session')).status).toBe(200);

    const end = oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: AFTER_LOGOUT, state: 'bye' });
    const confirm = await browser.get(end.pathname + end.search);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Sign out of Mamori?');
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(confirm.text);
    expect(form).not.toBeNull();
    const fields = new URLSearchParams([...form![2]!.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    fields.set('logout', 'yes');
    const done = await browser.request('POST', new URL(form![1]!, a.config.publicUrl).pathname, fields.toString(), { 'content-type': 'application/x-www-form-urlencoded' }, servers.at(-1)!.url);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:65501\/bye/);
    const after = await browser.get('/api/v1/session');
    expect(after.status).toBe(401);
    // And the provider's own session is gone: the next authorization asks for a sign-in.
    const next = await startAuthorization(rp);
    expect(await follow(browser, next.url, servers)).toMatchObject({ kind: 'console', route: '/sign-in' });
  });

  it.skipIf(skip)('signing out of Mamori also ends what the provider remembers', async () => {
    const browser = a.client();
    await signInWithApp(a, browser, totpUser.email, totpUser.secret);
    const started = await startAuthorization(rp);
    await exchange(rp, started, await follow(browser, started.url, servers));
    expect((await browser.post('/api/v1/sign-out')).status).toBe(204);
    const next = await startAuthorization(rp);
    expect(await follow(browser, next.url, servers)).toMatchObject({ kind: 'console', route: '/sign-in' });
  });

  it.skipIf(skip)('a client limited to a group refuses others with access_denied', async () => {
    const opsRp = await registerRp(a, { allowedGroups: ['ops'] });
    const browser = await signIn(a, 'nomfa@example.com');
    const started = await startAuthorization(opsRp);
    const landing = await follow(browser, started.url, servers);
    expect(landing.kind === 'callback' && landing.url.searchParams.get('error')).toBe('access_denied');
    const user = (await a.services.users.findByEmail('nomfa@example.com'))!;
    await a.services.groups.set(user.id, ['ops'], a.clock.now());
    const again = await startAuthorization(opsRp);
    const claims = (await exchange(opsRp, again, await follow(browser, again.url, servers))).claims()!;
    expect(claims.groups).toEqual(['user', 'ops']);
  });

  it.skipIf(skip)('a third-party client asks for consent; declining returns access_denied', async () => {
    const other = await registerRp(a, { thirdParty: true, name: 'Other company' });
    const browser = await signIn(a, 'nomfa@example.com');
    for (const approve of [false, true]) {
      const started = await startAuthorization(other);
      const landing = await follow(browser, started.url, servers);
      expect(landing).toMatchObject({ kind: 'console', route: '/consent' });
      if (landing.kind !== 'console') return;
      const uid = landing.params.get('uid')!;
      const details = await browser.get<{ client: { name: string }; scopes: string[] }>(`/oidc/interaction/${uid}/details`);
      expect(details.body.client.name).toBe('Other company');
      expect(details.body.scopes).toContain('email');
      // Another browser (no session, or someone else's) cannot answer for this user.
      expect((await a.client().post(`/oidc/interaction/${uid}/consent`, { approve: true })).status).toBeGreaterThanOrEqual(400);
      const answer = await browser.post<{ redirectTo: string }>(`/oidc/interaction/${uid}/consent`, { approve });
      expect(answer.status, answer.text).toBe(200);
      const back = await follow(browser, new URL(answer.body.redirectTo, a.config.publicUrl), servers);
      if (approve) expect((await exchange(other, started, back)).claims()!.sub).toBeTruthy();
      else expect(back.kind === 'callback' && back.url.searchParams.get('error')).toBe('access_denied');
    }
  });

  it.skipIf(skip)('the JWKS still verifies tokens signed before `mamori keys rotate`; the new key signs after its publish time', async () => {
    const browser = a.client();
    await signInWithApp(a, browser, totpUser.email, totpUser.secret);
    const before = await startAuthorization(rp);
    const oldToken = (await exchange(rp, before, await follow(browser, before.url, servers))).id_token!;
    const oldKid = decodeProtectedHeader(oldToken).kid;

    const r = await runMamori(['keys', 'rotate', '--sign-after', '0'], { ...cliEnvFor(a), ...(a.config.databaseUrl ? { MAMORI_DATABASE_URL: a.config.databaseUrl } : {}) });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/new signing key \S+ is published now/);
    a.clock.advance(6_000); // past the instances' key refresh interval

    for (const s of servers) {
      const jwks = await (await fetch(`${s.url}/oidc/jwks`)).json() as { keys: Array<{ kid: string; d?: string }> };
      expect(jwks.keys.length).toBe(2);
      expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
      expect(jwks.keys.map((k) => k.kid)).toContain(oldKid);
      const { payload } = await jwtVerify(oldToken, createRemoteJWKSet(new URL(`${s.url}/oidc/jwks`)), { issuer: a.config.publicUrl, audience: rp.clientId, currentDate: new Date(a.clock.now()) });
      expect(payload.sub).toBe(totpUser.id);
    }
    const after = await startAuthorization(rp);
    const newToken = (await exchange(rp, after, await follow(browser, after.url, servers))).id_token!;
    expect(decodeProtectedHeader(newToken).kid).not.toBe(oldKid);
    await jwtVerify(newToken, createLocalJWKSet(a.services.signingKeys.jwks()), { currentDate: new Date(a.clock.now()) });
  });

  it.skipIf(skip)('bad requests get a 4xx page or error redirect, never a 5xx', async () => {
    const c = a.client();
    const probes = [
      '/oidc/auth',
      '/oidc/auth?client_id=nope&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A65501%2Fcb&scope=openid',
      `/oidc/auth?client_id=${rp.clientId}&response_type=token&redirect_uri=http%3A%2F%2Fevil.example%2F&scope=openid`,
      `/oidc/auth?client_id=${rp.clientId}&response_type=code&redirect_uri=${encodeURIComponent(CALLBACK)}&scope=openid&code_challenge=x&code_challenge_method=plain`,
      '/oidc/interaction/doesnotexist',
      '/oidc/interaction/%00',
      '/oidc/interaction/x/details',
      '/oidc/jwks?x=%ff',
      '/oidc/session/end?id_token_hint=garbage',
    ];
    for (const p of probes) {
      const r = await c.get(p);
      expect(r.status, p).toBeLessThan(500);
      if (r.headers.get('location')) expect(r.headers.get('location')!, p).not.toMatch(/evil\.example/);
    }
    // The page an expired sign-in request gets is a document: the console's policy, and a stylesheet that exists.
    const expired = await c.get('/oidc/interaction/doesnotexist');
    expect(expired.status).toBe(400);
    expect(expired.headers.get('content-type')).toMatch(/^text\/html/);
    expect(expired.headers.get('content-security-policy')).toContain("style-src 'self'");
    const stylesheet = /<link rel="stylesheet" href="([^"]+)"/.exec(expired.text)?.[1];
    expect(stylesheet).toBeDefined();
    const css = await c.get(stylesheet!);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    for (const body of ['', 'grant_type=authorization_code&code=x', 'grant_type=refresh_token&refresh_token=x', '%%%', 'a'.repeat(70_000)]) {
      const r = await fetch(`${a.url}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${rp.clientId}:${rp.clientSecret}`).toString('base64')}` }, body });
      expect(r.status, body.slice(0, 20)).toBeLessThan(500);
    }
    const wrongSecret = await fetch(`${a.url}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${rp.clientId}:wrong`).toString('base64')}` }, body: 'grant_type=refresh_token&refresh_token=x' });
    expect(wrongSecret.status).toBe(401);
  });
});

/** The admin API and the command line manage clients; non-admins cannot. */
describe('OpenID Connect clients: CLI and admin API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it('mamori client create/list/delete, with usage errors as exit 2', async () => {
    const env = cliEnvFor(server);
    const made = await runMamori(['client', 'create', '--name', 'Grafana', '--redirect-uri', 'https://grafana.example.com/login/generic_oauth', '--min-acr', 'urn:mamori:aal2', '--json'], env);
    expect(made.status, made.stderr).toBe(0);
    const out = JSON.parse(made.stdout) as { clientId: string; clientSecret: string };
    expect(out.clientSecret.length).toBeGreaterThanOrEqual(43);
    const pub = JSON.parse((await runMamori(['client', 'create', '--name', 'SPA', '--redirect-uri', 'http://localhost:5173/cb', '--public', '--json'], env)).stdout) as { clientId: string; clientSecret?: string };
    expect(pub.clientSecret).toBeUndefined();

    const list = JSON.parse((await runMamori(['client', 'list', '--json'], env)).stdout) as { clients: Array<{ clientId: string; minAcr: string | null; public: boolean }> };
    expect(list.clients.map((c) => c.clientId)).toEqual([out.clientId, pub.clientId]);
    expect(list.clients[0]).toMatchObject({ minAcr: 'urn:mamori:aal2', public: false });
    expect(JSON.stringify(list)).not.toContain(out.clientSecret);
    // The secret is sealed at rest, not stored in the clear.
    const row = await server.services.oidcClients.find(out.clientId);
    expect(JSON.stringify(row)).not.toContain(out.clientSecret);

    expect((await runMamori(['client', 'create', '--name', 'X', '--redirect-uri', 'ftp://app.example.com/cb'], env)).status).toBe(1);
    expect((await runMamori(['client', 'create', '--name', 'X', '--redirect-uri', 'https://app.example.com/cb#frag'], env)).status).toBe(1);
    expect((await runMamori(['client', 'create', '--name', 'X'], env)).status).toBe(2);
    expect((await runMamori(['client', 'create', '--name', 'X', '--redirect-uri', 'https://a.example/cb', '--min-acr', 'gold'], env)).status).toBe(2);
    expect((await runMamori(['client', 'delete', '--client', out.clientId], env)).status).toBe(0);
    const gone = await runMamori(['client', 'delete', '--client', out.clientId], env);
    expect(gone.status).toBe(1);
    const events = await server.services.store.db.selectFrom('audit_events').select('type').where('type', 'like', 'oidc_client_%').execute();
    expect(events.map((e) => e.type)).toEqual(['oidc_client_created', 'oidc_client_created', 'oidc_client_deleted']);
  });

  it('POST/GET/DELETE /api/v1/admin/oidc-clients need an administrator at aal 2', async () => {
    const admin = (await adminAtAal2(server, 'root@example.com')).client;
    const body = { name: 'Wiki', redirectUris: ['https://wiki.example.com/cb'], minAcr: 'urn:mamori:phr' };
    const made = await admin.post<{ clientId: string; clientSecret: string; client: { minAcr: string } }>('/api/v1/admin/oidc-clients', body);
    expect(made.status, made.text).toBe(201);
    expect(made.body.client.minAcr).toBe('urn:mamori:phr');
    expect(made.body.clientSecret).toBeTruthy();
    const listed = await admin.get<{ clients: Array<{ clientId: string }> }>('/api/v1/admin/oidc-clients');
    expect(listed.body.clients.map((c) => c.clientId)).toContain(made.body.clientId);
    expect(listed.text).not.toContain(made.body.clientSecret);
    for (const bad of [{ ...body, extra: 1 }, { ...body, redirectUris: [] }, { ...body, minAcr: 'urn:mamori:aal3' }, { ...body, redirectUris: ['javascript:alert(1)'] }]) {
      expect((await admin.post('/api/v1/admin/oidc-clients', bad)).status).toBe(400);
    }
    await createTestUser(server, 'plain@example.com');
    const plain: Client = await signIn(server, 'plain@example.com');
    expect((await plain.get('/api/v1/admin/oidc-clients')).status).toBe(403);
    expect((await plain.post('/api/v1/admin/oidc-clients', body)).status).toBe(403);
    expect((await admin.delete(`/api/v1/admin/oidc-clients/${made.body.clientId}`)).status).toBe(204);
    expect((await admin.delete(`/api/v1/admin/oidc-clients/${made.body.clientId}`)).status).toBe(404);
  });
});

/** The 30-line example in docs/examples/oidc-app.mjs, run as it is documented. */
describe('docs/examples/oidc-app.mjs', () => {
  let server: TestServer;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    child?.kill();
    await server?.close();
  });

  it('signs a TOTP user in at urn:mamori:aal2 and greets them', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const { client, clientSecret } = await createClient(server.services, { name: 'Demo', redirectUris: [`http://localhost:${port}/cb`], minAcr: 'urn:mamori:aal2' }, 'test');
    child = spawn(process.execPath, ['docs/examples/oidc-app.mjs'], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', MAMORI: server.config.publicUrl, CLIENT_ID: client.clientId, CLIENT_SECRET: clientSecret!, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await createTestUser(server, 'demo@example.com');
    const setup = await signIn(server, 'demo@example.com');
    const phone = await assignApp(server.clock, setup);
    const browser = server.client();
    await signInWithApp(server, browser, 'demo@example.com', phone.secret);
    let start: Response | undefined;
    for (let i = 0; i < 50 && !start; i++) start = await fetch(`http://localhost:${port}/`, { redirect: 'manual' }).catch(() => new Promise<undefined>((r) => setTimeout(r, 100)));
    const back = await follow(browser, start!.headers.get('location')!, [server]);
    expect(back.kind).toBe('callback');
    if (back.kind !== 'callback') return;
    const page = await fetch(back.url);
    expect(await page.text()).toMatch(/^Hello demo@example\.com: urn:mamori:aal2 \(.*otp.*\)/);
  });
});

/** Forwarded headers reach the library only from MAMORI_TRUSTED_PROXIES. */
describe('OpenID Connect behind proxies', () => {
  it('endpoints always name the public URL: neither Host nor X-Forwarded-Host (trusted or not) moves them', async () => {
    for (const trusted of ['10.0.0.0/8', '127.0.0.1/32']) {
      const server = await startServer({ env: { MAMORI_TRUSTED_PROXIES: trusted } });
      try {
        for (const headers of [{ 'x-forwarded-host': 'evil.example' }, { host: 'evil.example' }, {}] as Array<Record<string, string>>) {
          const r = await fetch(`${server.url}/.well-known/openid-configuration`, { headers });
          expect(r.status).toBe(200);
          const meta = (await r.json()) as Record<string, unknown>;
          expect(meta.issuer).toBe(server.config.publicUrl);
          for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'end_session_endpoint']) {
            expect(String(meta[key]).startsWith(`${server.config.publicUrl}/oidc/`), `${key} ${String(meta[key])}`).toBe(true);
          }
        }
      } finally {
        await server.close();
      }
    }
  });

  it('an https service reached over plain HTTP says so (400), instead of a server error', async () => {
    const server = await startServer({ env: { MAMORI_PUBLIC_URL: 'https://auth.example.test' } });
    try {
      const { client } = await createClient(server.services, { name: 'Behind TLS', redirectUris: ['https://app.example.test/cb'] }, 'test');
      const query = new URLSearchParams({
        client_id: client.clientId,
        redirect_uri: 'https://app.example.test/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'),
        code_challenge_method: 'S256',
        state: 's',
      });
      const plain = await fetch(`${server.url}/oidc/auth?${query}`, { redirect: 'manual' });
      expect(plain.status).toBe(400);
      expect(await plain.text()).toContain('over plain HTTP');
      // Through a TLS proxy the service trusts (127.0.0.1 by default), the same request goes on to sign in.
      const proxied = await fetch(`${server.url}/oidc/auth?${query}`, { redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
      expect(proxied.status).toBe(303);
      expect(proxied.headers.get('location')).toMatch(/^\/oidc\/interaction\//);
    } finally {
      await server.close();
    }
  });
});
