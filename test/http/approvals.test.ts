import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import { startMailCatcher, type MailCatcher } from '../helpers/smtp.js';

/**
 * Issue 10 item 3, the two-person rule (MAMORI_ADMIN_APPROVALS=2), over HTTP: an administrator's
 * request to remove another user's MFA device (or all of them), grant the admin role or disable a
 * user does nothing until a second administrator approves it with a fresh second factor; then it
 * happens once, in one transaction with one audit event naming both, and the user is mailed
 * (over real SMTP). Expired (24 h, the server's clock moved) and cancelled requests can't be approved.
 */

interface Person {
  id: string;
  email: string | null;
}
interface Approval {
  id: string;
  action: string;
  target: Person;
  requestedBy: Person;
  approvedBy: Person | null;
  cancelledBy: Person | null;
  expiresAt: string;
  status: string;
  change: Record<string, unknown>;
  failure: string | null;
}
interface AuditRow {
  id: number;
  type: string;
  actor: string | null;
  userId: string | null;
  detail: Record<string, unknown>;
}

const MINUTE = 60_000;

interface Person2FA {
  email: string;
  id: string;
  c: Client;
  secret: string;
  deviceId: string;
}

for (const { name, skip } of databases) {
  describe.skipIf(skip)(`the two-person rule (${name})`, () => {
    let server: TestServer;
    let smtp: MailCatcher;
    let alice: Person2FA;
    let bob: Person2FA;
    let carol: Person2FA;

    /** A code of the app in a time step of its own (every device takes each step once). */
    const code = (secret: string) => {
      server.clock.advance(30_000);
      return appCode(secret, server.clock.now());
    };

    /** Password, emailed code, then an authenticator app assigned: a session at aal 2 with a fresh second factor. */
    async function enrolled(email: string, role: 'admin' | 'user' = 'user', devices = 1): Promise<Person2FA> {
      const user = await createTestUser(server, email, { role });
      const c = server.client();
      expect((await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body).toEqual({ status: 'email_code_sent', expiresAt: expect.any(String), expiresIn: expect.any(Number) });
      expect((await c.post('/api/v1/sign-in/email-code', { code: await smtp.lastCode(email) })).status).toBe(200);
      let first = { id: '', secret: '' };
      for (let i = 0; i < devices; i++) {
        const app = await assignApp(server.clock, c, `Phone ${i + 1}`);
        if (i === 0) first = app;
        server.clock.advance(60_000);
      }
      return { email, id: user.id, c, secret: first.secret, deviceId: first.id };
    }

    /** Password and a code of the app: a new session at aal 2. */
    async function signInAgain(p: Person2FA): Promise<void> {
      p.c = server.client();
      expect((await p.c.post('/api/v1/sign-in', { email: p.email, password: STRONG_PASSWORD })).body).toMatchObject({ status: 'mfa_required' });
      expect((await p.c.post('/api/v1/sign-in/mfa', { method: 'totp', code: code(p.secret) })).body).toMatchObject({ status: 'signed_in' });
    }

    /** A second factor just now, in this session. */
    async function stepUp(p: Person2FA): Promise<void> {
      const r = await p.c.post('/api/v1/me/step-up', { method: 'totp', code: code(p.secret) });
      expect(r.status, r.text).toBe(200);
    }

    const approvalsOf = async () => (await alice.c.get<{ approvals: Approval[]; administratorsRequired: number }>('/api/v1/admin/approvals')).body;
    const devicesOf = async (id: string) => (await alice.c.get<{ devices: Array<{ id: string }> }>(`/api/v1/admin/users/${id}/mfa-devices`)).body.devices;
    const userRow = async (id: string) => (await server.services.users.findById(id))!;

    /** The audit events after `after`, oldest first. */
    async function eventsSince(after: number): Promise<AuditRow[]> {
      const r = await alice.c.get<{ events: AuditRow[] }>(`/api/v1/admin/audit?after=${after}&limit=500`);
      expect(r.status).toBe(200);
      return r.body.events;
    }
    async function lastEventId(): Promise<number> {
      const r = await alice.c.get<{ events: AuditRow[] }>('/api/v1/admin/audit?order=desc&limit=1');
      return r.body.events[0]?.id ?? 0;
    }

    beforeAll(async () => {
      smtp = await startMailCatcher();
      server = await startServer({ database: name, env: { MAMORI_ADMIN_APPROVALS: '2', MAMORI_SMTP_URL: smtp.url } });
      alice = await enrolled('alice@example.com', 'admin');
      bob = await enrolled('bob@example.com', 'admin');
      carol = await enrolled('carol@example.com', 'admin');
    });
    afterAll(async () => {
      await server?.close();
      await smtp?.close();
    });

    it('removing another user’s device: 202, nothing changes; not by the requester; a stale factor must step up; then it happens once, audited with both, mailed', async () => {
      const ursula = await enrolled('ursula@example.com');
      const before = await lastEventId();
      const asked = await alice.c.delete<{ approval: Approval }>(`/api/v1/admin/users/${ursula.id}/mfa-devices/${ursula.deviceId}`);
      expect(asked.status, asked.text).toBe(202);
      expect(asked.body.approval).toMatchObject({
        action: 'remove_mfa_device',
        target: { id: ursula.id, email: ursula.email },
        requestedBy: { id: alice.id, email: alice.email },
        status: 'pending',
        change: { deviceId: ursula.deviceId, deviceName: 'Phone 1' },
      });
      const ttl = Date.parse(asked.body.approval.expiresAt) - server.clock.now();
      expect(ttl).toBeGreaterThan(24 * 60 * MINUTE - 5_000);
      expect(ttl).toBeLessThanOrEqual(24 * 60 * MINUTE);
      const id = asked.body.approval.id;

      // Nothing changed: the device is active, the session alive, no mail, only the request audited.
      expect(await devicesOf(ursula.id)).toEqual([expect.objectContaining({ id: ursula.deviceId })]);
      expect((await ursula.c.get('/api/v1/session')).status).toBe(200);
      expect((await eventsSince(before)).map((e) => e.type)).toEqual(['admin_approval_requested']);
      expect(smtp.to(ursula.email).some((m) => /removed an MFA device/.test(m.subject))).toBe(false);
      // Asked again, it is the same request.
      const again = await alice.c.delete<{ approval: Approval }>(`/api/v1/admin/users/${ursula.id}/mfa-devices/${ursula.deviceId}`);
      expect(again.status).toBe(202);
      expect(again.body.approval.id).toBe(id);
      // Another user's unknown device: nothing to ask for.
      expect((await alice.c.delete(`/api/v1/admin/users/${ursula.id}/mfa-devices/nope`)).body).toMatchObject({ status: 404, code: 'not_found' });

      // The requester cannot approve their own request, even with a fresh second factor.
      await stepUp(alice);
      expect((await alice.c.post(`/api/v1/admin/approvals/${id}/approve`)).body).toMatchObject({ status: 403, code: 'approval_self' });
      // A plain user cannot approve at all.
      expect((await ursula.c.post(`/api/v1/admin/approvals/${id}/approve`)).body).toMatchObject({ status: 403, code: 'forbidden' });

      // Bob's second factor is older than 15 minutes: step up first.
      server.clock.advance(16 * MINUTE);
      await ursula.c.get('/api/v1/session');
      const stale = await bob.c.post(`/api/v1/admin/approvals/${id}/approve`);
      expect(stale.body).toMatchObject({ status: 403, code: 'step_up_required' });
      expect(await devicesOf(ursula.id)).toHaveLength(1);

      await stepUp(bob);
      const mark = await lastEventId();
      const ok = await bob.c.post<{ approval: Approval }>(`/api/v1/admin/approvals/${id}/approve`);
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body.approval).toMatchObject({ id, status: 'executed', approvedBy: { id: bob.id, email: bob.email }, requestedBy: { id: alice.id } });

      // The act happened: the device is gone, the user's sessions ended.
      expect(await devicesOf(ursula.id)).toEqual([]);
      expect((await ursula.c.get('/api/v1/session')).status).toBe(401);
      // The act's own event and one event naming both administrators, in that order, nothing else.
      const events = await eventsSince(mark);
      expect(events.map((e) => e.type)).toEqual(['mfa_device_deactivated', 'admin_approval_executed']);
      expect(events[0]).toMatchObject({ userId: ursula.id, actor: `admin:${alice.id}`, detail: { deviceId: ursula.deviceId } });
      expect(events[1]).toMatchObject({
        userId: ursula.id,
        actor: `admin:${bob.id}`,
        detail: { approvalId: id, action: 'remove_mfa_device', requestedBy: `admin:${alice.id}`, approvedBy: `admin:${bob.id}`, requestedByEmail: alice.email, approvedByEmail: bob.email },
      });
      expect(events.filter((e) => e.detail.requestedBy === `admin:${alice.id}` && e.detail.approvedBy === `admin:${bob.id}`)).toHaveLength(1);
      await smtp.waitFor(ursula.email, (m) => m.subject === 'An administrator removed an MFA device from your Mamori account');

      // Done once: approving again is refused, by anyone.
      await stepUp(carol);
      expect((await carol.c.post(`/api/v1/admin/approvals/${id}/approve`)).body).toMatchObject({ status: 409, code: 'approval_not_pending' });
    });

    it('ten concurrent approvals by each of two administrators execute the act once', async () => {
      const wendy = await enrolled('wendy@example.com', 'user', 2);
      const asked = await alice.c.delete<{ approval: Approval }>(`/api/v1/admin/users/${wendy.id}/mfa-devices`);
      expect(asked.status, asked.text).toBe(202);
      expect(asked.body.approval).toMatchObject({ action: 'remove_all_mfa_devices', change: { count: 2 }, status: 'pending' });
      expect(await devicesOf(wendy.id)).toHaveLength(2);
      expect((await wendy.c.get('/api/v1/session')).status).toBe(200);
      const id = asked.body.approval.id;

      await stepUp(bob);
      await stepUp(carol);
      const mark = await lastEventId();
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? bob : carol).c.post(`/api/v1/admin/approvals/${id}/approve`)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses, answers.map((a) => a.text).join('\n')).toEqual([200, ...Array<number>(19).fill(409)]);
      for (const a of answers.filter((x) => x.status === 409)) expect(a.body).toMatchObject({ code: 'approval_not_pending' });

      const events = await eventsSince(mark);
      expect(events.map((e) => e.type)).toEqual(['mfa_devices_deactivated_all', 'admin_approval_executed']);
      expect(events[0]!.detail).toMatchObject({ count: 2 });
      expect(await devicesOf(wendy.id)).toEqual([]);
      expect((await wendy.c.get('/api/v1/session')).status).toBe(401);
      await smtp.waitFor(wendy.email, (m) => m.subject === 'An administrator deactivated the MFA devices of your Mamori account');
      const listed = (await approvalsOf()).approvals.find((a) => a.id === id)!;
      expect(listed.status).toBe('executed');
      expect([bob.id, carol.id]).toContain(listed.approvedBy?.id);
    });

    it('granting the admin role and disabling a user wait; then they happen, with the usual mail', async () => {
      const victor = await enrolled('victor@example.com');
      const grant = await alice.c.patch<{ approval: Approval }>(`/api/v1/admin/users/${victor.id}`, { role: 'admin' });
      expect(grant.status, grant.text).toBe(202);
      expect(grant.body.approval).toMatchObject({ action: 'update_user', change: { changes: { role: 'admin' } }, status: 'pending' });
      expect((await userRow(victor.id)).role).toBe('user');
      // Not an administrator yet: the admin API still refuses him.
      expect((await victor.c.get('/api/v1/admin/users')).body).toMatchObject({ status: 403, code: 'forbidden' });

      const disable = await alice.c.patch<{ approval: Approval }>(`/api/v1/admin/users/${victor.id}`, { disabled: true, name: 'Victor V' });
      expect(disable.status).toBe(202);
      expect(disable.body.approval.change).toEqual({ changes: { disabled: true, name: 'Victor V' } });
      const row = await userRow(victor.id);
      expect([row.disabled, row.name]).toEqual([0, 'victor']);
      expect((await victor.c.get('/api/v1/session')).status).toBe(200);
      // A guarded change cannot carry groups along: they would have to wait too.
      expect((await alice.c.patch(`/api/v1/admin/users/${victor.id}`, { disabled: true, groups: ['ops'] })).body).toMatchObject({ status: 400, code: 'validation_failed' });
      // What the rule does not guard still happens at once.
      expect((await alice.c.patch(`/api/v1/admin/users/${victor.id}`, { groups: ['ops'] })).status).toBe(200);
      // A role is never given as a group: `group:admin` would hold a user who is no administrator, past this rule.
      for (const groups of [['admin'], ['ops', 'user']]) {
        expect((await alice.c.patch(`/api/v1/admin/users/${victor.id}`, { groups })).body).toMatchObject({ status: 400, code: 'validation_failed', detail: expect.stringMatching(/is a role, not a group/) });
      }
      // One stored before that was refused is not believed where groups are read.
      await server.services.groups.set(victor.id, ['admin', 'ops'], server.clock.now());
      expect(await server.services.groups.withRole({ id: victor.id, role: 'user' })).toEqual(['user', 'ops']);
      await server.services.groups.set(victor.id, ['ops'], server.clock.now());
      expect((await alice.c.patch(`/api/v1/admin/users/${victor.id}`, { role: 'user', disabled: false })).status).toBe(200);

      await stepUp(bob);
      expect((await bob.c.post(`/api/v1/admin/approvals/${grant.body.approval.id}/approve`)).body).toMatchObject({ approval: { status: 'executed' } });
      expect((await userRow(victor.id)).role).toBe('admin');
      await smtp.waitFor(victor.email, (m) => m.subject === 'An administrator changed your Mamori account');
      expect((await victor.c.get('/api/v1/admin/users')).status).toBe(200);

      const mark = await lastEventId();
      expect((await bob.c.post(`/api/v1/admin/approvals/${disable.body.approval.id}/approve`)).body).toMatchObject({ approval: { status: 'executed' } });
      expect((await userRow(victor.id)).disabled).toBe(1);
      expect((await victor.c.get('/api/v1/session')).status).toBe(401);
      const events = await eventsSince(mark);
      expect(events.map((e) => e.type)).toEqual(['user_updated', 'admin_approval_executed']);
      expect(events[0]).toMatchObject({ actor: `admin:${alice.id}`, detail: { disabled: true, name: 'Victor V', sessionsEnded: 1 } });
      expect(events[1]!.detail).toMatchObject({ requestedBy: `admin:${alice.id}`, approvedBy: `admin:${bob.id}`, disabled: true });
      await smtp.waitFor(victor.email, (m) => m.subject === 'An administrator changed your Mamori account', { count: 2 });
    });

    it('a new administrator is made a user whose role waits; an import cannot make administrators', async () => {
      const made = await alice.c.post<{ user: { id: string; role: string }; approval: Approval }>('/api/v1/admin/users', { email: 'newadmin@example.com', password: STRONG_PASSWORD, role: 'admin' });
      expect(made.status, made.text).toBe(202);
      expect(made.body.user.role).toBe('user');
      expect(made.body.approval).toMatchObject({ action: 'update_user', target: { id: made.body.user.id }, change: { changes: { role: 'admin' } } });
      expect((await userRow(made.body.user.id)).role).toBe('user');
      // A plain user is created as before.
      expect((await alice.c.post('/api/v1/admin/users', { email: 'plain@example.com', password: STRONG_PASSWORD })).status).toBe(201);

      const lines = (role: string) => `${JSON.stringify({ email: `imp-${role}@example.com`, role })}\n`;
      const refused = await alice.c.post('/api/v1/admin/users/import', lines('admin'), { 'content-type': 'application/x-ndjson' });
      expect(refused.body).toMatchObject({ status: 403, code: 'approval_required', admins: 1 });
      expect(await server.services.users.findByEmail('imp-admin@example.com')).toBeUndefined();
      expect((await alice.c.post('/api/v1/admin/users/import', lines('user'), { 'content-type': 'application/x-ndjson' })).status).toBe(200);
    });

    it('cancelled by the requester or another administrator; an act whose precondition went away fails cleanly', async () => {
      const yuri = await enrolled('yuri@example.com');
      const first = (await alice.c.patch<{ approval: Approval }>(`/api/v1/admin/users/${yuri.id}`, { disabled: true })).body.approval;
      const cancelled = await alice.c.post<{ approval: Approval }>(`/api/v1/admin/approvals/${first.id}/cancel`);
      expect(cancelled.body.approval).toMatchObject({ status: 'cancelled', cancelledBy: { id: alice.id } });
      await stepUp(bob);
      expect((await bob.c.post(`/api/v1/admin/approvals/${first.id}/approve`)).body).toMatchObject({ status: 409, code: 'approval_not_pending' });
      expect((await alice.c.post(`/api/v1/admin/approvals/${first.id}/cancel`)).body).toMatchObject({ status: 409, code: 'approval_not_pending' });
      expect((await userRow(yuri.id)).disabled).toBe(0);

      // Carol cancels what Alice asked.
      const second = (await alice.c.patch<{ approval: Approval }>(`/api/v1/admin/users/${yuri.id}`, { disabled: true })).body.approval;
      expect((await carol.c.post<{ approval: Approval }>(`/api/v1/admin/approvals/${second.id}/cancel`)).body.approval).toMatchObject({ status: 'cancelled', cancelledBy: { id: carol.id } });

      // Yuri removes the device himself (his own rules) before the approval: it fails, and says why.
      const third = (await alice.c.delete<{ approval: Approval }>(`/api/v1/admin/users/${yuri.id}/mfa-devices/${yuri.deviceId}`)).body.approval;
      expect((await yuri.c.delete(`/api/v1/me/mfa-devices/${yuri.deviceId}`)).status).toBe(204);
      const mark = await lastEventId();
      const failed = await bob.c.post(`/api/v1/admin/approvals/${third.id}/approve`);
      expect(failed.body).toMatchObject({ status: 409, code: 'approval_failed', reason: 'not_found' });
      expect((await eventsSince(mark)).map((e) => [e.type, e.detail.reason])).toEqual([['admin_approval_failed', 'not_found']]);
      expect((await approvalsOf()).approvals.find((a) => a.id === third.id)).toMatchObject({ status: 'failed', failure: 'not_found', approvedBy: { id: bob.id } });
      expect((await bob.c.post(`/api/v1/admin/approvals/${third.id}/approve`)).body).toMatchObject({ status: 409, code: 'approval_not_pending' });

      // Removing all of a user's devices is approved for the devices the request counted: one assigned since fails it.
      const wendy = await enrolled('wanda@example.com');
      const all = (await alice.c.delete<{ approval: Approval }>(`/api/v1/admin/users/${wendy.id}/mfa-devices`)).body.approval;
      expect(all.change).toEqual({ count: 1 });
      server.clock.advance(60_000);
      await assignApp(server.clock, wendy.c, 'Second phone');
      const changed = await bob.c.post(`/api/v1/admin/approvals/${all.id}/approve`);
      expect(changed.body).toMatchObject({ status: 409, code: 'approval_failed', reason: 'conflict', detail: expect.stringMatching(/1 then, 2 now/) });
      expect(await server.services.devices.countActive(wendy.id)).toBe(2);

      expect((await bob.c.post('/api/v1/admin/approvals/unknown/approve')).body).toMatchObject({ status: 404, code: 'not_found' });
      expect((await bob.c.post('/api/v1/admin/approvals/no%20such/approve')).body).toMatchObject({ status: 400, code: 'validation_failed' });
    });

    it('taking the admin role away waits too: one administrator cannot demote the others and be left alone', async () => {
      const dora = await enrolled('dora@example.com', 'admin');
      const demote = await alice.c.patch<{ approval: Approval }>(`/api/v1/admin/users/${dora.id}`, { role: 'user' });
      expect(demote.status).toBe(202);
      expect(demote.body.approval).toMatchObject({ action: 'update_user', change: { changes: { role: 'user' } }, status: 'pending' });
      expect((await userRow(dora.id)).role).toBe('admin');
      expect((await dora.c.get('/api/v1/admin/approvals')).status).toBe(200);
      await stepUp(bob);
      expect((await bob.c.post(`/api/v1/admin/approvals/${demote.body.approval.id}/approve`)).body).toMatchObject({ approval: { status: 'executed' } });
      expect((await userRow(dora.id)).role).toBe('user');
    });

    it('acts on oneself, and acts the rule does not guard, happen at once', async () => {
      await stepUp(alice);
      const extra = await assignApp(server.clock, alice.c, 'Spare key');
      expect((await alice.c.patch(`/api/v1/admin/users/${alice.id}`, { name: 'Alice A' })).status).toBe(200);
      expect((await alice.c.delete(`/api/v1/admin/users/${alice.id}/mfa-devices/${extra.id}`)).status).toBe(204);
      expect(await server.services.devices.countActive(alice.id)).toBe(1);
      // As before the rule, the admin route's removal ends every session of the account, her own too.
      expect((await alice.c.get('/api/v1/session')).status).toBe(401);
      await signInAgain(alice);
      const zoe = await createTestUser(server, 'zoe@example.com');
      expect((await alice.c.patch(`/api/v1/admin/users/${zoe.id}`, { name: 'Zoe' })).status).toBe(200);
      expect((await alice.c.post(`/api/v1/admin/users/${zoe.id}/unlock`)).status).toBe(204);
      // Zoe holds no device: removing all of them strips nothing, so there is nothing to ask.
      expect((await alice.c.delete(`/api/v1/admin/users/${zoe.id}/mfa-devices`)).status).toBe(204);
      const list = await approvalsOf();
      expect(list.administratorsRequired).toBe(2);
      expect(list.approvals.filter((a) => a.target.id === zoe.id || a.target.id === alice.id)).toEqual([]);
    });

    // Last: the day it moves ends every session above.
    it('a request nobody approved within 24 hours cannot be approved any more', async () => {
      const xena = await enrolled('xena@example.com');
      const asked = (await alice.c.delete<{ approval: Approval }>(`/api/v1/admin/users/${xena.id}/mfa-devices/${xena.deviceId}`)).body.approval;
      server.clock.advance(24 * 60 * MINUTE + 1_000);
      const late = await enrolled('late-admin@example.com', 'admin');
      const refused = await late.c.post(`/api/v1/admin/approvals/${asked.id}/approve`);
      expect(refused.body).toMatchObject({ status: 410, code: 'approval_expired' });
      expect((await late.c.post(`/api/v1/admin/approvals/${asked.id}/cancel`)).body).toMatchObject({ status: 410, code: 'approval_expired' });
      const listed = (await late.c.get<{ approvals: Approval[] }>('/api/v1/admin/approvals')).body.approvals.find((a) => a.id === asked.id);
      expect(listed?.status).toBe('expired');
      expect(await server.services.devices.countActive(xena.id)).toBe(1);
    });
  });
}

describe('without MAMORI_ADMIN_APPROVALS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it('one administrator acts alone, as before', async () => {
    await createTestUser(server, 'root@example.com', { role: 'admin' });
    const u = await createTestUser(server, 'u@example.com');
    const admin = await signIn(server, 'root@example.com');
    await assignApp(server.clock, admin);
    const owner = await signIn(server, 'u@example.com');
    const device = await assignApp(server.clock, owner);
    expect((await admin.delete(`/api/v1/admin/users/${u.id}/mfa-devices/${device.id}`)).status).toBe(204);
    expect((await admin.patch(`/api/v1/admin/users/${u.id}`, { role: 'admin' })).status).toBe(200);
    expect((await admin.patch(`/api/v1/admin/users/${u.id}`, { disabled: true })).status).toBe(200);
    expect((await admin.post('/api/v1/admin/users', { email: 'a2@example.com', password: STRONG_PASSWORD, role: 'admin' })).status).toBe(201);
    expect((await admin.get('/api/v1/admin/approvals')).body).toEqual({ approvals: [], administratorsRequired: 1 });
  });
});
