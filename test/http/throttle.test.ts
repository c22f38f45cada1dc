import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlockUser } from '../../src/flows/users.js';
import type { Answer, Client } from '../helpers/client.js';
import { cliEnvFor, runMamori } from '../helpers/cli.js';
import { databases } from '../helpers/db.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const WRONG = 'not the password, not even close';
const PROBLEM = 'application/problem+json; charset=utf-8';
const DAY_MS = 24 * 3_600_000;

/** 30 s after the 5th failure, doubling per failure, at most an hour. */
const expectedWait = (failures: number) => Math.min(30 * 2 ** (failures - 5), 3600);

function expectProblem(r: Answer, status: number, code: string) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toBe(PROBLEM);
  expect(r.body).toMatchObject({ status, code });
}

const METRICS_TOKEN = 'metrics-token-for-the-throttle-tests-0123456789';

describe.each(databases)('password throttling ($name)', ({ name, skip }) => {
  let server: TestServer;
  let c: Client;
  const attempt = (email: string, password: string) => c.post('/api/v1/sign-in', { email, password });

  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name, env: { MAMORI_METRICS_TOKEN: METRICS_TOKEN } });
    c = server.client();
    for (const email of ['tess@example.com', 'lock.flow@example.com', 'lock.cli@example.com']) await createTestUser(server, email);
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('5 wrong passwords → 429 even for the right one; after Retry-After it works and resets the count', async () => {
    for (let i = 0; i < 5; i++) expectProblem(await attempt('tess@example.com', WRONG), 401, 'invalid_credentials');
    const blocked = await attempt('tess@example.com', STRONG_PASSWORD);
    expectProblem(blocked, 429, 'too_many_attempts');
    expect(blocked.headers.get('retry-after')).toBe('30');

    server.clock.advance(29_000);
    const still = await attempt('tess@example.com', STRONG_PASSWORD);
    expectProblem(still, 429, 'too_many_attempts');
    expect(Number(still.headers.get('retry-after'))).toBeLessThanOrEqual(1);

    server.clock.advance(1_500);
    const ok = await attempt('tess@example.com', STRONG_PASSWORD);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toEqual({ status: 'email_code_sent', expiresAt: expect.any(String), expiresIn: expect.any(Number) });
    const mails = (await server.outbox()).filter((m) => m.to === 'tess@example.com');
    expect(mails.map((m) => m.kind)).toContain('sign_in_after_failures');

    // The success reset the count: four more failures and the right password goes through at once …
    for (let i = 0; i < 4; i++) expectProblem(await attempt('tess@example.com', WRONG), 401, 'invalid_credentials');
    expect((await attempt('tess@example.com', STRONG_PASSWORD)).status).toBe(200);
    // … and the next back-off starts again at 30 s, not where the old count left off.
    for (let i = 0; i < 5; i++) expectProblem(await attempt('tess@example.com', WRONG), 401, 'invalid_credentials');
    const again = await attempt('tess@example.com', STRONG_PASSWORD);
    expectProblem(again, 429, 'too_many_attempts');
    expect(again.headers.get('retry-after')).toBe('30');
    server.clock.advance(31_000);
    expect((await attempt('tess@example.com', STRONG_PASSWORD)).status).toBe(200);
  });

  it.skipIf(skip)('back-off doubles; 100 failures lock the account for good; an unknown email answers identically', async () => {
    const real = 'lock.flow@example.com';
    const ghost = 'nobody.here@example.com';
    const viaCli = 'lock.cli@example.com';
    server.clock.advance(15 * 60_000); // a fresh per-address window
    const seen: number[] = [];
    for (let failures = 1; failures <= 100; failures++) {
      // Side by side (argon2 runs two at a time), as an attacker spraying accounts would.
      for (const r of await Promise.all([real, viaCli, ghost].map((email) => attempt(email, WRONG)))) {
        expectProblem(r, 401, 'invalid_credentials');
      }
      if (failures < 5) continue;
      // The right password right after the failure: refused, and the unknown email gets the very same answer.
      const [a, b, g] = (await Promise.all([real, viaCli, ghost].map((email) => attempt(email, STRONG_PASSWORD)))) as [Answer, Answer, Answer];
      if (failures < 100) {
        expectProblem(a, 429, 'too_many_attempts');
        const wait = Number(a.headers.get('retry-after'));
        expect(wait, `after ${failures} failures`).toBe(expectedWait(failures));
        seen.push(wait);
        server.clock.advance(wait * 1000 + 500);
      } else {
        expectProblem(a, 423, 'account_locked');
        expect(a.headers.get('retry-after')).toBeNull();
      }
      for (const other of [b, g]) {
        expect(other.status, `${failures} failures`).toBe(a.status);
        expect(other.text, `${failures} failures`).toBe(a.text);
        expect(other.headers.get('retry-after')).toBe(a.headers.get('retry-after'));
      }
    }
    expect(seen.slice(0, 9)).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);

    // Locked for good: a day later, the right password still gets 423, for the real and the unknown email alike.
    server.clock.advance(DAY_MS + 60_000);
    const later = await attempt(real, STRONG_PASSWORD);
    expectProblem(later, 423, 'account_locked');
    const laterGhost = await attempt(ghost, STRONG_PASSWORD);
    expect(laterGhost.status).toBe(423);
    expect(laterGhost.text).toBe(later.text);

    // The owner was told, once.
    const locks = (await server.outbox()).filter((m) => m.to === real && m.kind === 'account_locked');
    expect(locks).toHaveLength(1);
    const metrics = await server.client().get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
    // Two accounts and the unknown email: counted alike, so the metrics tell nothing about which emails exist.
    expect(metrics.text).toMatch(/mamori_lockouts_total\{kind="password_lock"\} 3/);

    // The flow behind `mamori user unlock` lifts it; the audit trail shows lock and unlock.
    const user = (await server.services.users.findByEmail(real))!;
    await unlockUser(server.services, user, 'test', { ip: null, userAgent: 'test' });
    const me = await signIn(server, real);
    const activity = await me.get<{ events: Array<{ type: string; detail: Record<string, unknown> }> }>('/api/v1/me/activity');
    expect(activity.status).toBe(200);
    const types = activity.body.events.map((e) => e.type);
    expect(types).toContain('account_locked');
    expect(types).toContain('account_unlocked');
    expect(activity.body.events.find((e) => e.type === 'account_locked')!.detail).toMatchObject({ consecutiveFailures: 100 });
    // The count starts from zero again.
    for (let i = 0; i < 4; i++) expectProblem(await attempt(real, WRONG), 401, 'invalid_credentials');
    expect((await attempt(real, STRONG_PASSWORD)).status).toBe(200);

    // The other account stays locked until the CLI unlocks it.
    expectProblem(await attempt(viaCli, STRONG_PASSWORD), 423, 'account_locked');
    const unlocked = await runMamori(['user', 'unlock', '--email', viaCli], cliEnvFor(server));
    expect(unlocked.status, unlocked.stderr).toBe(0);
    expect(unlocked.stdout).toBe(`unlocked ${viaCli}\n`);
    expect(unlocked.stderr).toBe('');
    expect((await attempt(viaCli, STRONG_PASSWORD)).status).toBe(200);
  });

  it.skipIf(skip)('an unknown email is throttled after 5 failures exactly like an account', async () => {
    server.clock.advance(15 * 60_000);
    await createTestUser(server, 'twin@example.com');
    const answers: Record<string, Answer[]> = { 'twin@example.com': [], 'twin.ghost@example.com': [] };
    for (let i = 0; i < 5; i++) {
      for (const email of Object.keys(answers)) answers[email]!.push(await attempt(email, WRONG));
    }
    for (const email of Object.keys(answers)) answers[email]!.push(await attempt(email, STRONG_PASSWORD));
    const [known, unknown] = Object.values(answers) as [Answer[], Answer[]];
    expect(known.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 429]);
    for (let i = 0; i < known.length; i++) {
      expect(unknown[i]!.status).toBe(known[i]!.status);
      expect(unknown[i]!.text).toBe(known[i]!.text);
      expect(unknown[i]!.headers.get('retry-after')).toBe(known[i]!.headers.get('retry-after'));
    }
    expect(unknown[5]!.headers.get('retry-after')).toBe('30');
  });

  describe('per-address limit', () => {
    let limited: TestServer;
    beforeAll(async () => {
      if (skip) return;
      limited = await startServer({ database: name, env: { MAMORI_IP_FAILURE_LIMIT: '3' } });
      for (const email of ['ip1@example.com', 'ip2@example.com', 'ip3@example.com', 'ip4@example.com']) await createTestUser(limited, email);
    });
    afterAll(async () => limited?.close());

    it.skipIf(skip)('3 failures from one address (different accounts) → 429; successes and malformed requests do not count', async () => {
      const ic = limited.client();
      const signInAs = (email: string, password: string) => ic.post('/api/v1/sign-in', { email, password });
      // Malformed requests are refused before any credential is checked.
      for (const body of [{}, { email: 'ip1@example.com' }, { email: 'not an email', password: WRONG }, { email: 'ip1@example.com', password: 5 }, '{"email":']) {
        expectProblem(await ic.post('/api/v1/sign-in', body), 400, 'validation_failed');
      }
      expectProblem(await signInAs('ip1@example.com', WRONG), 401, 'invalid_credentials');
      expect((await signInAs('ip4@example.com', STRONG_PASSWORD)).status).toBe(200);
      expectProblem(await signInAs('ip2@example.com', WRONG), 401, 'invalid_credentials');
      expect((await signInAs('ip4@example.com', STRONG_PASSWORD)).status).toBe(200);
      expectProblem(await signInAs('nobody@example.com', WRONG), 401, 'invalid_credentials');

      // Three failures: now every sign-in from this address waits, whatever account and password.
      for (const [email, password] of [
        ['ip4@example.com', STRONG_PASSWORD],
        ['ip3@example.com', STRONG_PASSWORD],
        ['someone.else@example.com', WRONG],
      ] as const) {
        const r = await signInAs(email, password);
        expectProblem(r, 429, 'too_many_attempts');
        const wait = Number(r.headers.get('retry-after'));
        expect(wait).toBeGreaterThan(0);
        expect(wait).toBeLessThanOrEqual(600);
      }
      // The accounts themselves were never touched: after the address window they sign in at once.
      limited.clock.advance(10 * 60_000 + 1000);
      expect((await signInAs('ip3@example.com', STRONG_PASSWORD)).status).toBe(200);
      expect((await signInAs('ip1@example.com', STRONG_PASSWORD)).status).toBe(200);
    });
  });
});
