import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { readOutbox } from '../../src/mail/mailer.js';
import { Client } from './client.js';
import { appCode } from './otp.js';
import type { ServerProcess } from './process.js';
import { STRONG_PASSWORD } from './server.js';

/** The newest emailed sign-in code in a spawned server's development outbox. */
export async function lastOutboxCode(dataDir: string, to?: string): Promise<string> {
  const mails = await readOutbox(dataDir);
  const mail = to === undefined ? mails.at(-1) : mails.filter((m) => JSON.stringify(m).includes(to)).at(-1);
  return /\b(\d{6})\b/.exec(mail!.text)![1]!;
}

/**
 * Claims a fresh spawned server: the first administrator through the setup token, signed in with
 * the emailed code, with an authenticator app assigned (so the session is aal2 and may administer).
 */
export async function bootstrapAdmin(proc: ServerProcess, dataDir: string, email = 'root@example.com'): Promise<{ admin: Client; secret: string; deviceId: string }> {
  const admin = new Client(proc.url);
  const setupToken = readFileSync(path.join(dataDir, 'setup-token'), 'utf8').trim();
  expect((await admin.post('/api/v1/setup', { email, password: STRONG_PASSWORD, setupToken })).status).toBe(201);
  expect((await admin.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).status).toBe(200);
  expect((await admin.post('/api/v1/sign-in/email-code', { code: await lastOutboxCode(dataDir) })).status).toBe(200);
  const t = await admin.post<{ id: string; secret: string }>('/api/v1/me/mfa-devices/totp', { name: 'Phone' });
  const now = Date.now();
  expect((await admin.post(`/api/v1/me/mfa-devices/${t.body.id}/activate`, { code1: appCode(t.body.secret, now), code2: appCode(t.body.secret, now, 1) })).status).toBe(200);
  return { admin, secret: t.body.secret, deviceId: t.body.id };
}
