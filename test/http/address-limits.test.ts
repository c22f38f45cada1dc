/**
 * Issue 7, item 6: anonymous WebAuthn challenges (`POST /api/v1/sign-in/passkey-options` without a
 * session) are bounded per client address, and refusals by the per-address budgets are audited
 * once per window and address, never once per request. The sign-in per-address limit
 * (MAMORI_IP_FAILURE_LIMIT) is checked the same way.
 *
 * Every client address is simulated with X-Forwarded-For from loopback (a trusted proxy by default, MAMORI_TRUSTED_PROXIES), so each
 * test owns its addresses and the budgets of one do not leak into another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSKEY_CHALLENGES_PER_ADDRESS, passkeyChallengeRule } from '../../src/regulation/rules.js';
import { databases } from '../helpers/db.js';
import { createTestUser, startServer, STRONG_PASSWORD, type TestServer } from '../helpers/server.js';

const LIMIT = PASSKEY_CHALLENGES_PER_ADDRESS;
const WINDOW_MS = passkeyChallengeRule.windowMs;
const IP_FAILURE_LIMIT = 3;
const IP_WINDOW_MINUTES = 10;

describe.each(databases)('per-address budgets ($name)', ({ name, skip }) => {
  let server: TestServer;

  beforeAll(async () => {
    if (skip) return;
    server = await startServer({
      database: name,
      env: {
        MAMORI_IP_FAILURE_LIMIT: String(IP_FAILURE_LIMIT),
        MAMORI_IP_FAILURE_WINDOW_MINUTES: String(IP_WINDOW_MINUTES),
      },
    });
    await createTestUser(server, 'pat@example.com');
  });
  afterAll(async () => server?.close());

  const options = (ip: string) => server.client().post('/api/v1/sign-in/passkey-options', {}, { 'x-forwarded-for': ip });
  const signIn = (ip: string, email: string, password: string) =>
    server.client().post('/api/v1/sign-in', { email, password }, { 'x-forwarded-for': ip });
  const challengeRows = async () =>
    Number((await server.services.store.db.selectFrom('webauthn_challenges').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  /** address_throttled events for one address and budget. */
  const throttledEvents = async (ip: string, budget: string) =>
    (await server.services.store.db.selectFrom('audit_events').selectAll().where('type', '=', 'address_throttled').where('ip', '=', ip).execute()).filter(
      (e) => (JSON.parse(e.detail) as { budget?: string }).budget === budget,
    );

  it.skipIf(skip)(`passkey-options: ${LIMIT} per address per 10 minutes, then 429 with Retry-After; rows stop growing; works again after the window`, async () => {
    const ip = '198.51.100.10';
    const before = await challengeRows();
    for (let i = 0; i < LIMIT; i++) {
      const r = await options(ip);
      expect(r.status, `request ${i + 1}: ${r.text}`).toBe(200);
      expect(r.body).toHaveProperty('challenge');
    }
    expect(await challengeRows()).toBe(before + LIMIT);

    const refused = await options(ip);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 429, code: 'too_many_attempts' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect((refused.body as { retryAfter?: number }).retryAfter).toBe(retryAfter);

    // 50 more refusals: no new challenge row, and still exactly one audit event for the window.
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) statuses.push((await options(ip)).status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    expect(await challengeRows()).toBe(before + LIMIT);
    const events = await throttledEvents(ip, 'passkey_challenges');
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.detail)).toMatchObject({ budget: 'passkey_challenges', limit: LIMIT, windowMinutes: WINDOW_MS / 60_000 });

    // Another address is not affected by this one's budget.
    expect((await options('198.51.100.11')).status).toBe(200);

    // After the window (Retry-After seconds later) the address is served again...
    server.clock.advance(retryAfter * 1000 + 1000);
    const again = await options(ip);
    expect(again.status, again.text).toBe(200);
    for (let i = 1; i < LIMIT; i++) expect((await options(ip)).status).toBe(200);
    // ... for one window's worth, and the new window's refusals are audited once more.
    for (let i = 0; i < 50; i++) expect((await options(ip)).status).toBe(429);
    expect(await throttledEvents(ip, 'passkey_challenges')).toHaveLength(2);
  });

  it.skipIf(skip)('passkey-options: each window with refusals has exactly one address_throttled event, wherever in the window the limit was reached', async () => {
    // The window starts with the first request; the limit is reached late in it (minute 9).
    const ip = '198.51.100.20';
    expect((await options(ip)).status).toBe(200);
    server.clock.advance(9 * 60_000);
    for (let i = 1; i < LIMIT; i++) expect((await options(ip)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await options(ip)).status).toBe(429);
    expect(await throttledEvents(ip, 'passkey_challenges')).toHaveLength(1);

    // Minute 10 + 5 s: a new window. Fill it at once and keep refusing.
    server.clock.advance(60_000 + 5_000);
    for (let i = 0; i < LIMIT; i++) expect((await options(ip)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await options(ip)).status).toBe(429);
    // The second window refused 10 requests: it must have its own (single) audit event.
    expect(await throttledEvents(ip, 'passkey_challenges'), 'refusals of the second window were not audited').toHaveLength(2);
  });

  it.skipIf(skip)(`100 concurrent passkey-options from one address: at most ${LIMIT} get a challenge, one audit event`, async () => {
    const ip = '198.51.100.30';
    const before = await challengeRows();
    const answers = await Promise.all(Array.from({ length: 100 }, () => options(ip)));
    const ok = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 429).length;
    expect(answers.filter((a) => a.status >= 500)).toHaveLength(0);
    expect(ok + refused).toBe(100);
    expect(ok).toBeLessThanOrEqual(LIMIT);
    expect(ok).toBe(LIMIT); // nothing refused while the window still had room
    expect(await challengeRows()).toBe(before + ok);
    expect(await throttledEvents(ip, 'passkey_challenges')).toHaveLength(1);
    process.stdout.write(`[address-limits ${name}] 100 concurrent passkey-options: ${ok} × 200, ${refused} × 429, ${(await challengeRows()) - before} new challenge rows\n`);
  });

  it.skipIf(skip)(`sign-in: ${IP_FAILURE_LIMIT} failures per address, then 429; 50 refusals give one address_throttled event per window`, async () => {
    const ip = '198.51.100.40';
    for (let i = 0; i < IP_FAILURE_LIMIT; i++) {
      const r = await signIn(ip, 'pat@example.com', `wrong password number ${i}`);
      expect(r.status, r.text).toBe(401);
    }
    const refused = await signIn(ip, 'pat@example.com', STRONG_PASSWORD);
    expect(refused.status, refused.text).toBe(429);
    expect(refused.body).toMatchObject({ code: 'too_many_attempts' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(IP_WINDOW_MINUTES * 60);

    // 50 refused requests, some sequential and some at once, wrong and right passwords, unknown emails.
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await signIn(ip, i % 2 ? 'pat@example.com' : `ghost${i}@example.com`, `guess ${i} guess guess`)).status);
    statuses.push(...(await Promise.all(Array.from({ length: 30 }, (_, i) => signIn(ip, 'pat@example.com', i % 3 ? `guess ${i} again` : STRONG_PASSWORD)))).map((a) => a.status));
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    const events = await throttledEvents(ip, 'address');
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.detail)).toMatchObject({ budget: 'address', limit: IP_FAILURE_LIMIT, windowMinutes: IP_WINDOW_MINUTES });
    // The refused requests were not evaluated: no sign_in_failed rows for them.
    const failed = await server.services.store.db.selectFrom('audit_events').select('id').where('type', '=', 'sign_in_failed').where('ip', '=', ip).execute();
    expect(failed).toHaveLength(IP_FAILURE_LIMIT);

    // The right password from another address is not refused by this address's budget.
    expect((await signIn('198.51.100.41', 'pat@example.com', STRONG_PASSWORD)).status).toBe(200);

    // After the window: the address signs in again; a second round of refusals is audited once more.
    server.clock.advance(retryAfter * 1000 + 1000);
    expect((await signIn(ip, 'pat@example.com', STRONG_PASSWORD)).status).toBe(200);
    for (let i = 0; i < IP_FAILURE_LIMIT; i++) expect((await signIn(ip, `ghost-b${i}@example.com`, 'not the password at all')).status).toBe(401);
    for (let i = 0; i < 50; i++) expect((await signIn(ip, 'pat@example.com', STRONG_PASSWORD)).status).toBe(429);
    expect(await throttledEvents(ip, 'address')).toHaveLength(2);
  });

  it.skipIf(skip)('the audit chain still verifies', async () => {
    expect((await server.services.audit.verify()).valid).toBe(true);
  });
});
