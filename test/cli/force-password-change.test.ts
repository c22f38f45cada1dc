import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { forcePasswordChange } from '../../src/flows/users.js';
import { cliEnvFor, runMamori } from '../helpers/cli.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

describe('mamori user force-password-change (SEC-05)', () => {
  let server: TestServer;
  const mamori = (args: string[]) => runMamori(args, cliEnvFor(server));
  const db = () => server.services.store.db;
  const flagOf = async (id: string) =>
    (await db().selectFrom('users').select('force_password_change').where('id', '=', id).executeTakeFirstOrThrow()).force_password_change;
  const forcedEvents = (userId: string) =>
    db().selectFrom('audit_events').selectAll().where('type', '=', 'password_change_forced').where('user_id', '=', userId).execute();

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it('flags the user, ends their sessions and open sign-ins, and audits it once', async () => {
    const lee = await createTestUser(server, 'lee@example.com');
    const other = await createTestUser(server, 'other@example.com');
    const [laptop, phone, bystander] = [await signIn(server, 'lee@example.com'), await signIn(server, 'lee@example.com'), await signIn(server, 'other@example.com')];
    // A half-finished sign-in: the password is through, the emailed code not yet entered.
    const pending = server.client();
    expect((await pending.post<{ status: string }>('/api/v1/sign-in', { email: 'lee@example.com', password: STRONG_PASSWORD })).body.status).toBe('email_code_sent');
    const code = await server.lastCode('lee@example.com');
    const before = await db().selectFrom('audit_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow();

    const r = await mamori(['user', 'force-password-change', '--email', 'lee@example.com']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('lee@example.com must change the password at the next sign-in (ended 2 sessions, 1 open sign-ins)\n');

    expect(await flagOf(lee.id)).toBe(1);
    expect(await flagOf(other.id)).toBe(0);
    expect((await laptop.get('/api/v1/session')).status).toBe(401);
    expect((await phone.get('/api/v1/session')).status).toBe(401);
    expect((await bystander.get('/api/v1/session')).status).toBe(200);
    expect((await pending.post('/api/v1/sign-in/email-code', { code })).status).not.toBe(200);

    // Exactly one new event, whoever else writes to the log meanwhile: the CLI wrote nothing else.
    const after = await db().selectFrom('audit_events').selectAll().where('id', '>', Number(before.id ?? 0)).execute();
    expect(after.map((e) => e.type)).toEqual(['password_change_forced']);
    expect(after[0]).toMatchObject({ user_id: lee.id, actor: `cli:${userInfo().username}`, user_agent: 'mamori-cli' });
    expect(JSON.parse(after[0]!.detail)).toEqual({ sessionsEnded: 2, pendingSignInsEnded: 1 });
  });

  it('commits all or nothing: when the audit event cannot be written, no flag and no session ends', async () => {
    const kai = await createTestUser(server, 'kai@example.com');
    const session = await signIn(server, 'kai@example.com');
    const append = vi.spyOn(server.services.audit, 'append').mockImplementationOnce(async (_entry, trx) => {
      // The event was to join the change's own transaction, not to get one of its own.
      expect(trx).toBeDefined();
      throw new Error('disk full');
    });
    try {
      await expect(forcePasswordChange(server.services, kai.id, 'test', { ip: null, userAgent: 'test' })).rejects.toThrow('disk full');
    } finally {
      append.mockRestore();
    }
    expect(await flagOf(kai.id)).toBe(0);
    expect((await session.get('/api/v1/session')).status).toBe(200);
    expect(await forcedEvents(kai.id)).toHaveLength(0);
  });

  it('refuses an unknown user (exit 1) and a malformed email (exit 2), changing nothing', async () => {
    const [nobody, weird, missing] = await Promise.all([
      mamori(['user', 'force-password-change', '--email', 'nobody@example.com']),
      mamori(['user', 'force-password-change', '--email', 'weird"<>@example.com']),
      mamori(['user', 'force-password-change']),
    ]);
    expect(nobody.status, nobody.stderr).toBe(1);
    expect(nobody.stderr).toContain('nobody@example.com');
    for (const r of [weird, missing]) {
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('--email');
    }
    expect(await db().selectFrom('audit_events').select('id').where('type', '=', 'password_change_forced').execute()).toHaveLength(1);
  });
});
