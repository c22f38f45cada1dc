/**
 * What the console's user page reads and does beyond the user list: one user's view, whether they
 * are still invited, their live sessions, and a new invitation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAtAal2 } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import type { Client } from '../helpers/client.js';

interface AdminUser {
  id: string;
  email: string;
  invited: boolean;
  invitationExpiresAt: string | null;
  mfaDevices: number;
  groups: string[];
}

describe('administration: a user page', () => {
  let server: TestServer;
  let admin: Client;
  beforeAll(async () => {
    server = await startServer();
    admin = (await adminAtAal2(server, 'root@example.com')).client;
  });
  afterAll(async () => server?.close());

  const tokenOf = async (email: string, nth = -1) => {
    const mails = (await server.outbox()).filter((m) => m.to === email && m.kind === 'invitation');
    return /#\/invite\/([A-Za-z0-9_-]+)/.exec(mails.at(nth)!.text)![1]!;
  };

  it('says who is invited until they choose a password, and resends the invitation with the old link void', async () => {
    const before = server.clock.now();
    const made = await admin.post<{ user: { id: string } }>('/api/v1/admin/users', { email: 'inv@example.com' });
    expect(made.status).toBe(201);
    const sentAt = server.clock.now();
    const id = made.body.user.id;
    const list = (await admin.get<{ users: AdminUser[] }>('/api/v1/admin/users')).body.users;
    const listed = list.find((u) => u.id === id)!;
    expect(listed).toMatchObject({ invited: true });
    // 72 hours from when it was sent (the test clock runs on meanwhile).
    expect(Date.parse(listed.invitationExpiresAt!) - 72 * 3_600_000).toBeGreaterThanOrEqual(before);
    expect(Date.parse(listed.invitationExpiresAt!) - 72 * 3_600_000).toBeLessThanOrEqual(sentAt);
    expect(list.find((u) => u.email === 'root@example.com')).toMatchObject({ invited: false, invitationExpiresAt: null });

    const one = await admin.get<{ user: AdminUser }>(`/api/v1/admin/users/${id}`);
    expect(one.status).toBe(200);
    expect(one.body.user).toEqual(listed);
    expect((await admin.get('/api/v1/admin/users/nobody')).body).toMatchObject({ status: 404, code: 'not_found' });

    const first = await tokenOf('inv@example.com');
    server.clock.advance(60_000);
    const resentFrom = server.clock.now();
    const again = await admin.post<{ invitationExpiresAt: string }>(`/api/v1/admin/users/${id}/invitation`);
    expect(again.status, again.text).toBe(200);
    const resent = Date.parse(again.body.invitationExpiresAt) - 72 * 3_600_000;
    expect(resent).toBeGreaterThanOrEqual(resentFrom);
    expect(resent).toBeLessThanOrEqual(server.clock.now());
    expect((await admin.get<{ user: AdminUser }>(`/api/v1/admin/users/${id}`)).body.user.invitationExpiresAt).toBe(again.body.invitationExpiresAt);
    const second = await tokenOf('inv@example.com');
    expect(second).not.toBe(first);
    expect((await server.client().post('/api/v1/invitations/accept', { token: first, password: STRONG_PASSWORD })).body).toMatchObject({ code: 'invalid_code' });
    expect((await server.client().post('/api/v1/invitations/accept', { token: second, password: STRONG_PASSWORD })).status).toBe(204);
    const sent = await server.services.store.db.selectFrom('audit_events').select('type').where('type', '=', 'invitation_sent').where('user_id', '=', id).execute();
    expect(sent).toHaveLength(2);

    const accepted = (await admin.get<{ user: AdminUser }>(`/api/v1/admin/users/${id}`)).body.user;
    expect(accepted).toMatchObject({ invited: false, invitationExpiresAt: null });
    // A password is set: a new link would let whoever reads the mail replace it.
    expect((await admin.post(`/api/v1/admin/users/${id}/invitation`)).body).toMatchObject({ status: 409, code: 'conflict' });
    expect((await server.outbox()).filter((m) => m.to === 'inv@example.com' && m.kind === 'invitation')).toHaveLength(2);
  });

  it('does not invite a disabled user, nor one that does not exist', async () => {
    const made = await admin.post<{ user: { id: string } }>('/api/v1/admin/users', { email: 'off@example.com' });
    expect((await admin.patch(`/api/v1/admin/users/${made.body.user.id}`, { disabled: true })).status).toBe(200);
    expect((await admin.post(`/api/v1/admin/users/${made.body.user.id}/invitation`)).body).toMatchObject({ status: 409, code: 'conflict' });
    expect((await admin.post('/api/v1/admin/users/nobody/invitation')).body).toMatchObject({ status: 404, code: 'not_found' });
  });

  it("lists a user's live sessions without their tokens; they end with the account", async () => {
    const user = await createTestUser(server, 'ses@example.com');
    const c = await signIn(server, 'ses@example.com');
    await signIn(server, 'ses@example.com');
    const r = await admin.get<{ sessions: Array<Record<string, unknown>> }>(`/api/v1/admin/users/${user.id}/sessions`);
    expect(r.status).toBe(200);
    expect(r.body.sessions).toHaveLength(2);
    expect(Object.keys(r.body.sessions[0]!).sort()).toEqual(['aal', 'createdAt', 'id', 'ip', 'lastSeenAt', 'userAgent']);
    expect(r.body.sessions[0]).toMatchObject({ aal: 1, ip: '127.0.0.1' });
    expect(r.text).not.toContain(c.cookies.get('mamori_session')!);
    expect((await admin.patch(`/api/v1/admin/users/${user.id}`, { disabled: true })).status).toBe(200);
    expect((await admin.get<{ sessions: unknown[] }>(`/api/v1/admin/users/${user.id}/sessions`)).body.sessions).toEqual([]);
    expect((await admin.get('/api/v1/admin/users/nobody/sessions')).status).toBe(404);
  });

  it('is for administrators only', async () => {
    const user = await createTestUser(server, 'plain@example.com');
    const c = await signIn(server, 'plain@example.com');
    for (const [method, path] of [
      ['GET', `/api/v1/admin/users/${user.id}`],
      ['GET', `/api/v1/admin/users/${user.id}/sessions`],
      ['POST', `/api/v1/admin/users/${user.id}/invitation`],
    ] as const) {
      expect((await c.request(method, path)).body, `${method} ${path}`).toMatchObject({ status: 403, code: 'forbidden' });
    }
  });
});
