/**
 * The emailed sign-in code's deadline and its resend (POST /api/v1/sign-in/email-code/resend),
 * and the MFA step's `preferred` method (the device used last), over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMAIL_CODE_TTL_MS } from '../../src/methods/email-code/index.js';
import { EMAIL_CODES_PER_HOUR } from '../../src/regulation/rules.js';
import { SIGN_IN_TTL_MS } from '../../src/flows/sign-in.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

describe('the emailed sign-in code: deadline and resend', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  const codesTo = async (email: string) => (await server.outbox()).filter((m) => m.to === email && m.kind === 'email_code').length;
  const events = async (type: string, userId: string) =>
    server.services.store.db.selectFrom('audit_events').selectAll().where('type', '=', type).where('user_id', '=', userId).execute();

  it('answers when the code stops working: the pending sign-in ends before the code does', async () => {
    await createTestUser(server, 'deadline@example.com');
    const before = server.clock.now();
    const r = await server.client().post<{ status: string; expiresAt: string; expiresIn: number }>('/api/v1/sign-in', { email: 'deadline@example.com', password: STRONG_PASSWORD });
    expect(r.status, r.text).toBe(200);
    expect(r.body.status).toBe('email_code_sent');
    const at = Date.parse(r.body.expiresAt);
    expect(SIGN_IN_TTL_MS).toBeLessThan(EMAIL_CODE_TTL_MS);
    expect(at).toBeGreaterThanOrEqual(before + SIGN_IN_TTL_MS);
    expect(at).toBeLessThanOrEqual(server.clock.now() + SIGN_IN_TTL_MS);
    // The same in seconds from now, for a browser whose clock is off (here the server's runs ahead).
    server.clock.advance(3_600_000);
    const ahead = await server.client().post<{ expiresAt: string; expiresIn: number }>('/api/v1/sign-in', { email: 'deadline@example.com', password: STRONG_PASSWORD });
    expect(ahead.body.expiresIn).toBeGreaterThan(SIGN_IN_TTL_MS / 1000 - 5);
    expect(ahead.body.expiresIn).toBeLessThanOrEqual(SIGN_IN_TTL_MS / 1000);
    expect(Date.parse(ahead.body.expiresAt) - Date.now()).toBeGreaterThan(3_600_000);
  });

  it('mails a new code in the same sign-in; the old code is void and the deadline stays', async () => {
    const email = 'resend@example.com';
    const user = await createTestUser(server, email);
    const c = server.client();
    const first = await c.post<{ expiresAt: string; expiresIn: number }>('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
    const oldCode = await server.lastCode(email);
    const cookie = c.cookies.get('mamori_signin');
    // The mail says how long the code works: until the sign-in ends (5 minutes), not the code's own 10.
    const mailed = async () => (await server.outbox()).filter((m) => m.to === email && m.kind === 'email_code').at(-1)!.text;
    expect(await mailed()).toContain(`expires in ${SIGN_IN_TTL_MS / 60_000} minutes`);
    server.clock.advance(60_000);

    const again = await c.post<{ status: string; expiresAt: string; expiresIn: number; recovery?: boolean }>('/api/v1/sign-in/email-code/resend', {});
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual({ status: 'email_code_sent', expiresAt: first.body.expiresAt, expiresIn: expect.any(Number) });
    expect(first.body.expiresIn - again.body.expiresIn).toBeGreaterThanOrEqual(59);
    expect(first.body.expiresIn - again.body.expiresIn).toBeLessThanOrEqual(61);
    expect(c.cookies.get('mamori_signin')).toBe(cookie);
    expect(await codesTo(email)).toBe(2);
    // A minute later, what is left of the sign-in, in whole minutes rounded down (never more than there is).
    expect(await mailed()).toContain(`expires in ${SIGN_IN_TTL_MS / 60_000 - 1} minutes`);
    const newCode = await server.lastCode(email);
    const sent = await events('email_code_sent', user.id);
    expect(sent.map((e) => JSON.parse(e.detail) as { resent?: boolean }).map((d) => d.resent === true)).toEqual([false, true]);

    if (newCode !== oldCode) {
      const refused = await c.post('/api/v1/sign-in/email-code', { code: oldCode });
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ code: 'invalid_code' });
    }
    const done = await c.post<{ status: string }>('/api/v1/sign-in/email-code', { code: newCode });
    expect(done.status, done.text).toBe(200);
    expect(done.body.status).toBe('signed_in');

    // The sign-in is complete: nothing is waiting for a code any more.
    const late = await c.post('/api/v1/sign-in/email-code/resend', {});
    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ code: 'invalid_code' });
    expect(await codesTo(email)).toBe(2);
  });

  it('refuses without a pending sign-in, and once the sign-in has run out', async () => {
    const none = await server.client().post('/api/v1/sign-in/email-code/resend', {});
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 'invalid_code' });

    const email = 'expired@example.com';
    await createTestUser(server, email);
    const c = server.client();
    await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
    server.clock.advance(SIGN_IN_TTL_MS + 1000);
    const r = await c.post('/api/v1/sign-in/email-code/resend', {});
    expect(r.status).toBe(401);
    expect(await codesTo(email)).toBe(1);
  });

  it('counts resends against the hourly budget of sign-in mails', async () => {
    const email = 'many@example.com';
    const user = await createTestUser(server, email);
    const c = server.client();
    expect((await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).status).toBe(200);
    for (let i = 1; i < EMAIL_CODES_PER_HOUR; i++) expect((await c.post('/api/v1/sign-in/email-code/resend', {})).status).toBe(200);
    const refused = await c.post('/api/v1/sign-in/email-code/resend', {});
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'too_many_attempts' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await codesTo(email)).toBe(EMAIL_CODES_PER_HOUR);
    expect(await events('email_code_refused', user.id)).toHaveLength(1);
    // The last code mailed still works.
    const done = await c.post('/api/v1/sign-in/email-code', { code: await server.lastCode(email) });
    expect(done.status, done.text).toBe(200);
  });

  it('sends nothing once the account has an MFA device (the emailed code no longer suffices)', async () => {
    const email = 'enrolled-meanwhile@example.com';
    await createTestUser(server, email);
    const c = server.client();
    await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
    await assignApp(server.clock, await signIn(server, email));
    const before = await codesTo(email);
    const r = await c.post('/api/v1/sign-in/email-code/resend', {});
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'invalid_code' });
    expect(await codesTo(email)).toBe(before);
  });
});

describe('the MFA step names the method used last', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it('opens with the factor of the device used most recently', async () => {
    const email = 'preferred@example.com';
    const user = await createTestUser(server, email);
    const app = await assignApp(server.clock, await signIn(server, email));
    const step = async () => (await server.client().post<{ status: string; methods: string[]; preferred?: string }>('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body;
    expect(await step()).toEqual({ status: 'mfa_required', methods: ['totp', 'recovery_code'], preferred: 'totp' });

    // A passkey used after the app (its row as the WebAuthn factor keeps it; only the times matter here).
    const later = server.clock.now() + 60_000;
    await server.services.devices.insert({
      id: 'dev-passkey-preferred',
      user_id: user.id,
      type: 'webauthn',
      name: 'Laptop',
      status: 'active',
      created_at: later,
      activated_at: later,
      last_used_at: later,
      secret_sealed: null,
      secret_key_id: null,
      counter: 0,
      lookup_key: 'preferred-test-credential',
      config: '{}',
    });
    expect(await step()).toMatchObject({ methods: ['webauthn', 'totp', 'recovery_code'], preferred: 'webauthn' });

    // Signing in with the app makes it the last used again.
    server.clock.advance(120_000);
    const c = server.client();
    await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
    const done = await c.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(app.secret, server.clock.now()) });
    expect(done.status, done.text).toBe(200);
    expect((await step()).preferred).toBe('totp');
  });
});
