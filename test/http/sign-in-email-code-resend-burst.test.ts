/**
 * The resend of an emailed sign-in code under a burst: 100 concurrent resends of one pending
 * sign-in (alternating between two instances on PostgreSQL) mail exactly as many codes as the
 * hourly budget of sign-in mails allows, answer 429 for the rest, and never 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMAIL_CODES_PER_HOUR } from '../../src/regulation/rules.js';
import { databases } from '../helpers/db.js';
import { STRONG_PASSWORD, createTestUser, startServer, type TestServer } from '../helpers/server.js';

describe.each(databases)('emailed-code resend under a burst ($name)', ({ name, skip }) => {
  let server: TestServer;
  let second: TestServer | undefined;
  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
    if (name === 'postgres') second = await startServer({ shareWith: server });
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
  });

  it.skipIf(skip)('100 concurrent resends mail exactly the hourly budget, the rest 429', async () => {
    const email = `burst-${name}@example.com`;
    await createTestUser(server, email);
    const c = server.client();
    const first = await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
    expect(first.body).toMatchObject({ status: 'email_code_sent' });
    const bases = [server.url, second?.url ?? server.url];
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => c.request('POST', '/api/v1/sign-in/email-code/resend', {}, {}, bases[i % 2])));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    // The first sign-in mailed one code; the budget leaves EMAIL_CODES_PER_HOUR - 1 resends.
    expect(statuses.filter((s) => s === 200)).toHaveLength(EMAIL_CODES_PER_HOUR - 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(100 - (EMAIL_CODES_PER_HOUR - 1));
    for (const a of answers.filter((x) => x.status === 429)) expect(a.body).toMatchObject({ code: 'too_many_attempts' });
    const mailed = (await server.outbox()).filter((m) => m.to === email && m.kind === 'email_code');
    expect(mailed).toHaveLength(EMAIL_CODES_PER_HOUR);
    // No code appears in an answer.
    const codes = mailed.map((m) => /\b(\d{6})\b/.exec(m.text)?.[1]).filter((x): x is string => x !== undefined);
    for (const a of answers) for (const code of codes) expect(a.text).not.toContain(code);
  });
});
