import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { databases } from '../helpers/db.js';
import { appCode, assignApp as assignAppWith, decodeQrSvg, type AssignedApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, unlockByEmail, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import type { Client } from '../helpers/client.js';
import { hotp } from '../../src/methods/totp/otp.js';
import { recoveryCodeHasher } from '../../src/methods/recovery-code/index.js';
import { MFA_LOCK_AFTER } from '../../src/regulation/rules.js';

type Enrolled = AssignedApp;
const assignApp = (server: TestServer, c: Client, name?: string) => assignAppWith(server.clock, c, name);

async function startMfaSignIn(server: TestServer, email: string): Promise<Client> {
  const c = server.client();
  const r = await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
  expect(r.body.status).toBe('mfa_required');
  return c;
}

describe.each(databases)('authenticator apps, recovery codes and hardware tokens ($name)', ({ name, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (skip) return;
    // Many deliberate failures from 127.0.0.1 here; the per-address limit has its own test.
    server = await startServer({ database: name, env: { MAMORI_IP_FAILURE_LIMIT: '0' } });
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('enrolls an app with two consecutive codes; the QR code and oathtool agree with the secret', async () => {
    await createTestUser(server, 'carol@example.com');
    const c = await signIn(server, 'carol@example.com');
    const r = await c.post<{ id: string; secret: string; otpauthUri: string; qrCodeSvg: string; status: string }>('/api/v1/me/mfa-devices/totp', { name: 'Phone' });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('pending');
    expect(r.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(r.body.otpauthUri).toBe(`otpauth://totp/Mamori:carol%40example.com?secret=${r.body.secret}&issuer=Mamori&algorithm=SHA1&digits=6&period=30`);
    expect(decodeQrSvg(r.body.qrCodeSvg)).toBe(r.body.otpauthUri);
    if (existsSync('/usr/bin/oathtool')) {
      const now = server.clock.now();
      const out = execFileSync('oathtool', ['--totp', '-b', r.body.secret, '-N', `@${Math.floor(now / 1000)}`]).toString().trim();
      expect(out).toBe(appCode(r.body.secret, now));
    }
    const now = server.clock.now();
    const bad = [
      [appCode(r.body.secret, now), appCode(r.body.secret, now)],
      [appCode(r.body.secret, now, 1), appCode(r.body.secret, now)],
      [appCode(r.body.secret, now), appCode(r.body.secret, now, 2)],
      ['000000', '111111'],
    ];
    for (const [code1, code2] of bad) {
      const a = await c.post(`/api/v1/me/mfa-devices/${r.body.id}/activate`, { code1, code2 });
      expect(a.status).toBe(400);
      expect(a.body.code).toBe('invalid_code');
    }
    const before = c.cookies.get('mamori_session');
    const ok = await c.post<{ device: Record<string, unknown>; recoveryCodes: string[] }>(`/api/v1/me/mfa-devices/${r.body.id}/activate`, {
      code1: appCode(r.body.secret, now),
      code2: appCode(r.body.secret, now, 1),
    });
    expect(ok.status).toBe(200);
    expect(ok.body.recoveryCodes).toHaveLength(10);
    // A public lookup part, then the 50-bit secret part.
    for (const rc of ok.body.recoveryCodes) expect(rc).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(JSON.stringify(ok.body.device)).not.toContain(r.body.secret);
    expect(c.cookies.get('mamori_session')).not.toBe(before);
    expect((await c.get('/api/v1/session')).body).toMatchObject({ aal: 2 });
    const list = await c.get('/api/v1/me/mfa-devices');
    expect(list.body).toMatchObject({ limit: 8, devices: [{ name: 'Phone', type: 'totp' }] });
    expect(list.text).not.toContain(r.body.secret);
    // The secret at rest is sealed.
    const row = await server.services.store.db.selectFrom('mfa_devices').selectAll().where('id', '=', r.body.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(r.body.secret);

    // Sign-in now asks for the second factor; the activation's second code is spent.
    const s1 = await startMfaSignIn(server, 'carol@example.com');
    expect((await s1.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(r.body.secret, now, 1) })).status).toBe(401);
    server.clock.advance(60_000);
    const code = appCode(r.body.secret, server.clock.now());
    const done = await s1.post('/api/v1/sign-in/mfa', { method: 'totp', code });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'signed_in', session: { aal: 2, amr: ['pwd', 'otp', 'mfa'] } });
    // Replayed in another sign-in: refused.
    const s2 = await startMfaSignIn(server, 'carol@example.com');
    expect((await s2.post('/api/v1/sign-in/mfa', { method: 'totp', code })).status).toBe(401);
    await unlockByEmail(server, 'carol@example.com');
  });

  it.skipIf(skip)('50 concurrent sign-ins with one code give exactly one session', async () => {
    await createTestUser(server, 'dave@example.com');
    const c = await signIn(server, 'dave@example.com');
    const dev = await assignApp(server, c);
    server.clock.advance(90_000);
    // One after another: 50 passwords at once would meet the in-flight cap of the password budget.
    const clients = [];
    for (let i = 0; i < 50; i++) clients.push(await startMfaSignIn(server, 'dave@example.com'));
    const code = appCode(dev.secret, server.clock.now());
    const answers = await Promise.all(clients.map((x) => x.post('/api/v1/sign-in/mfa', { method: 'totp', code })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    // 429: more at once than the account's budget has places; they were never tried.
    expect(answers.every((a) => a.status === 200 || a.status === 401 || a.status === 423 || a.status === 429)).toBe(true);
    await unlockByEmail(server, 'dave@example.com');
  });

  it.skipIf(skip)('locks after 10 wrong codes across sign-ins; the right code is refused until unlocked', async () => {
    await createTestUser(server, 'erin@example.com');
    const c = await signIn(server, 'erin@example.com');
    const dev = await assignApp(server, c);
    server.clock.advance(90_000);
    const statuses: number[] = [];
    for (let round = 0; round < 2; round++) {
      const x = await startMfaSignIn(server, 'erin@example.com');
      for (let i = 0; i < 5; i++) statuses.push((await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: '000000' })).status);
      // Round 1: the sign-in died after 5 wrong codes. Round 2: the account is locked.
      expect((await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(dev.secret, server.clock.now()) })).status).toBe(round === 0 ? 401 : 423);
    }
    expect(statuses.slice(0, 9).every((x) => x === 401)).toBe(true);
    expect(statuses[9]).toBe(423);
    const x = await startMfaSignIn(server, 'erin@example.com');
    const locked = await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(dev.secret, server.clock.now()) });
    expect(locked.status).toBe(423);
    expect(locked.body.code).toBe('mfa_locked');
    expect((await server.outbox()).some((m) => m.to === 'erin@example.com' && m.kind === 'account_locked')).toBe(true);
    server.clock.advance(24 * 3_600_000);
    const y = await startMfaSignIn(server, 'erin@example.com');
    expect((await y.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(dev.secret, server.clock.now()) })).status).toBe(423);
    await unlockByEmail(server, 'erin@example.com');
    const z = await startMfaSignIn(server, 'erin@example.com');
    expect((await z.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(dev.secret, server.clock.now()) })).status).toBe(200);
  });

  it.skipIf(skip)('a recovery code works once, and a new set voids the old', async () => {
    await createTestUser(server, 'frank@example.com');
    const c = await signIn(server, 'frank@example.com');
    // No device yet: no recovery codes either (they would bypass the emailed code).
    expect((await c.post('/api/v1/me/recovery-codes')).body).toMatchObject({ status: 409, code: 'conflict' });
    const dev = await assignApp(server, c);
    const [rc1, rc2] = dev.recoveryCodes!;
    const a = await startMfaSignIn(server, 'frank@example.com');
    expect((await a.post('/api/v1/sign-in/mfa', { method: 'recovery_code', code: rc1!.toUpperCase().replace('-', '') })).status).toBe(200);
    expect((await a.get('/api/v1/me/recovery-codes')).body).toEqual({ remaining: 9 });
    const b = await startMfaSignIn(server, 'frank@example.com');
    expect((await b.post('/api/v1/sign-in/mfa', { method: 'recovery_code', code: rc1 })).status).toBe(401);
    expect((await server.outbox()).some((m) => m.to === 'frank@example.com' && m.kind === 'recovery_code_used')).toBe(true);
    const fresh = await a.post<{ codes: string[] }>('/api/v1/me/recovery-codes');
    expect(fresh.status).toBe(200);
    expect(fresh.body.codes).toHaveLength(10);
    const d = await startMfaSignIn(server, 'frank@example.com');
    expect((await d.post('/api/v1/sign-in/mfa', { method: 'recovery_code', code: rc2 })).status).toBe(401);
    await unlockByEmail(server, 'frank@example.com');
    void dev;
  });

  it.skipIf(skip)('concurrent regenerations of the recovery codes leave exactly one live set', async () => {
    await createTestUser(server, 'regina@example.com');
    const c = await signIn(server, 'regina@example.com');
    await assignApp(server, c);
    const userId = (await server.services.users.findByEmail('regina@example.com'))!.id;
    const live = () =>
      server.services.store.db.selectFrom('recovery_codes').select(['batch_id']).where('user_id', '=', userId).where('used_at', 'is', null).where('voided_at', 'is', null).execute();
    for (let round = 0; round < 3; round++) {
      // On PostgreSQL without the user's row lock, each of two at once voided only the set it saw.
      const answers = await Promise.all(Array.from({ length: 8 }, () => c.post<{ codes: string[] }>('/api/v1/me/recovery-codes')));
      expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
      const rows = await live();
      expect(rows).toHaveLength(10);
      expect(new Set(rows.map((r) => r.batch_id)).size).toBe(1);
      expect((await c.get('/api/v1/me/recovery-codes')).body).toEqual({ remaining: 10 });
    }
  });

  it.skipIf(skip)('30 concurrent submissions of one recovery code give exactly one session, with one hash each', async () => {
    await createTestUser(server, 'rosa@example.com');
    const c = await signIn(server, 'rosa@example.com');
    const dev = await assignApp(server, c);
    const code = dev.recoveryCodes![3]!;
    // One after another: 30 passwords at once would meet the in-flight cap of the password budget.
    const clients = [];
    for (let i = 0; i < 30; i++) clients.push(await startMfaSignIn(server, 'rosa@example.com'));
    const slow = vi.spyOn(recoveryCodeHasher, 'verify');
    const passwordHashes = vi.spyOn(server.services.hasher, 'verify');
    try {
      // Spaces for dashes, upper case: still the same code.
      const typed = code.toUpperCase().replaceAll('-', ' ');
      const answers = await Promise.all(clients.map((x) => x.post('/api/v1/sign-in/mfa', { method: 'recovery_code', code: typed })));
      // Exactly what 30 in a row get: each attempt waits for the one before it to settle, so the
      // first uses the code, the next MFA_LOCK_AFTER count as wrong (the code is spent) and the
      // last of them locks the account's codes; the rest are refused untried.
      const count = (status: number) => answers.filter((a) => a.status === status).length;
      expect([count(200), count(401), count(423)], JSON.stringify(answers.map((a) => a.status))).toEqual([1, MFA_LOCK_AFTER - 1, 30 - MFA_LOCK_AFTER]);
      // Each tried submission cost one recovery-code hash and no password-sized one.
      expect(slow).toHaveBeenCalledTimes(1 + MFA_LOCK_AFTER);
      expect(passwordHashes).not.toHaveBeenCalled();
    } finally {
      slow.mockRestore();
      passwordHashes.mockRestore();
    }
    expect((await c.get('/api/v1/me/recovery-codes')).body).toEqual({ remaining: 9 });
    const used = await server.services.store.db.selectFrom('audit_events').select('type').where('type', '=', 'recovery_code_used').where('user_id', '=', (await server.services.users.findByEmail('rosa@example.com'))!.id).execute();
    expect(used).toHaveLength(1);
    await unlockByEmail(server, 'rosa@example.com');
  });

  it.skipIf(skip)('resync recovers a device running 5 minutes fast', async () => {
    await createTestUser(server, 'gina@example.com');
    const c = await signIn(server, 'gina@example.com');
    const dev = await assignApp(server, c);
    server.clock.advance(60_000);
    const fast = (offset = 0) => appCode(dev.secret, server.clock.now() + 5 * 60_000, offset);
    const x = await startMfaSignIn(server, 'gina@example.com');
    expect((await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: fast() })).status).toBe(401);
    const r = await c.post(`/api/v1/me/mfa-devices/${dev.id}/resync`, { code1: fast(), code2: fast(1) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    server.clock.advance(60_000);
    const y = await startMfaSignIn(server, 'gina@example.com');
    expect((await y.post('/api/v1/sign-in/mfa', { method: 'totp', code: fast() })).status).toBe(200);
    const audit = await server.services.audit.list({ limit: 1000 });
    expect(audit.some((e) => e.type === 'mfa_device_resynced')).toBe(true);
  });

  it.skipIf(skip)('refuses the 9th device; removing one needs a recent second factor', async () => {
    await createTestUser(server, 'hana@example.com');
    const c = await signIn(server, 'hana@example.com');
    const devices: Enrolled[] = [];
    for (let i = 0; i < 8; i++) devices.push(await assignApp(server, c, `Device ${i + 1}`));
    const ninth = await c.post('/api/v1/me/mfa-devices/totp', { name: 'Ninth' });
    expect(ninth.status).toBe(409);
    expect(ninth.body.code).toBe('device_limit_reached');
    server.clock.advance(16 * 60_000);
    const del = await c.delete(`/api/v1/me/mfa-devices/${devices[0]!.id}`);
    expect(del.status).toBe(403);
    expect(del.body.code).toBe('step_up_required');
    const up = await c.post('/api/v1/me/step-up', { method: 'totp', code: appCode(devices[1]!.secret, server.clock.now()) });
    expect(up.status).toBe(200);
    expect((await c.delete(`/api/v1/me/mfa-devices/${devices[0]!.id}`)).status).toBe(204);
    expect((await server.outbox()).some((m) => m.to === 'hana@example.com' && m.kind === 'mfa_device_removed')).toBe(true);
  });

  it.skipIf(skip)('imports the RFC 6030 encrypted sample all-or-nothing and assigns it by serial', async () => {
    await createTestUser(server, 'root@example.com', { role: 'admin' });
    const admin = await signIn(server, 'root@example.com');
    // aal 1: administration needs a second factor first.
    expect((await admin.get('/api/v1/admin/hardware-tokens')).body.code).toBe('step_up_required');
    await assignApp(server, admin);
    const xml = readFileSync(new URL('../fixtures/pskc/rfc6030-figure6-aes128-psk.pskc', import.meta.url), 'utf8');
    const headers = { 'content-type': 'application/pskc+xml', 'mamori-pskc-key': '12345678901234567890123456789012' };
    const flipped = xml.replace('AAECAwQFBgcICQoLDA0OD+cI', 'AAECAwQFBgcICQoLDA0OD+cJ');
    const bad = await admin.request('POST', '/api/v1/admin/hardware-tokens', flipped, headers);
    expect(bad.status).toBe(400);
    expect((await admin.get('/api/v1/admin/hardware-tokens')).body).toEqual({ tokens: [] });
    const ok = await admin.request('POST', '/api/v1/admin/hardware-tokens', xml, headers);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ imported: 1, skipped: [] });
    const inv = await admin.get('/api/v1/admin/hardware-tokens');
    expect(inv.body).toMatchObject({ tokens: [{ serial: '987654321', algorithm: 'SHA1', digits: 8, assignedTo: null }] });
    expect(inv.text).not.toMatch(/MTIzNDU2Nzg5MDEyMzQ1Njc4OTA|12345678901234567890/);

    await createTestUser(server, 'ivan@example.com');
    const u = await signIn(server, 'ivan@example.com');
    const key = Buffer.from('12345678901234567890');
    const code = (n: number) => hotp(key, BigInt(n), { algorithm: 'SHA1', digits: 8 });
    expect((await u.post('/api/v1/me/mfa-devices/hardware', { name: 'Token', serial: '987654321', code1: code(1), code2: code(0) })).status).toBe(400);
    const assigned = await u.post('/api/v1/me/mfa-devices/hardware', { name: 'Token', serial: '987654321', code1: code(0), code2: code(1) });
    expect(assigned.status, JSON.stringify(assigned.body)).toBe(201);
    expect(assigned.body).toMatchObject({ device: { type: 'hardware_totp', serial: '987654321' } });
    await createTestUser(server, 'judy@example.com');
    const v = await signIn(server, 'judy@example.com');
    expect((await v.post('/api/v1/me/mfa-devices/hardware', { name: 'Token', serial: '987654321', code1: code(2), code2: code(3) })).status).toBe(409);
    const x = await startMfaSignIn(server, 'ivan@example.com');
    expect((await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: code(1) })).status).toBe(401);
    expect((await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: code(5) })).status).toBe(200);
  });
});
