import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import type { Client } from '../helpers/client.js';

describe('administration (role admin + aal 2)', () => {
  let server: TestServer;
  let admin: Client;
  let adminSecret: string;
  beforeAll(async () => {
    server = await startServer();
    await createTestUser(server, 'root@example.com', { role: 'admin' });
    await createTestUser(server, 'user@example.com');
    admin = await signIn(server, 'root@example.com');
    adminSecret = (await assignApp(server.clock, admin)).secret;
  });
  afterAll(async () => server?.close());

  it('refuses anonymous callers, plain users, and admins without a second factor', async () => {
    expect((await server.client().get('/api/v1/admin/users')).body).toMatchObject({ status: 401, code: 'unauthenticated' });
    const user = await signIn(server, 'user@example.com');
    expect((await user.get('/api/v1/admin/users')).body).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await user.get('/api/v1/admin/audit')).status).toBe(403);
  });

  it('lists users, creates one, disables it (its sessions end), unlocks', async () => {
    const list = await admin.get<{ users: Array<Record<string, unknown>> }>('/api/v1/admin/users');
    expect(list.status).toBe(200);
    expect(list.body.users.find((u) => u.email === 'root@example.com')).toMatchObject({ role: 'admin', mfaDevices: 1, disabled: false, locked: false });
    const created = await admin.post<{ user: { id: string } }>('/api/v1/admin/users', { email: 'new@example.com', password: STRONG_PASSWORD, name: 'New' });
    expect(created.status).toBe(201);
    expect((await admin.post('/api/v1/admin/users', { email: 'new@example.com', password: STRONG_PASSWORD })).body).toMatchObject({ status: 409, code: 'email_taken' });
    const weak = await admin.post('/api/v1/admin/users', { email: 'weak@example.com', password: 'short' });
    expect(weak.body).toMatchObject({ status: 400, code: 'password_too_weak', reason: 'too_short' });

    const victim = await signIn(server, 'new@example.com');
    const off = await admin.patch(`/api/v1/admin/users/${created.body.user.id}`, { disabled: true });
    expect(off.status).toBe(200);
    expect((await victim.get('/api/v1/session')).status).toBe(401);
    expect((await server.client().post('/api/v1/sign-in', { email: 'new@example.com', password: STRONG_PASSWORD })).body).toMatchObject({ code: 'invalid_credentials' });
    expect((await admin.patch(`/api/v1/admin/users/${created.body.user.id}`, { disabled: false })).status).toBe(200);
    expect((await admin.patch(`/api/v1/admin/users/${created.body.user.id}`, {})).status).toBe(400);
    expect((await admin.patch('/api/v1/admin/users/nope', { name: 'x' })).status).toBe(404);

    for (let i = 0; i < 5; i++) await server.client().post('/api/v1/sign-in', { email: 'new@example.com', password: 'wrong wrong wrong wrong' });
    expect((await server.client().post('/api/v1/sign-in', { email: 'new@example.com', password: STRONG_PASSWORD })).status).toBe(429);
    expect((await admin.post(`/api/v1/admin/users/${created.body.user.id}/unlock`)).status).toBe(204);
    expect((await server.client().post('/api/v1/sign-in', { email: 'new@example.com', password: STRONG_PASSWORD })).status).toBe(200);
  });

  it('deactivates a lost device for a user, who is told by email', async () => {
    await createTestUser(server, 'lost@example.com');
    const u = await signIn(server, 'lost@example.com');
    const t = { body: await assignApp(server.clock, u, 'Old phone') };
    const id = (await server.services.users.findByEmail('lost@example.com'))!.id;
    const listed = await admin.get(`/api/v1/admin/users/${id}/mfa-devices`);
    expect(listed.body).toMatchObject({ limit: 8, devices: [{ id: t.body.id, name: 'Old phone', type: 'totp' }] });
    expect(listed.text).not.toContain(t.body.secret);
    expect((await admin.delete(`/api/v1/admin/users/${id}/mfa-devices/${t.body.id}`)).status).toBe(204);
    expect((await admin.delete(`/api/v1/admin/users/${id}/mfa-devices/${t.body.id}`)).status).toBe(404);
    expect((await u.get('/api/v1/session')).status).toBe(401);
    const mail = (await server.outbox()).find((m) => m.to === 'lost@example.com' && m.kind === 'mfa_device_removed');
    expect(mail).toBeDefined();
    // Back to password + emailed code, ready to assign a new device.
    const again = await server.client().post('/api/v1/sign-in', { email: 'lost@example.com', password: STRONG_PASSWORD });
    expect(again.body).toEqual({ status: 'email_code_sent', expiresAt: expect.any(String), expiresIn: expect.any(Number) });
  });

  it('serves the credential report as CSV, one row a user', async () => {
    const r = await admin.get('/api/v1/admin/credential-report');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = (r.body as unknown as string).trim().split('\r\n');
    expect(rows[0]).toBe('email,role,created,password_last_changed,mfa_active,mfa_device_count,mfa_device_types,last_sign_in,last_mfa_use,locked,disabled,mfa_setup_deadline');
    const root = rows.find((x) => x.startsWith('root@example.com,'))!.split(',');
    expect(root.slice(0, 2)).toEqual(['root@example.com', 'admin']);
    expect(root[4]).toBe('true');
    expect(root[6]).toBe('totp');
    const plain = rows.find((x) => x.startsWith('user@example.com,'))!.split(',');
    expect(plain[4]).toBe('false');
    expect(rows).toHaveLength(1 + (await server.services.users.count()));
  });

  it('pages through the audit log and verifies its chain; an edited row breaks it', async () => {
    const first = await admin.get<{ events: Array<{ id: number; type: string }>; next: number | null }>('/api/v1/admin/audit?limit=5');
    expect(first.body.events).toHaveLength(5);
    // Every event names the instance (host:pid) that wrote it.
    for (const e of first.body.events as Array<{ instance?: string }>) expect(e.instance).toMatch(/^.+:\d+$/);
    expect(first.body.next).toBe(first.body.events[4]!.id);
    const second = await admin.get<{ events: Array<{ id: number }> }>(`/api/v1/admin/audit?after=${first.body.next}&limit=5`);
    expect(second.body.events[0]!.id).toBe(first.body.next! + 1);
    expect((await admin.get('/api/v1/admin/audit?limit=abc')).status).toBe(400);
    const ok = await admin.get('/api/v1/admin/audit/verify');
    expect(ok.body).toMatchObject({ valid: true });
    await server.services.store.db.updateTable('audit_events').set({ instance: 'elsewhere:1' }).where('id', '=', 4).execute();
    expect((await admin.get('/api/v1/admin/audit/verify')).body).toMatchObject({ valid: false, firstBrokenId: 4 });
    await server.services.store.db.updateTable('audit_events').set({ detail: '{"forged":true}' }).where('id', '=', 3).execute();
    expect((await admin.get('/api/v1/admin/audit/verify')).body).toMatchObject({ valid: false, firstBrokenId: 3 });
  });
});

describe('invitations', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it('a user created without a password gets a single-use link to choose one', async () => {
    await createTestUser(server, 'boss@example.com', { role: 'admin' });
    const admin = await signIn(server, 'boss@example.com');
    await assignApp(server.clock, admin);
    expect((await admin.post('/api/v1/admin/users', { email: 'invitee@example.com', name: 'Invitee' })).status).toBe(201);
    const mail = (await server.outbox()).find((m) => m.to === 'invitee@example.com' && m.kind === 'invitation')!;
    const token = /#\/invite\/([A-Za-z0-9_-]+)/.exec(mail.text)![1]!;
    // No password yet: sign-in fails like any wrong password.
    expect((await server.client().post('/api/v1/sign-in', { email: 'invitee@example.com', password: STRONG_PASSWORD })).status).toBe(401);
    const weak = await server.client().post('/api/v1/invitations/accept', { token, password: 'invitee12345678' });
    expect(weak.body).toMatchObject({ status: 400, code: 'password_too_weak' });
    expect((await server.client().post('/api/v1/invitations/accept', { token, password: STRONG_PASSWORD })).status).toBe(204);
    expect((await server.client().post('/api/v1/invitations/accept', { token, password: STRONG_PASSWORD })).body).toMatchObject({ status: 400, code: 'invalid_code' });
    await signIn(server, 'invitee@example.com');
  });
});

describe('the user’s own profile', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it('changes name and mail language; later mail follows the language', async () => {
    await createTestUser(server, 'yuki@example.com');
    const c = await signIn(server, 'yuki@example.com');
    expect((await c.patch('/api/v1/me', { locale: 'ja', name: 'ゆき' })).body).toMatchObject({ user: { locale: 'ja', name: 'ゆき' } });
    expect((await c.patch('/api/v1/me', { locale: 'fr' })).status).toBe(400);
    expect((await c.patch('/api/v1/me', {})).status).toBe(400);
    await server.client().post('/api/v1/sign-in', { email: 'yuki@example.com', password: STRONG_PASSWORD });
    const mail = (await server.outbox()).filter((m) => m.to === 'yuki@example.com').at(-1)!;
    expect(mail.subject).toMatch(/[ぁ-んァ-ン一-龯]/);
  });
});
