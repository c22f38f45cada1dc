import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotp } from '../../src/methods/totp/otp.js';
import { databases } from '../helpers/db.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, budgetOf, unlockByEmail, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

describe('MFA enforcement (MAMORI_REQUIRE_MFA=true)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { MAMORI_REQUIRE_MFA: 'true' } });
    await createTestUser(server, 'nomfa@example.com');
  });
  afterAll(async () => server?.close());

  it('limits a user without MFA to enrollment until a device is assigned, then rotates the session', async () => {
    const c = server.client();
    await c.post('/api/v1/sign-in', { email: 'nomfa@example.com', password: STRONG_PASSWORD });
    const r = await c.post('/api/v1/sign-in/email-code', { code: await server.lastCode('nomfa@example.com') });
    expect(r.body).toMatchObject({ status: 'mfa_setup_required', session: { mfaSetupRequired: true, aal: 1 } });
    expect((await c.get('/api/v1/session')).status).toBe(200);
    expect((await c.get('/api/v1/me/sessions')).body).toMatchObject({ status: 403, code: 'mfa_setup_required' });
    const limited = c.cookies.get('mamori_session');
    const t = await c.post<{ id: string; secret: string }>('/api/v1/me/mfa-devices/totp', { name: 'Phone' });
    expect(t.status).toBe(201);
    const now = server.clock.now();
    expect((await c.post(`/api/v1/me/mfa-devices/${t.body.id}/activate`, { code1: appCode(t.body.secret, now), code2: appCode(t.body.secret, now, 1) })).status).toBe(200);
    expect(c.cookies.get('mamori_session')).not.toBe(limited);
    expect((await c.get('/api/v1/session')).body).toMatchObject({ aal: 2, mfaSetupRequired: false });
    expect((await c.get('/api/v1/me/sessions')).status).toBe(200);
    // The limited token died with the rotation.
    const old = server.client();
    old.cookies.set('mamori_session', limited!);
    expect((await old.get('/api/v1/session')).status).toBe(401);
  });
});

describe('timed MFA lock (MAMORI_MFA_LOCK_MINUTES=15) and the hard stop', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { MAMORI_MFA_LOCK_MINUTES: '15', MAMORI_IP_FAILURE_LIMIT: '0' } });
  });
  afterAll(async () => server?.close());

  it('lifts after 15 minutes with one more guess each time, and stops for good at 100', async () => {
    await createTestUser(server, 'slow@example.com');
    const c = await signIn(server, 'slow@example.com');
    const t = { body: await assignApp(server.clock, c) };
    const attempt = async (code: string) => {
      const x = server.client();
      await x.post('/api/v1/sign-in', { email: 'slow@example.com', password: STRONG_PASSWORD });
      return (await x.post('/api/v1/sign-in/mfa', { method: 'totp', code })).status;
    };
    for (let i = 0; i < 9; i++) expect(await attempt('000000')).toBe(401);
    expect(await attempt('000000')).toBe(423);
    server.clock.advance(10 * 60_000);
    expect(await attempt(appCode(t.body.secret, server.clock.now()))).toBe(423);
    server.clock.advance(6 * 60_000);
    // Lifted, but the count stays: one wrong guess locks again at once.
    expect(await attempt('000000')).toBe(423);
    server.clock.advance(16 * 60_000);
    expect(await attempt(appCode(t.body.secret, server.clock.now()))).toBe(200);
    // A success resets the count; now walk it to 100 through timed lifts.
    let last = 0;
    for (let i = 0; i < 100; i++) {
      last = await attempt('000000');
      if (last === 423) server.clock.advance(16 * 60_000);
    }
    const user = (await server.services.users.findByEmail('slow@example.com'))!;
    expect((await budgetOf(server, 'mfa', user.id))!.failures).toBeGreaterThanOrEqual(100);
    server.clock.advance(24 * 3_600_000);
    expect(await attempt(appCode(t.body.secret, server.clock.now()))).toBe(423);
    void last;
  });
});

describe.each(databases)('hardware HOTP tokens: look-ahead and resync ($name)', ({ name, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('accepts forward within 10, never backwards, and resyncs with two consecutive codes', async () => {
    const xml = readFileSync(new URL('../fixtures/pskc/rfc6030-figure6-aes128-psk.pskc', import.meta.url));
    const { importHardwareTokens } = await import('../../src/flows/hardware-tokens.js');
    await importHardwareTokens(server.services, xml, { psk: Buffer.from('12345678901234567890123456789012', 'hex') }, 'test', { ip: null, userAgent: null });
    await createTestUser(server, 'hw@example.com');
    const c = await signIn(server, 'hw@example.com');
    const code = (n: number) => hotp(Buffer.from('12345678901234567890'), BigInt(n), { algorithm: 'SHA1', digits: 8 });
    const assigned = await c.post<{ device: { id: string } }>('/api/v1/me/mfa-devices/hardware', { name: 'Token', serial: '987654321', code1: code(0), code2: code(1) });
    expect(assigned.status).toBe(201);
    const attempt = async (value: string) => {
      const x = server.client();
      await x.post('/api/v1/sign-in', { email: 'hw@example.com', password: STRONG_PASSWORD });
      return (await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: value })).status;
    };
    expect(await attempt(code(1))).toBe(401); // spent at assignment
    expect(await attempt(code(5))).toBe(200);
    expect(await attempt(code(3))).toBe(401); // behind the counter
    expect(await attempt(code(50))).toBe(401); // beyond the look-ahead
    const id = assigned.body.device.id;
    expect((await c.post(`/api/v1/me/mfa-devices/${id}/resync`, { code1: code(51), code2: code(50) })).status).toBe(400);
    expect((await c.post(`/api/v1/me/mfa-devices/${id}/resync`, { code1: code(50), code2: code(51) })).status).toBe(200);
    expect(await attempt(code(51))).toBe(401);
    expect(await attempt(code(52))).toBe(200);
  });
});

describe.each(databases)('two instances sharing one database ($name)', ({ name, skip }) => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    if (skip) return;
    a = await startServer({ database: name });
    b = await startServer({ shareWith: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it.skipIf(skip)('accepts a TOTP code once across instances and shares the failure budget', async () => {
    await createTestUser(a, 'twin@example.com');
    const c = await signIn(a, 'twin@example.com');
    const t = { body: await assignApp(a.clock, c) };
    a.clock.advance(60_000);
    const start = async (server: TestServer) => {
      const x = server.client();
      await x.post('/api/v1/sign-in', { email: 'twin@example.com', password: STRONG_PASSWORD });
      return x;
    };
    const clients = [];
    for (let i = 0; i < 20; i++) clients.push(await start(i % 2 ? b : a));
    const code = appCode(t.body.secret, a.clock.now());
    const answers = await Promise.all(clients.map((x) => x.post('/api/v1/sign-in/mfa', { method: 'totp', code })));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    await unlockByEmail(a, 'twin@example.com');
    // Wrong codes alternate between the instances; the tenth locks the account on both.
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const x = await start(i % 2 ? b : a);
      statuses.push((await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: '000000' })).status);
    }
    expect(statuses.at(-1)).toBe(423);
    a.clock.advance(30_000);
    const y = await start(b);
    expect((await y.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(t.body.secret, a.clock.now()) })).status).toBe(423);
  });
});

describe('binding a first MFA device needs a recent sign-in (NIST 800-63B 6.1.2.1)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it('refuses a session signed in more than 20 minutes ago, and accepts a fresh one', async () => {
    await createTestUser(server, 'late@example.com');
    const c = await signIn(server, 'late@example.com');
    for (let i = 0; i < 3; i++) {
      server.clock.advance(7 * 60_000);
      expect((await c.get('/api/v1/session')).status).toBe(200); // active, not idle
    }
    for (const path of ['/api/v1/me/mfa-devices/totp', '/api/v1/me/mfa-devices/webauthn-options']) {
      const r = await c.post(path, path.endsWith('totp') ? { name: 'Phone' } : {});
      expect(r.body, path).toMatchObject({ status: 403, code: 'reauthentication_required' });
    }
    const fresh = await signIn(server, 'late@example.com');
    await assignApp(server.clock, fresh);
  });
});
