import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { base32Decode } from '../../src/methods/totp/otpauth.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const root = path.resolve(import.meta.dirname, '../..');
const pskc = (name: string) => path.resolve(root, 'test/fixtures/pskc', name);
/** The pre-shared key of RFC 6030's Figure 6, as hex. */
const FIGURE6_KEY = '12345678901234567890123456789012';

describe('mamori mfa / token / keys (CLI against a running server’s database)', () => {
  let server: TestServer;
  let secret: string;
  let deviceId: string;
  /** Once `keys rotate` has run, the key every later command must be given (the audit key is sealed under it). */
  let masterKey: string | undefined;
  const mamori = (args: string[], env: Record<string, string> = {}, input = '') =>
    spawnSync(process.execPath, ['bin/mamori.js', ...args], {
      cwd: root,
      encoding: 'utf8',
      input,
      env: {
        PATH: process.env.PATH ?? '',
        MAMORI_BUILD: 'never',
        MAMORI_DATA_DIR: server.dataDir,
        MAMORI_MASTER_KEY: masterKey ?? server.config.masterKeys[0]!.toString('base64'),
        MAMORI_LOG_LEVEL: 'silent',
        ...env,
      },
    });

  beforeAll(async () => {
    server = await startServer();
    await createTestUser(server, 'kim@example.com');
    const c = await signIn(server, 'kim@example.com');
    const r = await c.post<{ id: string; secret: string }>('/api/v1/me/mfa-devices/totp', { name: 'Work phone' });
    secret = r.body.secret;
    deviceId = r.body.id;
    const now = server.clock.now();
    expect((await c.post(`/api/v1/me/mfa-devices/${deviceId}/activate`, { code1: appCode(secret, now), code2: appCode(secret, now, 1) })).status).toBe(200);
  });
  afterAll(async () => server?.close());

  it('lists devices without secrets', () => {
    const r = mamori(['mfa', 'list', '--email', 'kim@example.com']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(deviceId);
    expect(r.stdout).toContain('Work phone');
    expect(r.stdout).not.toContain(secret);
    expect(mamori(['mfa', 'list', '--email', 'nobody@example.com']).status).toBe(1);
    expect(mamori(['mfa', 'list']).status).toBe(2);
  });

  it('imports PSKC all-or-nothing, the key read from a private file or standard input', () => {
    const file = pskc('rfc6030-figure6-aes128-psk.pskc');
    const flipped = path.join(server.dataDir, 'flipped.pskc');
    writeFileSync(flipped, readFileSync(file, 'utf8').replace('AAECAwQFBgcICQoLDA0OD+cI', 'AAECAwQFBgcICQoLDA0OD+cJ'));
    const keyFile = path.join(server.dataDir, 'figure6.key');
    writeFileSync(keyFile, `${FIGURE6_KEY}\n`, { mode: 0o600 });
    const bad = mamori(['token', 'import', flipped, '--psk-file', keyFile]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(mamori(['token', 'import', file, '--psk-stdin'], {}, 'zz\n').status).toBe(2);
    const ok = mamori(['token', 'import', file, '--psk-file', keyFile]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('imported 1');
    const again = mamori(['token', 'import', file, '--psk-stdin'], {}, `${FIGURE6_KEY}\n`);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('skipped 987654321: duplicate_serial');
    const plain = mamori(['token', 'import', pskc('totp-plaintext.pskc')]);
    expect(plain.stdout).toContain('imported 1');
    expect(ok.stdout + again.stdout + plain.stdout).not.toMatch(/MTIzNDU2|3132333435/);
  });

  it('refuses secrets on the command line, naming the options that replace them', () => {
    const file = pskc('rfc6030-figure6-aes128-psk.pskc');
    for (const [args, names] of [
      [['--psk', FIGURE6_KEY], ['--psk-stdin', '--psk-file']],
      [[`--psk=${FIGURE6_KEY}`], ['--psk-stdin', '--psk-file']],
      [['--password', 'a pass phrase'], ['--password-stdin', '--password-file']],
      [['--password'], ['--password-stdin', '--password-file']],
    ] as const) {
      const r = mamori(['token', 'import', file, ...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      for (const name of names) expect(r.stderr).toContain(name);
      expect(r.stderr).not.toContain(FIGURE6_KEY);
    }
    // Two secrets cannot share standard input, and one secret takes one source.
    expect(mamori(['token', 'import', file, '--psk-stdin', '--password-stdin'], {}, FIGURE6_KEY).status).toBe(2);
    expect(mamori(['token', 'import', file, '--psk-stdin', '--psk-file', file], {}, FIGURE6_KEY).status).toBe(2);
  });

  it('refuses a key file other users can read, as ssh does', () => {
    const keyFile = path.join(server.dataDir, 'open.key');
    writeFileSync(keyFile, FIGURE6_KEY);
    chmodSync(keyFile, 0o644);
    const r = mamori(['token', 'import', pskc('rfc6030-figure6-aes128-psk.pskc'), '--psk-file', keyFile]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--psk-file');
    expect(r.stderr).toContain('0644');
    expect(r.stderr).not.toContain(FIGURE6_KEY);
    expect(mamori(['token', 'import', pskc('rfc6030-figure6-aes128-psk.pskc'), '--psk-file', path.join(server.dataDir, 'absent.key')]).status).toBe(1);
  });

  it('rotates the master key: every secret re-sealed and still opens under the new key alone', async () => {
    const oldKey = server.config.masterKeys[0]!.toString('base64');
    const newKey = randomBytes(32).toString('base64');
    const r = mamori(['keys', 'rotate'], { MAMORI_MASTER_KEY: newKey, MAMORI_OLD_MASTER_KEYS: oldKey });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/re-sealed 1 device secrets and 2 token secrets/);
    const box = new SecretBox([Buffer.from(newKey, 'base64')]);
    const row = await server.services.store.db.selectFrom('mfa_devices').selectAll().where('id', '=', deviceId).executeTakeFirstOrThrow();
    expect(row.secret_key_id).toBe(box.currentKeyId);
    expect(box.open({ keyId: row.secret_key_id!, value: row.secret_sealed! }, `mfa-device:${deviceId}`).equals(base32Decode(secret))).toBe(true);
    // A second run has nothing left to do; without the old key nothing is lost either.
    expect(mamori(['keys', 'rotate'], { MAMORI_MASTER_KEY: newKey }).stdout).toMatch(/re-sealed 0 device secrets and 0 token secrets/);
    masterKey = newKey;
  });

  it('deactivates a lost device and notifies the user', async () => {
    const r = mamori(['mfa', 'deactivate', '--email', 'kim@example.com', '--device', deviceId]);
    expect(r.status, r.stderr).toBe(0);
    expect(mamori(['mfa', 'list', '--email', 'kim@example.com']).stdout).not.toContain(deviceId);
    expect((await server.outbox()).some((m) => m.to === 'kim@example.com' && m.kind === 'mfa_device_removed')).toBe(true);
    expect(mamori(['mfa', 'deactivate', '--email', 'kim@example.com', '--device', deviceId]).status).toBe(1);
  });

  it('deactivates every device of a user who lost them all (--all): one audit event, one mail; bad usage is exit 2', async () => {
    await createTestUser(server, 'lee@example.com');
    const c = await signIn(server, 'lee@example.com');
    await assignApp(server.clock, c, 'Phone');
    server.clock.advance(60_000);
    // A second device needs a fresh second factor: step up with the first one's next code.
    const devices = await server.services.devices.listActive((await server.services.users.findByEmail('lee@example.com'))!.id);
    expect(devices).toHaveLength(1);
    expect(mamori(['mfa', 'deactivate', '--email', 'lee@example.com']).status).toBe(2);
    expect(mamori(['mfa', 'deactivate', '--email', 'lee@example.com', '--all', '--device', devices[0]!.id]).status).toBe(2);
    const r = mamori(['mfa', 'deactivate', '--email', 'lee@example.com', '--all']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deactivated 1 devices of lee@example.com/);
    expect(mamori(['mfa', 'list', '--email', 'lee@example.com']).stdout).not.toContain(devices[0]!.id);
    const events = await server.services.store.db.selectFrom('audit_events').select('type').where('type', '=', 'mfa_devices_deactivated_all').execute();
    expect(events).toHaveLength(1);
    expect((await server.outbox()).filter((m) => m.to === 'lee@example.com' && m.kind === 'mfa_devices_reset')).toHaveLength(1);
  });
});
