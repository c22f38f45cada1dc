import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialReport } from '../../src/flows/credential-report.js';
import { FACTORS } from '../../src/methods/registry.js';
import { MFA_LOCK_AFTER } from '../../src/regulation/rules.js';
import { DEVICE_LIMIT } from '../../src/store/devices.js';
import { fixedCodeFactor } from '../fixtures/factors/fixed-code.js';
import type { Client } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, unlockByEmail, type TestServer } from '../helpers/server.js';

const CODE = '424242';

describe.each(databases)('a factor registered only in the tests, driven through HTTP ($name)', ({ name, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (skip) return;
    // The one registration line: the built-in list and one more.
    server = await startServer({ database: name, factors: [...FACTORS, fixedCodeFactor], env: { MAMORI_IP_FAILURE_LIMIT: '0' } });
  });
  afterAll(async () => server?.close());

  const mfaSignIn = async (email: string): Promise<{ c: Client; methods: string[] }> => {
    const c = server.client();
    const r = await c.post<{ status: string; methods: string[] }>('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
    expect(r.body.status).toBe('mfa_required');
    return { c, methods: r.body.methods };
  };

  it.skipIf(skip)('is described, assigned, listed, renamed, offered at sign-in and step-up, audited, reported and removed', async () => {
    const described = await server.client().get<{ factors: Array<{ id: string; assignments: Array<{ path: string }> }> }>('/api/v1/factors');
    expect(described.body.factors.map((f) => f.id)).toEqual(['webauthn', 'totp', 'recovery_code', 'fixed_code']);
    expect(described.body.factors.at(-1)!.assignments[0]!.path).toBe('fixed-code');

    await createTestUser(server, 'fixed@example.com');
    const c = await signIn(server, 'fixed@example.com');
    const assigned = await c.post<{ device: { id: string; type: string }; recoveryCodes: string[] }>('/api/v1/me/mfa-devices/fixed-code', { name: 'Fixed', code: CODE });
    expect(assigned.status, assigned.text).toBe(201);
    expect(assigned.body.device).toMatchObject({ type: 'fixed_code', kind: 'fixed' });
    expect(assigned.body.recoveryCodes).toHaveLength(10);
    expect((await c.get('/api/v1/session')).body).toMatchObject({ aal: 2 });
    expect((await c.post('/api/v1/me/mfa-devices/fixed-code', { name: 'Bad', code: 'abc' })).status).toBe(400);

    const id = assigned.body.device.id;
    expect((await c.patch(`/api/v1/me/mfa-devices/${id}`, { name: 'Renamed' })).status).toBe(200);
    const list = await c.get<{ devices: Array<{ id: string; name: string; type: string }> }>('/api/v1/me/mfa-devices');
    expect(list.body.devices).toEqual([expect.objectContaining({ id, name: 'Renamed', type: 'fixed_code' })]);

    const { c: x, methods } = await mfaSignIn('fixed@example.com');
    expect(methods).toEqual(['recovery_code', 'fixed_code']);
    expect((await x.post('/api/v1/sign-in/mfa', { method: 'fixed_code', code: '000000' })).status).toBe(401);
    const done = await x.post<{ status: string; session: { amr: string[] } }>('/api/v1/sign-in/mfa', { method: 'fixed_code', code: CODE });
    expect(done.status, done.text).toBe(200);
    expect(done.body.session.amr).toEqual(['pwd', 'otp', 'mfa']);
    const up = await x.post('/api/v1/me/step-up', { method: 'fixed_code', code: CODE });
    expect(up.status, up.text).toBe(200);

    const user = (await server.services.users.findByEmail('fixed@example.com'))!;
    const events = await server.services.store.db.selectFrom('audit_events').select(['type', 'detail']).where('user_id', '=', user.id).execute();
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['mfa_device_assigned', 'mfa_device_renamed', 'mfa_verified', 'mfa_failed', 'step_up_verified']));
    expect(JSON.parse(events.find((e) => e.type === 'mfa_device_assigned')!.detail)).toMatchObject({ type: 'fixed_code', name: 'Fixed' });
    expect(JSON.parse(events.find((e) => e.type === 'mfa_verified')!.detail)).toMatchObject({ method: 'fixed_code', deviceId: id });

    const report = await credentialReport(server.services);
    expect(report.split('\r\n').find((l) => l.startsWith('fixed@example.com'))).toContain(',true,1,fixed_code,');

    const removed = await x.delete(`/api/v1/me/mfa-devices/${id}`);
    expect(removed.status, removed.text).toBe(204);
    expect((await x.get<{ devices: unknown[] }>('/api/v1/me/mfa-devices')).body.devices).toHaveLength(0);
    expect((await server.outbox()).filter((m) => m.to === 'fixed@example.com').map((m) => m.kind)).toEqual(expect.arrayContaining(['mfa_device_added', 'mfa_device_removed']));
  });

  it.skipIf(skip)('counts toward the device limit and, being guessable, toward the MFA lock', async () => {
    await createTestUser(server, 'many@example.com');
    const c = await signIn(server, 'many@example.com');
    for (let i = 0; i < DEVICE_LIMIT; i++) {
      const r = await c.post('/api/v1/me/mfa-devices/fixed-code', { name: `Fixed ${i}`, code: CODE });
      expect(r.status, r.text).toBe(201);
      // From the second device on, assigning needs a recent second factor: it is there (the first raised the session).
    }
    const over = await c.post('/api/v1/me/mfa-devices/fixed-code', { name: 'One too many', code: CODE });
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ code: 'device_limit_reached' });

    const statuses: number[] = [];
    for (let round = 0; round < 2; round++) {
      const { c: x } = await mfaSignIn('many@example.com');
      for (let i = 0; i < MFA_LOCK_AFTER / 2; i++) statuses.push((await x.post('/api/v1/sign-in/mfa', { method: 'fixed_code', code: '000000' })).status);
    }
    expect(statuses.at(-1)).toBe(423);
    const { c: y } = await mfaSignIn('many@example.com');
    const locked = await y.post('/api/v1/sign-in/mfa', { method: 'fixed_code', code: CODE });
    expect(locked.status).toBe(423);
    expect(locked.body).toMatchObject({ code: 'mfa_locked' });
    await unlockByEmail(server, 'many@example.com');
    expect((await y.post('/api/v1/sign-in/mfa', { method: 'fixed_code', code: CODE })).status).toBe(200);
  });
});
