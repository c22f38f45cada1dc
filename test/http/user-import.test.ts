import { pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base32Encode } from '../../src/methods/totp/otpauth.js';
import { hotp, timeStep } from '../../src/methods/totp/otp.js';
import { databases } from '../helpers/db.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { createTestUser, currentHashPrefix, signIn, startServer, type TestServer } from '../helpers/server.js';
import type { Client } from '../helpers/client.js';

interface Refused {
  line: number;
  reason: string;
}

const fixtures = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../fixtures/password-hashes.json'), 'utf8')) as {
  better_auth_scrypt: Array<{ password: string; hash: string }>;
  argon2: Array<{ password: string; hash: string }>;
  bcrypt: Array<{ password: string; hash: string }>;
};

/** One user of each format, with the password it was hashed from (hashes made once for the file). */
async function legacyUsers(): Promise<Array<{ email: string; password: string; format: string; hash: string; expectFrom: string }>> {
  const scryptSalt = randomBytes(16);
  const scryptKey = scryptSync('scrypt old password', scryptSalt, 32, { N: 2 ** 14, r: 8, p: 1 });
  const kcSalt = randomBytes(16);
  const kcKey = pbkdf2Sync('keycloak old password', kcSalt, 27500, 32, 'sha256');
  const bcrypt = await bcryptHash('bcrypt old password', 10);
  // Authelia's defaults: argon2id, m=64 MiB, t=3, p=4.
  const authelia = await argon2Hash('authelia old password', { algorithm: 2, memoryCost: 65536, timeCost: 3, parallelism: 4 });
  const a2i = fixtures.argon2[0]!;
  const ba = fixtures.better_auth_scrypt[0]!;
  const b2a = fixtures.bcrypt[0]!;
  return [
    { email: 'bcrypt-2b@example.com', password: 'bcrypt old password', format: 'bcrypt', hash: bcrypt, expectFrom: 'bcrypt' },
    { email: 'bcrypt-2y@example.com', password: 'bcrypt old password', format: 'bcrypt', hash: bcrypt.replace('$2b$', '$2y$'), expectFrom: 'bcrypt' },
    { email: 'bcrypt-2a@example.com', password: b2a.password, format: 'bcrypt', hash: b2a.hash, expectFrom: 'bcrypt' },
    { email: 'scrypt@example.com', password: 'scrypt old password', format: 'scrypt', hash: `$scrypt$ln=14,r=8,p=1$${scryptSalt.toString('base64').replace(/=+$/, '')}$${scryptKey.toString('base64').replace(/=+$/, '')}`, expectFrom: 'scrypt' },
    { email: 'better-auth@example.com', password: ba.password, format: 'better-auth-scrypt', hash: ba.hash, expectFrom: 'better-auth-scrypt' },
    { email: 'keycloak@example.com', password: 'keycloak old password', format: 'pbkdf2-sha256', hash: `27500$${kcSalt.toString('base64')}$${kcKey.toString('base64')}`, expectFrom: 'pbkdf2-sha256' },
    { email: 'authelia@example.com', password: 'authelia old password', format: 'argon2', hash: authelia, expectFrom: 'argon2' },
    { email: 'argon2i@example.com', password: a2i.password, format: 'argon2', hash: a2i.hash, expectFrom: 'argon2' },
  ];
}

/** The export, read as text: the test client parses any `…json` answer as one JSON document, and JSON lines are not one. */
async function exportOf(c: Client): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${c.base}/api/v1/admin/users/export`, { headers: { cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

const ndjson = (objects: unknown[]) => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';

describe.each(databases)('user import and export ($name)', ({ name, skip }) => {
  let server: TestServer;
  let admin: Client;
  const importFile = (body: string | Buffer, c: Client = admin, type = 'application/x-ndjson') =>
    c.request<{ imported?: number; refused?: Refused[]; code?: string; detail?: string }>('POST', '/api/v1/admin/users/import', body, { 'content-type': type });
  const userCount = async () => server.services.users.count();

  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
    await createTestUser(server, 'root@example.com', { role: 'admin' });
    admin = await signIn(server, 'root@example.com');
    await assignApp(server.clock, admin);
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('is for administrators with a second factor only, and takes only application/x-ndjson', async () => {
    const line = ndjson([{ email: 'x@example.com' }]);
    expect((await importFile(line, server.client())).body).toMatchObject({ status: 401, code: 'unauthenticated' });
    await createTestUser(server, 'plain@example.com');
    const plain = await signIn(server, 'plain@example.com');
    expect((await importFile(line, plain)).body).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await plain.get('/api/v1/admin/users/export')).status).toBe(403);
    expect((await importFile(JSON.stringify({ email: 'x@example.com' }), admin, 'application/json')).body).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect((await importFile('<xml/>', admin, 'application/xml')).body).toMatchObject({ status: 415 });
    expect((await importFile('', admin)).status).toBe(400);
    // Far above the server's default body limit (64 KiB) is fine; above 64 MiB is not.
    const huge = await importFile(Buffer.alloc(64 * 1024 * 1024 + 1, 0x20));
    expect(huge.body).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(await server.services.users.findByEmail('x@example.com')).toBeUndefined();
  });

  it.skipIf(skip)('refuses the whole file and names every refused line, changing nothing', async () => {
    const before = await userCount();
    const good = { email: 'first@example.com', name: 'First' };
    const parts: Buffer[] = [
      Buffer.from(JSON.stringify(good) + '\n'), // 1
      Buffer.from(JSON.stringify({ email: 'FIRST@Example.com' }) + '\n'), // 2: the same email, differently cased
      Buffer.from(JSON.stringify({ email: 'root@example.com' }) + '\n'), // 3: an existing user
      Buffer.from(JSON.stringify({ email: 'md5@example.com', password: { format: 'md5', hash: '5f4dcc3b5aa765d61d8327deb882cf99' } }) + '\n'), // 4
      Buffer.from(JSON.stringify({ email: 'field@example.com', admin: true }) + '\n'), // 5: an unknown field
      Buffer.concat([Buffer.from('{"email":"utf@example.com","name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]), // 6: invalid UTF-8
      Buffer.from(JSON.stringify({ email: 'totp@example.com', totp: { secret: 'not base32 at all!' } }) + '\n'), // 7
      Buffer.from(JSON.stringify({ email: 'group@example.com', groups: ['Ops Team'] }) + '\n'), // 8
      Buffer.from('{"email": "broken@example.com"\n'), // 9: not JSON
      Buffer.from(JSON.stringify({ email: 'cost@example.com', password: { format: 'bcrypt', hash: fixtures.bcrypt[0]!.hash.replace('$05$', '$31$') } }) + '\n'), // 10
      Buffer.from('\n'), // 11: blank, skipped
      Buffer.from(JSON.stringify({ email: 'proto@example.com', __proto__: { role: 'admin' } }).replace('"email"', '"__proto__":{"role":"admin"},"email"') + '\n'), // 12
      Buffer.from(JSON.stringify({ email: 'short@example.com', totp: { secret: 'JBSWY3DP' } }) + '\n'), // 13: a 40-bit seed
      Buffer.from(JSON.stringify({ email: 'not-an-email' }) + '\n'), // 14
      Buffer.from(JSON.stringify({ email: 'nul@example.com', name: 'a\u0000b' }) + '\n'), // 15: PostgreSQL cannot store U+0000
      Buffer.from(JSON.stringify({ email: 'escaped@example.com', name: 'a\\u0000b' }) + '\n'), // 16: a backslash, then "u0000": fine
      Buffer.from(JSON.stringify({ email: 'rolegroup@example.com', role: 'user', groups: ['admin'] }) + '\n'), // 17: a role as a group
    ];
    const r = await importFile(Buffer.concat(parts));
    expect(r.status, r.text).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('validation_failed');
    const refused = r.body.refused!;
    expect(refused.map((x) => x.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 17]);
    const reason = (line: number) => refused.find((x) => x.line === line)!.reason;
    expect(reason(2)).toMatch(/also on line 1/);
    expect(reason(3)).toMatch(/already exists/);
    expect(reason(4)).toMatch(/unknown password format/);
    expect(reason(5)).toBe('unknown field "admin"');
    expect(reason(6)).toBe('not valid UTF-8');
    expect(reason(7)).toBe('totp.secret is not valid base32');
    expect(reason(8)).toMatch(/is not a group name/);
    expect(reason(9)).toBe('not valid JSON');
    expect(reason(10)).toMatch(/cost must be 4 to 16/);
    expect(reason(12)).toBe('unknown field "__proto__"');
    expect(reason(13)).toMatch(/10 to 64 bytes/);
    expect(reason(14)).toMatch(/not an email address/);
    expect(reason(15)).toBe('a text holds the character U+0000');
    expect(reason(17)).toBe('groups: "admin" is a role, not a group; give it as "role"');
    // Never an echo of a seed or hash.
    expect(r.text).not.toContain('not base32 at all');
    expect(r.text).not.toContain('5f4dcc3b');
    expect(await userCount()).toBe(before);
    expect(await server.services.users.findByEmail('first@example.com')).toBeUndefined();
  });

  it.skipIf(skip)('imported users sign in with their old passwords; the hash becomes argon2id, audited', async () => {
    const users = await legacyUsers();
    const r = await importFile(ndjson(users.map((u) => ({ email: u.email, password: { format: u.format, hash: u.hash } }))));
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ imported: users.length, refused: [] });
    for (const u of users) {
      const stored = (await server.services.users.findByEmail(u.email))!.password_hash!;
      expect(stored).toBe(`{${u.format}}${u.hash}`);
      // A wrong password is refused and leaves the imported hash alone.
      const wrong = await server.client().post('/api/v1/sign-in', { email: u.email, password: `${u.password}?` });
      expect(wrong.body, u.email).toMatchObject({ status: 401, code: 'invalid_credentials' });
      expect((await server.services.users.findByEmail(u.email))!.password_hash).toBe(stored);

      const c = await signIn(server, u.email, u.password);
      expect((await c.get<{ user: { email: string } }>('/api/v1/session')).body.user.email).toBe(u.email);
      const after = (await server.services.users.findByEmail(u.email))!.password_hash!;
      expect(after.startsWith(currentHashPrefix(server)), `${u.email}: ${after}`).toBe(true);
      expect(server.services.hasher.needsRehash(after)).toBe(false);
      // And the new hash works the next time.
      await signIn(server, u.email, u.password);
      const id = (await server.services.users.findByEmail(u.email))!.id;
      const events = await server.services.audit.list({ after: 0, limit: 10_000, userId: id });
      const rehashed = events.filter((e) => e.type === 'password_rehashed');
      expect(rehashed, u.email).toHaveLength(1);
      expect(JSON.parse(rehashed[0]!.detail)).toEqual({ from: u.expectFrom, to: 'argon2id' });
    }
    expect((await server.services.audit.verify()).valid).toBe(true);
  });

  it.skipIf(skip)('applies role, name, groups, locale; imported TOTP seeds work as the second factor (no recovery codes)', async () => {
    const sha1 = randomBytes(20);
    const sha256 = randomBytes(32);
    const password = await bcryptHash('a team password', 4);
    const r = await importFile(
      ndjson([
        { email: 'ops-admin@example.com', name: 'Ops Admin', role: 'admin', groups: ['ops', 'oncall', 'ops'], locale: 'ja', password: { format: 'bcrypt', hash: password }, totp: { secret: base32Encode(sha1) } },
        { email: 'eight@example.com', password: { format: 'bcrypt', hash: password }, totp: { secret: base32Encode(sha256).toLowerCase(), digits: 8, period: 60, algorithm: 'SHA256', name: 'Old token' } },
        { email: 'nopassword@example.com', groups: [] },
      ]),
    );
    expect(r.status, r.text).toBe(200);
    const list = (await admin.get<{ users: Array<{ email: string; role: string; name: string; groups: string[]; locale: string; mfaDevices: number }> }>('/api/v1/admin/users')).body.users;
    expect(list.find((u) => u.email === 'ops-admin@example.com')).toMatchObject({ role: 'admin', name: 'Ops Admin', groups: ['oncall', 'ops'], locale: 'ja', mfaDevices: 1 });
    expect(list.find((u) => u.email === 'nopassword@example.com')).toMatchObject({ role: 'user', name: 'nopassword', groups: [], mfaDevices: 0 });

    const c = server.client();
    const first = await c.post('/api/v1/sign-in', { email: 'ops-admin@example.com', password: 'a team password' });
    expect(first.body).toEqual({ status: 'mfa_required', methods: ['totp'], preferred: 'totp' });
    expect((await c.post('/api/v1/sign-in/mfa', { method: 'totp', code: '000000' === appCode(base32Encode(sha1), server.clock.now()) ? '111111' : '000000' })).status).toBe(401);
    const done = await c.post<{ status: string; session: { aal: number; amr: string[] } }>('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(base32Encode(sha1), server.clock.now()) });
    expect(done.status, done.text).toBe(200);
    expect(done.body.session).toMatchObject({ aal: 2 });
    const devices = await c.get<{ devices: Array<{ name: string; type: string }> }>('/api/v1/me/mfa-devices');
    expect(devices.body.devices).toEqual([expect.objectContaining({ name: 'Authenticator app', type: 'totp' })]);
    expect(devices.text).not.toContain(base32Encode(sha1));
    expect((await c.get('/api/v1/me/recovery-codes')).body).toMatchObject({ remaining: 0 });
    // The imported admin at aal 2 may administer.
    expect((await c.get('/api/v1/admin/users')).status).toBe(200);

    const e = server.client();
    expect((await e.post('/api/v1/sign-in', { email: 'eight@example.com', password: 'a team password' })).body).toMatchObject({ status: 'mfa_required' });
    const code8 = hotp(sha256, timeStep(server.clock.now(), 60), { algorithm: 'SHA256', digits: 8 });
    expect((await e.post('/api/v1/sign-in/mfa', { method: 'totp', code: code8 })).status).toBe(200);
    // A step is accepted once.
    const again = server.client();
    await again.post('/api/v1/sign-in', { email: 'eight@example.com', password: 'a team password' });
    expect((await again.post('/api/v1/sign-in/mfa', { method: 'totp', code: code8 })).status).toBe(401);

    // The seed is sealed at rest, never stored as given.
    const row = (await server.services.devices.listActive((await server.services.users.findByEmail('eight@example.com'))!.id))[0]!;
    expect(row.secret_sealed).not.toContain(base32Encode(sha256));
    expect(JSON.parse(row.config)).toEqual({ v: 1, otpKind: 'totp', algorithm: 'SHA256', digits: 8, period: 60, t0: 0, drift: 0 });
    expect(row.name).toBe('Old token');
  });

  it.skipIf(skip)('changes groups through PATCH, audited; bad names change nothing', async () => {
    const id = (await server.services.users.findByEmail('nopassword@example.com'))!.id;
    const r = await admin.patch<{ user: { groups: string[] } }>(`/api/v1/admin/users/${id}`, { groups: ['dev', 'ops.eu', 'dev'] });
    expect(r.status, r.text).toBe(200);
    expect(r.body.user.groups).toEqual(['dev', 'ops.eu']);
    expect((await admin.patch(`/api/v1/admin/users/${id}`, { groups: ['Bad Name'] })).body).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((await admin.patch(`/api/v1/admin/users/${id}`, { groups: 'dev' })).status).toBe(400);
    expect(await server.services.groups.of(id)).toEqual(['dev', 'ops.eu']);
    const both = await admin.patch<{ user: { name: string; groups: string[] } }>(`/api/v1/admin/users/${id}`, { name: 'Renamed', groups: [] });
    expect(both.body.user).toMatchObject({ name: 'Renamed', groups: [] });
    const events = (await server.services.audit.list({ after: 0, limit: 10_000, userId: id })).filter((e) => e.type === 'user_groups_changed');
    expect(events.map((e) => JSON.parse(e.detail) as Record<string, string>)).toEqual([
      { groups: 'dev,ops.eu', added: 'dev,ops.eu', removed: '' },
      { groups: '', added: '', removed: 'dev,ops.eu' },
    ]);
  });

  it.skipIf(skip)('exports the same format without secrets; the export imports elsewhere as it was', async () => {
    const id = (await server.services.users.findByEmail('eight@example.com'))!.id;
    await admin.patch(`/api/v1/admin/users/${id}`, { disabled: true, groups: ['legacy'] });
    const r = await exportOf(admin);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^application\/x-ndjson/);
    const text = r.text;
    expect(text).not.toMatch(/"password"|"totp"|\$2[aby]\$|\$argon2|\{bcrypt\}|"secret"/);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(await userCount());
    expect(lines.find((l) => l.email === 'ops-admin@example.com')).toEqual({ email: 'ops-admin@example.com', name: 'Ops Admin', role: 'admin', locale: 'ja', groups: ['oncall', 'ops'] });
    expect(lines.find((l) => l.email === 'eight@example.com')).toMatchObject({ groups: ['legacy'], disabled: true });

    // Back into the same server: every line parses, and each is refused only as already there.
    const back = await importFile(text);
    expect(back.status).toBe(400);
    expect(new Set(back.body.refused!.map((x) => x.reason.replace(/ [^ ]+@[^ ]+ /, ' … ')))).toEqual(new Set(['a user with the email … already exists']));

    // Into a fresh server: the same users, roles, names, groups and disabled flags.
    const other = await startServer({ database: name });
    try {
      await createTestUser(other, 'root2@example.com', { role: 'admin' });
      const otherAdmin = await signIn(other, 'root2@example.com');
      await assignApp(other.clock, otherAdmin);
      const withoutRoot = lines.filter((l) => l.email !== 'root2@example.com');
      const imported = await otherAdmin.request('POST', '/api/v1/admin/users/import', ndjson(withoutRoot), { 'content-type': 'application/x-ndjson' });
      expect(imported.status, imported.text).toBe(200);
      const again = (await exportOf(otherAdmin)).text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const byEmail = (xs: Array<Record<string, unknown>>) => Object.fromEntries(xs.filter((x) => x.email !== 'root2@example.com').map((x) => [x.email, x]));
      expect(byEmail(again)).toEqual(byEmail(withoutRoot));
      expect((await other.services.users.findByEmail('eight@example.com'))!.disabled).toBe(1);
    } finally {
      await other.close();
    }
  });

  it.skipIf(skip)('of two concurrent imports sharing emails, exactly one succeeds', async () => {
    const before = await userCount();
    const shared = Array.from({ length: 20 }, (_, i) => ({ email: `shared-${i}@example.com` }));
    const fileA = ndjson([...Array.from({ length: 1500 }, (_, i) => ({ email: `a-${i}@example.com`, groups: ['a'] })), ...shared]);
    const fileB = ndjson([...shared, ...Array.from({ length: 1500 }, (_, i) => ({ email: `b-${i}@example.com`, groups: ['b'] }))]);
    const [a, b] = await Promise.all([importFile(fileA), importFile(fileB)]);
    const statuses = [a.status, b.status].sort();
    expect(statuses, `${a.text.slice(0, 300)}\n${b.text.slice(0, 300)}`).toEqual([200, 400]);
    const loser = a.status === 400 ? a : b;
    expect(loser.body.refused).toHaveLength(20);
    for (const x of loser.body.refused!) expect(x.reason).toMatch(/^a user with the email shared-\d+@example\.com already exists$/);
    expect(await userCount()).toBe(before + 1520);
    expect((await server.services.audit.verify()).valid).toBe(true);
  });
});
