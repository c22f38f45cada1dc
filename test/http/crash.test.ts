import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { readOutbox } from '../../src/mail/mailer.js';
import { createServices } from '../../src/services.js';
import { Client } from '../helpers/client.js';
import { databases, freshPostgres } from '../helpers/db.js';
import { appCode } from '../helpers/otp.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { STRONG_PASSWORD } from '../helpers/server.js';

describe.each(databases)('kill -9 during a stream of user creations ($name)', ({ name, skip }) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-crash-'));
  const masterKey = randomBytes(32).toString('base64');
  let drop: (() => Promise<void>) | undefined;
  let proc: ServerProcess | undefined;
  afterAll(async () => {
    await proc?.stop('SIGKILL');
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.skipIf(skip)('keeps every acknowledged user, and the audit chain verifies', async () => {
    const env: Record<string, string> = { MAMORI_DATA_DIR: dataDir, MAMORI_MASTER_KEY: masterKey };
    if (name === 'postgres') {
      const db = await freshPostgres();
      drop = db.drop;
      env.MAMORI_DATABASE_URL = db.url;
    }
    proc = await spawnServer(env);
    const admin = new Client(proc.url);
    // With MAMORI_PORT=0 the default public origin follows the port the server really got.
    const origin = `http://localhost:${new URL(proc.url).port}`;
    expect((await admin.post('/api/v1/sign-out', undefined, { origin })).status).toBe(204);
    const setupToken = readFileSync(path.join(dataDir, 'setup-token'), 'utf8').trim();
    expect((await admin.post('/api/v1/setup', { email: 'root@example.com', password: STRONG_PASSWORD, setupToken })).status).toBe(201);
    await admin.post('/api/v1/sign-in', { email: 'root@example.com', password: STRONG_PASSWORD });
    const code = /\b(\d{6})\b/.exec((await readOutbox(dataDir)).at(-1)!.text)![1]!;
    expect((await admin.post('/api/v1/sign-in/email-code', { code })).status).toBe(200);
    const t = await admin.post<{ id: string; secret: string }>('/api/v1/me/mfa-devices/totp', { name: 'Phone' });
    const now = Date.now();
    expect((await admin.post(`/api/v1/me/mfa-devices/${t.body.id}/activate`, { code1: appCode(t.body.secret, now), code2: appCode(t.body.secret, now, 1) })).status).toBe(200);

    // Four writers stream user creations; the server is killed while they run.
    const acknowledged: string[] = [];
    let n = 0;
    let stop = false;
    const writer = async () => {
      while (!stop) {
        const email = `user${n++}@example.com`;
        try {
          const r = await admin.post('/api/v1/admin/users', { email, password: STRONG_PASSWORD });
          if (r.status === 201) acknowledged.push(email);
        } catch {
          return; // the connection died with the server
        }
      }
    };
    const writers = Array.from({ length: 4 }, writer);
    while (acknowledged.length < 40) await new Promise((r) => setTimeout(r, 20));
    await proc.stop('SIGKILL');
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThanOrEqual(40);

    const s = await createServices(loadConfig({ ...env, MAMORI_LOG_LEVEL: 'silent' }));
    try {
      for (const email of acknowledged) expect(await s.users.findByEmail(email), email).toBeDefined();
      const chain = await s.audit.verify();
      expect(chain.valid).toBe(true);
      expect(chain.events).toBeGreaterThan(acknowledged.length);
    } finally {
      await s.close();
    }
    // And the server starts again on the same data.
    proc = await spawnServer(env);
    expect((await new Client(proc.url).get('/readyz')).status).toBe(200);
  });
});
