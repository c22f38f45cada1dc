/**
 * Getting users, sessions and second factors through the public API, as a browser does, and
 * the server's test clock (MAMORI_TEST_CLOCK=true), which lets a TOTP device sign in again
 * without waiting 30 s for its next code.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { call, cookieOf, expectStatus, field, stringField, stringsField } from './client.js';
import type { Mamori } from './servers.js';
import { hotp, timeStep } from '../src/methods/totp/otp.js';
import { base32Decode } from '../src/methods/totp/otpauth.js';

export const OTP = { algorithm: 'SHA1', digits: 6 } as const;
export const randomPassword = (): string => `bench ${randomBytes(12).toString('base64url')} pass phrase`;

function latestSignInCode(dataDir: string, email: string): string {
  const dir = path.join(dataDir, 'outbox');
  const names = readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort().reverse();
  for (const name of names) {
    const mail = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as unknown;
    if (field(mail, 'kind') !== 'email_code' || field(mail, 'to') !== email) continue;
    const m = /\b(\d{6})\b/.exec(stringField(mail, 'text'));
    if (m) return m[1]!;
  }
  throw new Error(`no sign-in code for ${email} in ${dir}`);
}

/** First administrator with the setup token, then password + emailed code: an aal-1 session cookie. */
export async function setupAdmin(m: Mamori, email: string, password: string): Promise<string> {
  const setupToken = readFileSync(path.join(m.instance.dataDir, 'setup-token'), 'utf8').trim();
  expectStatus(await call(m.url, 'POST', '/api/v1/setup', { json: { email, password, setupToken } }), 201, 'POST /api/v1/setup');
  const first = expectStatus(await call(m.url, 'POST', '/api/v1/sign-in', { json: { email, password } }), 200, 'POST /api/v1/sign-in');
  if (field(first.body, 'status') !== 'email_code_sent') throw new Error(`sign-in: ${JSON.stringify(first.body)}`);
  const code = latestSignInCode(m.instance.dataDir, email);
  const second = expectStatus(
    await call(m.url, 'POST', '/api/v1/sign-in/email-code', { json: { code }, cookie: `mamori_signin=${cookieOf(first, 'mamori_signin')}` }),
    200,
    'POST /api/v1/sign-in/email-code',
  );
  return cookieOf(second, 'mamori_session');
}

export interface Enrolled {
  key: Buffer;
  /** The raised (aal 2) session. */
  session: string;
  /** The first device's set of recovery codes, shown once. */
  recoveryCodes: string[];
}

/** Assigns an authenticator app (codes of steps S and S+1). */
export async function enrollTotp(m: Mamori, session: string, serverNowMs: () => number): Promise<Enrolled> {
  const started = expectStatus(
    await call(m.url, 'POST', '/api/v1/me/mfa-devices/totp', { json: { name: 'bench' }, cookie: `mamori_session=${session}` }),
    201,
    'POST /api/v1/me/mfa-devices/totp',
  );
  const key = base32Decode(stringField(started.body, 'secret'));
  const step = timeStep(serverNowMs(), 30);
  const activated = expectStatus(
    await call(m.url, 'POST', `/api/v1/me/mfa-devices/${stringField(started.body, 'id')}/activate`, {
      json: { code1: hotp(key, step, OTP), code2: hotp(key, step + 1n, OTP) },
      cookie: `mamori_session=${session}`,
    }),
    200,
    'POST /api/v1/me/mfa-devices/{id}/activate',
  );
  return { key, session: cookieOf(activated, 'mamori_session'), recoveryCodes: stringsField(activated.body, 'recoveryCodes') };
}

/** The server's test clock, as the bench sees it: moved forward, and read back through the offset. */
export class ServerClock {
  #offsetMs = 0;
  constructor(private readonly m: Mamori) {}

  async move(seconds: number): Promise<void> {
    const r = expectStatus(await call(this.m.url, 'POST', '/api/v1/test/clock', { json: { advanceSeconds: seconds } }), 200, 'POST /api/v1/test/clock');
    this.#offsetMs = Date.parse(stringField(r.body, 'now')) - Date.now();
  }

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  step(): bigint {
    return timeStep(this.now(), 30);
  }
}

/** The user's browser: the cookie it keeps (mamori_browser), as a person's does between sign-ins. */
export const browserCookie = (browser: string | undefined): string => (browser ? `; mamori_browser=${browser}` : '');

/** The password step: the pending sign-in's cookie, or an error naming what came back. */
export async function passwordStep(base: string, email: string, password: string, browser?: string): Promise<string> {
  const r = await call(base, 'POST', '/api/v1/sign-in', { json: { email, password }, ...(browser ? { cookie: `mamori_browser=${browser}` } : {}) });
  if (r.status !== 200 || field(r.body, 'status') !== 'mfa_required' || !r.cookies.mamori_signin) throw new Error(`password step: ${r.status} ${JSON.stringify(r.body)}`);
  return r.cookies.mamori_signin;
}

/** The second step with any factor's proof; returns the session and the browser cookie the answer set. */
export async function secondStep(base: string, signIn: string, proof: Record<string, string>, browser?: string): Promise<{ session: string; browser: string | undefined }> {
  const r = await call(base, 'POST', '/api/v1/sign-in/mfa', { json: proof, cookie: `mamori_signin=${signIn}${browserCookie(browser)}` });
  if (r.status !== 200 || field(r.body, 'status') !== 'signed_in' || !r.cookies.mamori_session) throw new Error(`second step: ${r.status} ${JSON.stringify(r.body)}`);
  return { session: r.cookies.mamori_session, browser: r.cookies.mamori_browser ?? browser };
}

export async function sessionCheck(base: string, session: string): Promise<void> {
  const r = await call(base, 'GET', '/api/v1/session', { cookie: `mamori_session=${session}` });
  if (r.status !== 200) throw new Error(`GET /api/v1/session: ${r.status} ${JSON.stringify(r.body)}`);
}
