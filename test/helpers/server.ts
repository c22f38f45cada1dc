import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { TestClock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { buildApp, type App } from '../../src/http/app.js';
import { readOutbox } from '../../src/mail/mailer.js';
import { createServices, ensureSetupToken, type Services } from '../../src/services.js';
import type { FactorModule } from '../../src/methods/types.js';
import { ARGON2_PARAMS, PasswordHasher, type Argon2Params } from '../../src/methods/password/hasher.js';
import { freshPostgres } from './db.js';
import { Client } from './client.js';

export interface TestServer {
  url: string;
  app: App;
  services: Services;
  clock: TestClock;
  config: Config;
  dataDir: string;
  setupToken: string | undefined;
  client(): Client;
  /** Mails in the development outbox, oldest first. */
  outbox(): Promise<Awaited<ReturnType<typeof readOutbox>>>;
  /** The newest emailed sign-in code for an address. */
  lastCode(email: string): Promise<string>;
  close(): Promise<void>;
}

export interface StartOptions {
  database?: 'sqlite' | 'postgres';
  env?: Record<string, string>;
  /** The factor list (src/methods/registry.ts FACTORS unless given): a test can register one more. */
  factors?: readonly FactorModule[];
  /** Reuse another server's database (a second instance). */
  shareWith?: TestServer;
  /** A clock of the test's own, e.g. one whose base stands still so that only `advance` moves it. */
  clock?: TestClock;
  /**
   * 'quick' (the default): the same argon2id through the same code at m=1 MiB, t=1, about a
   * twentieth of the work: at the production cost, hashing took a seventh of the suite's time,
   * mostly in tests about something else. 'production': the server's own ARGON2_PARAMS, for
   * tests of hashing itself and of what its cost decides (timing, many sign-ins in flight at
   * once). A second instance (`shareWith`) hashes as the first. Spawned servers
   * (test/helpers/spawned.ts) always hash as in production.
   */
  hashing?: 'production' | 'quick';
}

/** The tests' quick argon2id (see StartOptions.hashing). */
export const QUICK_ARGON2: Readonly<Argon2Params> = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** How a hash this server makes now begins: `$argon2id$v=19$m=…,t=…,p=…$`. */
export function currentHashPrefix(server: TestServer): string {
  const p = server.services.hasher.params;
  return `$argon2id$v=19$m=${p.memoryCost},t=${p.timeCost},p=${p.parallelism}$`;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.shareWith?.dataDir ?? mkdtempSync(path.join(tmpdir(), 'mamori-test-'));
  let dropDb: (() => Promise<void>) | undefined;
  let databaseUrl = opts.shareWith?.config.databaseUrl;
  if (!opts.shareWith && opts.database === 'postgres') {
    const db = await freshPostgres();
    databaseUrl = db.url;
    dropDb = db.drop;
  }
  const masterKey = opts.shareWith?.config.masterKeys[0]?.toString('base64') ?? randomBytes(32).toString('base64');
  const base = loadConfig({
    MAMORI_DATA_DIR: dataDir,
    MAMORI_PORT: '0',
    MAMORI_MASTER_KEY: masterKey,
    MAMORI_LOG_LEVEL: 'silent',
    ...(databaseUrl ? { MAMORI_DATABASE_URL: databaseUrl } : {}),
    ...opts.env,
  });
  const clock = opts.shareWith?.clock ?? opts.clock ?? new TestClock();
  // A hasher of its own, as every instance has, at the parameters of the instance it joins.
  const params = opts.shareWith ? opts.shareWith.services.hasher.params : opts.hashing === 'production' ? ARGON2_PARAMS : QUICK_ARGON2;
  const hasher = new PasswordHasher(undefined, params);
  const services = await createServices(base, { clock, log: pino({ level: 'silent' }), hasher, ...(opts.factors ? { factors: opts.factors } : {}) });
  const setupToken = await ensureSetupToken(services);
  const app = await buildApp(services);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://127.0.0.1:${port}`;
  // What a browser sees (WebAuthn needs a host name, and localhost is a secure context); set
  // only now that the port is known, exactly as MAMORI_PUBLIC_URL would be in production.
  if (!opts.env?.MAMORI_PUBLIC_URL) services.config.publicUrl = `http://localhost:${port}`;
  const server: TestServer = {
    url,
    app,
    services,
    clock,
    config: services.config,
    dataDir,
    setupToken,
    client: () => new Client(url),
    outbox: () => readOutbox(dataDir),
    async lastCode(email: string) {
      const mails = (await readOutbox(dataDir)).filter((m) => m.to === email && m.kind === 'email_code');
      const text = mails.at(-1)?.text ?? '';
      const m = /\b(\d{6})\b/.exec(text);
      if (!m) throw new Error(`no sign-in code mailed to ${email}`);
      return m[1]!;
    },
    async close() {
      await app.close();
      await services.close();
      if (!opts.shareWith) {
        await dropDb?.();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
  return server;
}

export const STRONG_PASSWORD = 'correct horse battery staple';

/** Creates a user straight through the flows (as `mamori user create` does). */
export async function createTestUser(
  server: TestServer,
  email: string,
  opts: { role?: 'admin' | 'user'; password?: string } = {},
) {
  const { createUser } = await import('../../src/flows/users.js');
  return createUser(
    server.services,
    { email, password: opts.password ?? STRONG_PASSWORD, role: opts.role ?? 'user' },
    { caller: { ip: null, userAgent: 'test' }, actor: 'test' },
  );
}

/** Password + emailed code: a signed-in client at aal 1. */
export async function signIn(server: TestServer, email: string, password = STRONG_PASSWORD): Promise<Client> {
  const c = server.client();
  const r1 = await c.post('/api/v1/sign-in', { email, password });
  if (r1.status !== 200) throw new Error(`sign-in failed: ${r1.status} ${JSON.stringify(r1.body)}`);
  if ((r1.body as { status: string }).status === 'email_code_sent') {
    const r2 = await c.post('/api/v1/sign-in/email-code', { code: await server.lastCode(email) });
    if (r2.status !== 200) throw new Error(`email code failed: ${r2.status} ${JSON.stringify(r2.body)}`);
  }
  return c;
}

/** What `mamori user unlock` does, without the audit event: every lock and count of the account gone. */
export async function unlockByEmail(server: TestServer, email: string): Promise<void> {
  const s = server.services;
  const user = (await s.users.findByEmail(email))!;
  await s.regulator.clear([s.regulator.password({ userId: user.id }), s.regulator.mfa(user.id)]);
}

/** An account's attempt budget as stored (`password` or `mfa`), for tests that look inside. */
export async function budgetOf(server: TestServer, kind: 'password' | 'mfa', userId: string) {
  const s = server.services;
  const key = (kind === 'password' ? s.regulator.password({ userId }) : s.regulator.mfa(userId)).key;
  return s.store.db.selectFrom('attempt_budgets').selectAll().where('key', '=', key).executeTakeFirst();
}
