import { Writable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { buildApp, type App } from '../../src/http/app.js';
import { createServices, ensureSetupToken, type Services } from '../../src/services.js';
import { Client } from '../helpers/client.js';
import { appCode } from '../helpers/otp.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * SEC-36 with canaries: run the secret-bearing flows with logging at trace level and real SMTP,
 * then search every log line, every audit row and every answer after enrollment for the secrets.
 */
describe('secrets never leak into logs, audit events or later answers', () => {
  const logLines: string[] = [];
  const mails: string[] = [];
  let smtp: SMTPServer;
  let services: Services;
  let app: App;
  let url: string;
  let dataDir: string;
  const clock = new TestClock();

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, cb) {
        simpleParser(stream).then((m) => {
          mails.push(m.text ?? '');
          cb();
        }, cb);
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.server.address() as { port: number }).port;
    dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-canary-'));
    const config = loadConfig({
      MAMORI_DATA_DIR: dataDir,
      MAMORI_PORT: '0',
      MAMORI_MASTER_KEY: randomBytes(32).toString('base64'),
      MAMORI_SMTP_URL: `smtp://127.0.0.1:${port}`,
      MAMORI_LOG_LEVEL: 'trace',
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    services = await createServices(config, { clock, log: pino({ level: 'trace' }, sink) });
    await ensureSetupToken(services);
    app = await buildApp(services);
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await services?.close();
    await new Promise<void>((r) => smtp.close(() => r()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps canary password, seed, codes and recovery codes out of everything but their one answer', async () => {
    const password = 'canary Pässwort zebra 7781 glacier';
    const later: string[] = [];
    const c = new Client(url);
    const setupToken = (await import('node:fs')).readFileSync(path.join(dataDir, 'setup-token'), 'utf8').trim();
    expect((await c.post('/api/v1/setup', { email: 'canary@example.com', password, setupToken })).status).toBe(201);
    await c.post('/api/v1/sign-in', { email: 'canary@example.com', password });
    await new Promise((r) => setTimeout(r, 200));
    const emailCode = /\b(\d{6})\b/.exec(mails.at(-1)!)![1]!;
    later.push((await c.post('/api/v1/sign-in/email-code', { code: emailCode })).text);
    const t = await c.post<{ id: string; secret: string }>('/api/v1/me/mfa-devices/totp', { name: 'Phone' });
    const seed = t.body.secret;
    const now = clock.now();
    const activation = await c.post<{ recoveryCodes: string[] }>(`/api/v1/me/mfa-devices/${t.body.id}/activate`, { code1: appCode(seed, now), code2: appCode(seed, now, 1) });
    const recovery = activation.body.recoveryCodes;
    clock.advance(60_000);
    const totpCode = appCode(seed, clock.now());
    // Wrong things too: errors must not echo what was sent.
    later.push((await c.post('/api/v1/me/step-up', { method: 'totp', code: '000000' })).text);
    later.push((await c.post('/api/v1/me/step-up', { method: 'recovery_code', code: recovery[0] })).text);
    later.push((await c.post('/api/v1/me/step-up', { method: 'totp', code: totpCode })).text);
    later.push((await c.put('/api/v1/me/password', { currentPassword: password, newPassword: 'x' })).text);
    later.push((await c.get('/api/v1/me/mfa-devices')).text);
    later.push((await c.get('/api/v1/session')).text);
    later.push((await c.get('/api/v1/me/activity')).text);
    later.push((await c.get('/api/v1/admin/audit?limit=1000')).text);
    later.push((await c.get('/api/v1/admin/users')).text);
    later.push((await c.get('/api/v1/admin/credential-report')).text);
    later.push((await new Client(url).post('/api/v1/sign-in', { email: 'canary@example.com', password: password + 'x' })).text);

    const audit = JSON.stringify(await services.store.db.selectFrom('audit_events').selectAll().execute());
    const rows = JSON.stringify(await services.store.db.selectFrom('mfa_devices').selectAll().execute()) + JSON.stringify(await services.store.db.selectFrom('recovery_codes').selectAll().execute());
    const haystacks = { logs: logLines.join('\n'), audit, answers: later.join('\n'), database: rows };
    const canaries = { password, seed, emailCode, totpCode, ...Object.fromEntries(recovery.map((r, i) => [`recovery${i}`, r])), ...Object.fromEntries(recovery.map((r, i) => [`recoveryRaw${i}`, r.replace('-', '')])) };
    expect(logLines.length).toBeGreaterThan(10);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const [what, secret] of Object.entries(canaries)) {
        // Six-digit codes can appear by chance inside ids or hashes; look for them as whole tokens.
        const found = /^\d{6}$/.test(secret) ? new RegExp(`(?<![\\w-])${secret}(?![\\w-])`).test(text) : text.includes(secret);
        expect(found, `${what} found in ${where}`).toBe(false);
      }
    }
  });
});
