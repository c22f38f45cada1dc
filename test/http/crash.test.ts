import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createServices } from '../../src/services.js';
import { Client } from '../helpers/client.js';
import { databases, freshPostgres } from '../helpers/db.js';
import { appCode } from '../helpers/otp.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { runMamori } from '../helpers/cli.js';
import { STRONG_PASSWORD } from '../helpers/server.js';
import { bootstrapAdmin, lastOutboxCode } from '../helpers/spawned.js';

describe.each(databases)('kill -9 under a load of user creations, sign-ins and device assignments ($name)', ({ name, skip }) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-crash-'));
  const masterKey = randomBytes(32).toString('base64');
  let drop: (() => Promise<void>) | undefined;
  let proc: ServerProcess | undefined;
  afterAll(async () => {
    // A child killed by a signal has no exit code: only one still running is stopped.
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) await proc.stop('SIGKILL');
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.skipIf(skip)('keeps every acknowledged user and device, and the audit chain verifies', async () => {
    const env: Record<string, string> = { MAMORI_DATA_DIR: dataDir, MAMORI_MASTER_KEY: masterKey };
    if (name === 'postgres') {
      const db = await freshPostgres();
      drop = db.drop;
      env.MAMORI_DATABASE_URL = db.url;
    }
    proc = await spawnServer(env);
    // With MAMORI_PORT=0 the default public origin follows the port the server really got.
    const origin = `http://localhost:${new URL(proc.url).port}`;
    expect((await new Client(proc.url).post('/api/v1/sign-out', undefined, { origin })).status).toBe(204);
    const { admin } = await bootstrapAdmin(proc, dataDir);
    const url = proc.url;

    // Four writers; each creates a user, signs in as that user (password, emailed code) and
    // assigns an authenticator app (two codes). The server is killed while they run.
    const users: string[] = [];
    const signIns: string[] = [];
    const assignments: Array<{ email: string; userId: string; deviceId: string }> = [];
    let n = 0;
    let stop = false;
    const writer = async () => {
      while (!stop) {
        const email = `user${n++}@example.com`;
        try {
          const created = await admin.post<{ user: { id: string } }>('/api/v1/admin/users', { email, password: STRONG_PASSWORD });
          if (created.status !== 201) continue;
          users.push(email);
          const c = new Client(url);
          if ((await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).status !== 200) continue;
          const signedIn = await c.post('/api/v1/sign-in/email-code', { code: await lastOutboxCode(dataDir, email) });
          if (signedIn.status !== 200) continue;
          signIns.push(email);
          const t = await c.post<{ id: string; secret: string }>('/api/v1/me/mfa-devices/totp', { name: 'Phone' });
          if (t.status !== 201 && t.status !== 200) continue;
          const now = Date.now();
          const activated = await c.post(`/api/v1/me/mfa-devices/${t.body.id}/activate`, { code1: appCode(t.body.secret, now), code2: appCode(t.body.secret, now, 1) });
          if (activated.status === 200) assignments.push({ email, userId: created.body.user.id, deviceId: t.body.id });
        } catch {
          return; // the connection died with the server
        }
      }
    };
    const writers = Array.from({ length: 4 }, writer);
    while (assignments.length < 12) await new Promise((r) => setTimeout(r, 20));
    await proc.stop('SIGKILL');
    stop = true;
    await Promise.all(writers);
    console.log(`[crash ${name}] acknowledged before kill -9: ${users.length} users, ${signIns.length} sign-ins, ${assignments.length} device assignments`);
    expect(assignments.length).toBeGreaterThanOrEqual(12);

    const s = await createServices(loadConfig({ ...env, MAMORI_LOG_LEVEL: 'silent' }));
    try {
      for (const email of users) expect(await s.users.findByEmail(email), email).toBeDefined();
      for (const a of assignments) {
        const device = await s.devices.find(a.userId, a.deviceId);
        expect(device, a.email).toBeDefined();
        expect(device!.status, a.email).toBe('active');
      }
      const chain = await s.audit.verify();
      expect(chain.valid).toBe(true);
      expect(chain.events).toBeGreaterThan(users.length + signIns.length + assignments.length);
    } finally {
      await s.close();
    }
    const verified = await runMamori(['audit', 'verify'], { ...env, MAMORI_LOG_LEVEL: 'silent' });
    expect(verified.stderr).toBe('');
    expect(verified.status).toBe(0);
    expect(verified.stdout).toMatch(/^audit chain valid: \d+ events/);
    // And the server starts again on the same data, and an assigned device signs its owner in.
    proc = await spawnServer(env);
    expect((await new Client(proc.url).get('/readyz')).status).toBe(200);
    const again = new Client(proc.url);
    expect((await again.post('/api/v1/sign-in', { email: assignments[0]!.email, password: STRONG_PASSWORD })).body).toMatchObject({ status: 'mfa_required' });
  });
});
