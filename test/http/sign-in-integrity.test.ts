import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMAIL_CODES_PER_HOUR, EMAIL_CODE_WRONG_PER_HOUR } from '../../src/regulation/rules.js';
import type { Client } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const NEW_PASSWORD = 'a completely different pass phrase';

/** Password step only: the client holds a half-finished sign-in. */
async function startSignIn(server: TestServer, email: string, password = STRONG_PASSWORD): Promise<{ c: Client; status: string }> {
  const c = server.client();
  const r = await c.post<{ status: string }>('/api/v1/sign-in', { email, password });
  expect(r.status, r.text).toBe(200);
  return { c, status: r.body.status };
}

async function auditTypes(server: TestServer, email: string): Promise<string[]> {
  const user = (await server.services.users.findByEmail(email))!;
  const rows = await server.services.store.db.selectFrom('audit_events').select('type').where('user_id', '=', user.id).orderBy('id').execute();
  return rows.map((r) => r.type);
}

describe.each(databases)('sign-in integrity ($name)', ({ name, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name, env: { MAMORI_IP_FAILURE_LIMIT: '0' } });
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('a sign-in opened before the user assigned an MFA device cannot finish with the emailed code', async () => {
    await createTestUser(server, 'late@example.com');
    const owner = await signIn(server, 'late@example.com');
    // The attacker knows the password and reads the mailbox; the sign-in waits for the emailed code.
    const { c: attacker, status } = await startSignIn(server, 'late@example.com');
    expect(status).toBe('email_code_sent');
    const code = await server.lastCode('late@example.com');
    const app = await assignApp(server.clock, owner);
    const refused = await attacker.post('/api/v1/sign-in/email-code', { code });
    expect(refused.status, refused.text).toBe(401);
    expect(refused.body).toMatchObject({ code: 'invalid_code' });
    expect(attacker.cookies.get('mamori_session')).toBeUndefined();
    // The owner's aal-2 session is untouched, and a new sign-in asks for the device.
    expect((await owner.get('/api/v1/session')).body).toMatchObject({ aal: 2 });
    const again = await startSignIn(server, 'late@example.com');
    expect(again.status).toBe('mfa_required');
    server.clock.advance(60_000);
    expect((await again.c.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(app.secret, server.clock.now()) })).status).toBe(200);
  });

  it.skipIf(skip)('assigning or removing a device ends every half-finished sign-in, in the same transaction as its audit event', async () => {
    await createTestUser(server, 'ends@example.com');
    const owner = await signIn(server, 'ends@example.com');
    const pending = await startSignIn(server, 'ends@example.com');
    const app = await assignApp(server.clock, owner);
    const user = (await server.services.users.findByEmail('ends@example.com'))!;
    const open = () =>
      server.services.store.db
        .selectFrom('sign_in_transactions')
        .select('id')
        .where('user_id', '=', user.id)
        .where('completed_at', 'is', null)
        .where('expires_at', '>', server.clock.now())
        .execute();
    expect(await open()).toHaveLength(0);
    void pending;
    const assigned = await server.services.store.db.selectFrom('audit_events').select('detail').where('user_id', '=', user.id).where('type', '=', 'mfa_device_assigned').executeTakeFirstOrThrow();
    expect(JSON.parse(assigned.detail)).toMatchObject({ pendingSignInsEnded: 1 });

    // Half-finished at the second factor, then the device goes: the sign-in cannot finish.
    server.clock.advance(60_000);
    const mfa = await startSignIn(server, 'ends@example.com');
    expect(mfa.status).toBe('mfa_required');
    const step = await owner.post('/api/v1/me/step-up', { method: 'totp', code: appCode(app.secret, server.clock.now()) });
    expect(step.status, step.text).toBe(200);
    expect((await owner.delete(`/api/v1/me/mfa-devices/${app.id}`)).status).toBe(204);
    expect(await open()).toHaveLength(0);
    server.clock.advance(30_000);
    const late = await mfa.c.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(app.secret, server.clock.now()) });
    expect(late.status).toBe(401);
  });

  it.skipIf(skip)('a user without MFA signs in 12 times in an hour; codes sent and never used, and wrong codes, are what the hourly budgets count', async () => {
    await createTestUser(server, 'often@example.com');
    for (let i = 0; i < 12; i++) {
      const c = await signIn(server, 'often@example.com');
      expect((await c.get('/api/v1/session')).status).toBe(200);
      server.clock.advance(60_000);
    }
    // Codes mailed and left unused: the budget allows EMAIL_CODES_PER_HOUR of them an hour.
    await createTestUser(server, 'unused@example.com');
    for (let i = 0; i < EMAIL_CODES_PER_HOUR; i++) expect((await startSignIn(server, 'unused@example.com')).status).toBe('email_code_sent');
    const capped = await server.client().post('/api/v1/sign-in', { email: 'unused@example.com', password: STRONG_PASSWORD });
    expect(capped.status).toBe(429);
    expect(capped.body).toMatchObject({ code: 'too_many_attempts' });
    server.clock.advance(3_600_000 + 1000);
    expect((await startSignIn(server, 'unused@example.com')).status).toBe('email_code_sent');

    // Wrong codes: EMAIL_CODE_WRONG_PER_HOUR an hour across sign-ins, then even the right code waits.
    await createTestUser(server, 'typo@example.com');
    let wrong = 0;
    while (wrong < EMAIL_CODE_WRONG_PER_HOUR) {
      const { c } = await startSignIn(server, 'typo@example.com');
      for (let i = 0; i < 5 && wrong < EMAIL_CODE_WRONG_PER_HOUR; i++, wrong++) {
        expect((await c.post('/api/v1/sign-in/email-code', { code: '000000' })).status).toBe(401);
      }
    }
    const last = await startSignIn(server, 'typo@example.com');
    const right = await last.c.post('/api/v1/sign-in/email-code', { code: await server.lastCode('typo@example.com') });
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it.skipIf(skip)('a forced password change (admin API): sessions end, the next sign-in allows only a new password', async () => {
    await createTestUser(server, 'boss@example.com', { role: 'admin' });
    const admin = await signIn(server, 'boss@example.com');
    await assignApp(server.clock, admin);
    for (const email of ['doubt@example.com', 'doubt.mfa@example.com']) await createTestUser(server, email);
    const before = await signIn(server, 'doubt@example.com');
    const withMfa = await signIn(server, 'doubt.mfa@example.com');
    const device = await assignApp(server.clock, withMfa);

    for (const email of ['doubt@example.com', 'doubt.mfa@example.com']) {
      const user = (await server.services.users.findByEmail(email))!;
      const forced = await admin.post(`/api/v1/admin/users/${user.id}/force-password-change`, {});
      expect(forced.status, forced.text).toBe(204);
    }
    expect((await before.get('/api/v1/session')).status).toBe(401);
    expect((await withMfa.get('/api/v1/session')).status).toBe(401);
    expect(await auditTypes(server, 'doubt@example.com')).toContain('password_change_forced');

    // Emailed code first, then the errand.
    const x = await startSignIn(server, 'doubt@example.com');
    const done = await x.c.post<{ status: string; session: Record<string, unknown> }>('/api/v1/sign-in/email-code', { code: await server.lastCode('doubt@example.com') });
    expect(done.status, done.text).toBe(200);
    expect(done.body.status).toBe('password_change_required');
    expect(done.body.session).toMatchObject({ aal: 1, passwordChangeRequired: true });
    expect((await x.c.get('/api/v1/me/mfa-devices')).body).toMatchObject({ status: 403, code: 'password_change_required' });
    expect((await x.c.get('/api/v1/session')).body).toMatchObject({ passwordChangeRequired: true });
    expect((await x.c.put('/api/v1/me/password', { currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(204);
    expect((await x.c.get('/api/v1/me/mfa-devices')).status).toBe(200);
    expect((await x.c.get('/api/v1/session')).body).toMatchObject({ passwordChangeRequired: false });

    // With MFA: the second factor is still asked for; the errand comes after it (no bypass).
    const y = await startSignIn(server, 'doubt.mfa@example.com');
    expect(y.status).toBe('mfa_required');
    server.clock.advance(60_000);
    const mfa = await y.c.post<{ status: string }>('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(device.secret, server.clock.now()) });
    expect(mfa.body.status).toBe('password_change_required');
    expect((await y.c.post('/api/v1/me/recovery-codes', {})).body).toMatchObject({ code: 'password_change_required' });
    expect((await y.c.put('/api/v1/me/password', { currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(204);
    const later = await startSignIn(server, 'doubt.mfa@example.com', NEW_PASSWORD);
    server.clock.advance(60_000);
    expect((await later.c.post<{ status: string }>('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(device.secret, server.clock.now()) })).body.status).toBe('signed_in');
  });
});
