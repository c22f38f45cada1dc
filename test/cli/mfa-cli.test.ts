import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { base32Decode } from '../../src/methods/totp/otpauth.js';
import { appCode } from '../helpers/otp.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const root = path.resolve(import.meta.dirname, '../..');
const pskc = (name: string) => path.resolve(root, 'test/fixtures/pskc', name);

describe('mamori mfa / token / keys (CLI against a running server’s database)', () => {
  let server: TestServer;
  let secret: string;
  let deviceId: string;
  const mamori = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['bin/mamori.js', ...args], {
      cwd: root,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        MAMORI_DATA_DIR: server.dataDir,
        MAMORI_MASTER_KEY: server.config.masterKeys[0]!.toString('base64'),
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

  it('imports PSKC all-or-nothing', () => {
    const file = pskc('rfc6030-figure6-aes128-psk.pskc');
    const flipped = path.join(server.dataDir, 'flipped.pskc');
    writeFileSync(flipped, readFileSync(file, 'utf8').replace('AAECAwQFBgcICQoLDA0OD+cI', 'AAECAwQFBgcICQoLDA0OD+cJ'));
    const bad = mamori(['token', 'import', flipped, '--psk', '12345678901234567890123456789012']);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(mamori(['token', 'import', file, '--psk', 'zz']).status).toBe(2);
    const ok = mamori(['token', 'import', file, '--psk', '12345678901234567890123456789012']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('imported 1');
    const again = mamori(['token', 'import', file, '--psk', '12345678901234567890123456789012']);
    expect(again.stdout).toContain('skipped 987654321: duplicate_serial');
    const plain = mamori(['token', 'import', pskc('totp-plaintext.pskc')]);
    expect(plain.stdout).toContain('imported 1');
    expect(ok.stdout + again.stdout + plain.stdout).not.toMatch(/MTIzNDU2|3132333435/);
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
  });

  it('deactivates a lost device and notifies the user', async () => {
    const r = mamori(['mfa', 'deactivate', '--email', 'kim@example.com', '--device', deviceId]);
    expect(r.status, r.stderr).toBe(0);
    expect(mamori(['mfa', 'list', '--email', 'kim@example.com']).stdout).not.toContain(deviceId);
    expect((await server.outbox()).some((m) => m.to === 'kim@example.com' && m.kind === 'mfa_device_removed')).toBe(true);
    expect(mamori(['mfa', 'deactivate', '--email', 'kim@example.com', '--device', deviceId]).status).toBe(1);
  });
});
