import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Answer, Client } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const PROBLEM = 'application/problem+json; charset=utf-8';

interface SessionRow {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  ip: string | null;
  userAgent: string | null;
  aal: number;
  amr: string[];
}

function expectProblem(r: Answer, status: number, code: string) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toBe(PROBLEM);
  expect(r.body).toMatchObject({ status, code });
}

const sessionsOf = async (c: Client) => {
  const r = await c.get<{ sessions: SessionRow[] }>('/api/v1/me/sessions');
  expect(r.status, r.text).toBe(200);
  return r.body.sessions;
};

describe.each(databases)('sessions ($name)', ({ name, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
    for (const u of ['idle', 'absolute', 'list', 'other', 'pw', 'activity', 'dump']) await createTestUser(server, `${u}@example.com`);
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('ends after 30 idle minutes; activity keeps it alive', async () => {
    const c = await signIn(server, 'idle@example.com');
    server.clock.advance(29 * MINUTE);
    expect((await c.get('/api/v1/session')).status).toBe(200);
    // That request counted as activity: another 29 minutes (58 since sign-in) are fine.
    server.clock.advance(29 * MINUTE);
    const alive = await c.get<{ expiresAt: string }>('/api/v1/session');
    expect(alive.status).toBe(200);
    expect(Date.parse(alive.body.expiresAt) - server.clock.now()).toBeGreaterThan(29 * MINUTE);
    server.clock.advance(31 * MINUTE);
    expectProblem(await c.get('/api/v1/session'), 401, 'unauthenticated');
    expectProblem(await c.get('/api/v1/me/sessions'), 401, 'unauthenticated');
  });

  it.skipIf(skip)('ends 12 hours after sign-in however active it is', async () => {
    const c = await signIn(server, 'absolute@example.com');
    for (let elapsed = 20 * MINUTE; elapsed < 12 * HOUR; elapsed += 20 * MINUTE) {
      server.clock.advance(20 * MINUTE);
      expect((await c.get('/api/v1/session')).status, `at ${elapsed / MINUTE} min`).toBe(200);
    }
    // Now at 11:40. Alive a few seconds before 12 h …
    server.clock.advance(20 * MINUTE - 5_000);
    expect((await c.get('/api/v1/session')).status).toBe(200);
    // … gone at 12 h + 1 s.
    server.clock.advance(6_000);
    expectProblem(await c.get('/api/v1/session'), 401, 'unauthenticated');
  });

  it.skipIf(skip)('lists the sessions and ends another one', async () => {
    const mine = await signIn(server, 'list@example.com');
    const phone = await signIn(server, 'list@example.com');
    const stranger = await signIn(server, 'other@example.com');
    const listed = await sessionsOf(mine);
    expect(listed).toHaveLength(2);
    expect(listed.filter((x) => x.current)).toHaveLength(1);
    for (const x of listed) {
      // How each session was proved, for every session, not only the current one (an emailed code
      // is not a second factor, so it adds nothing to the password's `pwd`).
      expect(x).toMatchObject({ aal: 1, ip: '127.0.0.1', amr: ['pwd'] });
      expect(Number.isNaN(Date.parse(x.createdAt))).toBe(false);
      expect(Number.isNaN(Date.parse(x.lastSeenAt))).toBe(false);
    }
    const current = listed.find((x) => x.current)!;
    const other = listed.find((x) => !x.current)!;
    expect((await sessionsOf(phone)).find((x) => x.current)!.id).toBe(other.id);

    // Someone else's session id is as unknown as a made-up one.
    const strangersId = (await sessionsOf(stranger)).find((x) => x.current)!.id;
    expectProblem(await mine.delete(`/api/v1/me/sessions/${strangersId}`), 404, 'not_found');
    expect((await stranger.get('/api/v1/session')).status).toBe(200);
    expectProblem(await mine.delete('/api/v1/me/sessions/no-such-session'), 404, 'not_found');

    const ended = await mine.delete(`/api/v1/me/sessions/${other.id}`);
    expect(ended.status, ended.text).toBe(204);
    expectProblem(await phone.get('/api/v1/session'), 401, 'unauthenticated');
    expectProblem(await mine.delete(`/api/v1/me/sessions/${other.id}`), 404, 'not_found');
    expect((await sessionsOf(mine)).map((x) => x.id)).toEqual([current.id]);
    expectProblem(await server.client().delete(`/api/v1/me/sessions/${current.id}`), 401, 'unauthenticated');
    expect((await mine.get('/api/v1/session')).status).toBe(200);
  });

  it.skipIf(skip)('changes the password: current one required, policy applied, other sessions and pending sign-ins end, mail sent', async () => {
    const email = 'pw@example.com';
    const NEW = 'a brand new passphrase for pw';
    const here = await signIn(server, email);
    const there = await signIn(server, email);
    // A sign-in that got past the password but not yet past the emailed code.
    const pending = server.client();
    expect((await pending.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).status).toBe(200);
    const pendingCode = await server.lastCode(email);

    expectProblem(await server.client().put('/api/v1/me/password', { currentPassword: STRONG_PASSWORD, newPassword: NEW }), 401, 'unauthenticated');
    expectProblem(await here.put('/api/v1/me/password', { currentPassword: 'this is not my password', newPassword: NEW }), 401, 'invalid_credentials');
    expectProblem(await here.put('/api/v1/me/password', { newPassword: NEW }), 400, 'validation_failed');
    const weak = await here.put('/api/v1/me/password', { currentPassword: STRONG_PASSWORD, newPassword: 'short one' });
    expectProblem(weak, 400, 'password_too_weak');
    expect(weak.body).toMatchObject({ reason: 'too_short' });
    const common = await here.put('/api/v1/me/password', { currentPassword: STRONG_PASSWORD, newPassword: 'passwordpassword' });
    expectProblem(common, 400, 'password_too_weak');
    expect(typeof common.body.reason).toBe('string');
    // None of the refusals changed anything.
    expect((await there.get('/api/v1/session')).status).toBe(200);

    const changed = await here.put('/api/v1/me/password', { currentPassword: STRONG_PASSWORD, newPassword: NEW });
    expect(changed.status, changed.text).toBe(204);
    expect(changed.text).toBe('');

    expect((await here.get('/api/v1/session')).status).toBe(200);
    expectProblem(await there.get('/api/v1/session'), 401, 'unauthenticated');
    expect((await sessionsOf(here)).map((x) => x.current)).toEqual([true]);
    // The half-finished sign-in was made with the old password: it must not turn into a session now.
    expectProblem(await pending.post('/api/v1/sign-in/email-code', { code: pendingCode }), 401, 'invalid_code');
    expect(pending.cookies.has('mamori_session')).toBe(false);

    expectProblem(await server.client().post('/api/v1/sign-in', { email, password: STRONG_PASSWORD }), 401, 'invalid_credentials');
    const fresh = await signIn(server, email, NEW);
    expect((await fresh.get('/api/v1/session')).status).toBe(200);

    const mails = (await server.outbox()).filter((m) => m.to === email && m.kind === 'password_changed');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).not.toContain(NEW);
    expect(mails[0]!.text).not.toContain(STRONG_PASSWORD);
  });

  it.skipIf(skip)('shows the user their own activity, without secrets', async () => {
    const email = 'activity@example.com';
    expectProblem(await server.client().post('/api/v1/sign-in', { email, password: 'wrong password for activity' }), 401, 'invalid_credentials');
    const c = server.client();
    await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
    const code = await server.lastCode(email);
    expect((await c.post('/api/v1/sign-in/email-code', { code })).status).toBe(200);
    const cookie = c.cookies.get('mamori_session')!;

    expectProblem(await server.client().get('/api/v1/me/activity'), 401, 'unauthenticated');
    const r = await c.get<{ events: Array<{ at: string; type: string; ip: string | null; userAgent: string | null; detail: Record<string, unknown> }> }>(
      '/api/v1/me/activity',
    );
    expect(r.status).toBe(200);
    const types = r.body.events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['sign_in_failed', 'email_code_sent', 'sign_in_succeeded']));
    // Newest first (the browser the sign-in came from is remembered just after it, issue 10).
    expect(types.slice(0, 2)).toEqual(['browser_remembered', 'sign_in_succeeded']);
    for (const e of r.body.events) {
      expect(Number.isNaN(Date.parse(e.at))).toBe(false);
      expect(Object.keys(e).sort()).toEqual(['at', 'detail', 'device', 'ip', 'method', 'type', 'userAgent']);
    }
    expect(r.body.events.find((e) => e.type === 'sign_in_failed')).toMatchObject({ ip: '127.0.0.1', detail: { reason: 'wrong_password' } });
    // Which method: the sign-in began with a password, its second step was the emailed code.
    expect(r.body.events.find((e) => e.type === 'sign_in_succeeded')).toMatchObject({ method: 'password', device: null });
    const user = (await server.services.users.findByEmail(email))!;
    for (const secret of [STRONG_PASSWORD, 'wrong password for activity', code, cookie, createHash('sha256').update(cookie).digest('hex'), user.password_hash!, '$argon2']) {
      expect(r.text).not.toContain(secret);
    }
    // Only this user's events.
    expect(r.text).not.toContain('idle@example.com');
  });

  it.skipIf(skip)('keeps only SHA-256 hashes of cookie values in the database', async () => {
    const c = server.client();
    await c.post('/api/v1/sign-in', { email: 'dump@example.com', password: STRONG_PASSWORD });
    const signInCookie = c.cookies.get('mamori_signin')!;
    expect((await c.post('/api/v1/sign-in/email-code', { code: await server.lastCode('dump@example.com') })).status).toBe(200);
    const sessionCookie = c.cookies.get('mamori_session')!;
    expect(sessionCookie.length).toBeGreaterThanOrEqual(22); // ≥ 128 bits of base64url

    const db = server.services.store.db;
    const dump = JSON.stringify({
      sessions: await db.selectFrom('sessions').selectAll().execute(),
      signIns: await db.selectFrom('sign_in_transactions').selectAll().execute(),
      users: await db.selectFrom('users').selectAll().execute(),
      audit: await db.selectFrom('audit_events').selectAll().execute(),
    });
    for (const raw of [sessionCookie, signInCookie]) {
      expect(dump).not.toContain(raw);
      expect(dump).not.toContain(decodeURIComponent(raw));
    }
    const hash = createHash('sha256').update(sessionCookie).digest('hex');
    const rows = await db.selectFrom('sessions').select(['token_hash']).where('token_hash', '=', hash).execute();
    expect(rows).toHaveLength(1);
    const all = await db.selectFrom('sessions').select(['token_hash']).execute();
    for (const row of all) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('wrong current passwords at PUT /api/v1/me/password', () => {
  it('count against the account like wrong sign-ins', async () => {
    const { startServer: start, createTestUser: create, signIn: enter, STRONG_PASSWORD: pw } = await import('../helpers/server.js');
    const server = await start();
    try {
      await create(server, 'oracle@example.com');
      const c = await enter(server, 'oracle@example.com');
      for (let i = 0; i < 5; i++) {
        expect((await c.put('/api/v1/me/password', { currentPassword: `guess number ${i} is wrong`, newPassword: 'a new and fine pass phrase' })).status).toBe(401);
      }
      const blocked = await c.put('/api/v1/me/password', { currentPassword: pw, newPassword: 'a new and fine pass phrase' });
      expect(blocked.status).toBe(429);
      expect((await server.client().post('/api/v1/sign-in', { email: 'oracle@example.com', password: pw })).status).toBe(429);
      const audit = await server.services.audit.list({ limit: 500 });
      expect(audit.filter((e) => e.type === 'password_change_failed')).toHaveLength(5);
    } finally {
      await server.close();
    }
  });
});
