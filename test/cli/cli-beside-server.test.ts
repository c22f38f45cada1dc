/**
 * Issue 7, item 3: the CLI run beside a live server on SQLite. `mamori serve` runs as a real child
 * process on a data dir, loaded with concurrent HTTP traffic that writes (password sign-ins
 * finished with the emailed code, wrong passwords for accounts and unknown emails, session checks,
 * sign-outs), while the CLI runs admin acts one after another against the same SQLite file.
 *
 * Before the fix, SQLite's deferred BEGIN failed with `database is locked` (SQLITE_BUSY) when the
 * other process committed in between: users got 500s, and an unlock could commit without its
 * audit event. Now every write transaction begins IMMEDIATE with a busy timeout.
 *
 * Asserted: no HTTP answer ≥ 500 and no failed connection; every CLI act exits 0; each successful
 * act has exactly one matching audit event; `mamori audit verify` passes at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createServices } from '../../src/services.js';
import { runMamori, type CliResult } from '../helpers/cli.js';
import { Client, type Answer } from '../helpers/client.js';
import { assignApp } from '../helpers/otp.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { STRONG_PASSWORD } from '../helpers/server.js';

/** The load runs at least this long, and on until the CLI has done all its acts. */
const MIN_LOAD_MS = 12_000;
const GOOD_WORKERS = 3;
const WRONG_WORKERS = 2;
const SESSION_WORKERS = 1;
const CREATES = 3;
const UNLOCKS = 3;
const DEVICE_USERS = 2;

describe('the CLI beside a loaded server on SQLite (real `mamori serve` process)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-beside-'));
  const masterKey = randomBytes(32).toString('base64');
  const env: Record<string, string> = {
    MAMORI_DATA_DIR: dataDir,
    MAMORI_MASTER_KEY: masterKey,
    // Every request comes from its own X-Forwarded-For address, so the per-address window (a
    // write of its own) is exercised without one address's budget refusing the whole load.
  };
  const cliEnv = { MAMORI_DATA_DIR: dataDir, MAMORI_MASTER_KEY: masterKey, MAMORI_LOG_LEVEL: 'silent' };
  let proc: ServerProcess | undefined;
  afterAll(async () => {
    await proc?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Newest sign-in code per recipient, read incrementally from the development outbox. */
  const outboxDir = path.join(dataDir, 'outbox');
  const seenMail = new Set<string>();
  const codes = new Map<string, { name: string; code: string }>();
  // One reader at a time: a name is marked seen only by the reader that parses it.
  let outboxQueue: Promise<unknown> = Promise.resolve();
  function codeFor(email: string): Promise<string> {
    const next = outboxQueue.then(() => readCode(email));
    outboxQueue = next.catch(() => undefined);
    return next;
  }
  async function readCode(email: string): Promise<string> {
    for (const name of readdirSync(outboxDir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
      if (seenMail.has(name)) continue;
      seenMail.add(name);
      const mail = JSON.parse(await readFile(path.join(outboxDir, name), 'utf8')) as { to: string; kind: string; text: string };
      if (mail.kind !== 'email_code') continue;
      const m = /\b(\d{6})\b/.exec(mail.text);
      const prev = codes.get(mail.to);
      if (m && (!prev || prev.name < name)) codes.set(mail.to, { name, code: m[1]! });
    }
    const c = codes.get(email);
    if (!c) throw new Error(`no sign-in code mailed to ${email}`);
    return c.code;
  }

  it('0 × 5xx, every CLI act exits 0 with exactly one audit event, and the chain verifies', async () => {
    proc = await spawnServer(env);
    const url = proc.url;
    const statuses = new Map<number, number>();
    const byKind = new Map<string, Map<number, number>>();
    const fiveXX: string[] = [];
    let networkErrors = 0;
    const count = (kind: string, r: Answer) => {
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      const k = byKind.get(kind) ?? new Map<number, number>();
      k.set(r.status, (k.get(r.status) ?? 0) + 1);
      byKind.set(kind, k);
      if (r.status >= 500) fiveXX.push(`${kind}: ${r.status} ${r.text.slice(0, 200)}`);
      return r;
    };
    let ipSeq = 0;
    const nextIp = () => {
      ipSeq++;
      return `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`;
    };
    const call = async (kind: string, c: Client, method: string, p: string, body?: unknown) => {
      try {
        return count(kind, await c.request(method, p, body, { 'x-forwarded-for': nextIp() }));
      } catch (err) {
        networkErrors++;
        fiveXX.push(`${kind}: ${String(err)}`);
        return undefined;
      }
    };

    /** Password + emailed code over HTTP: a session at aal 1. */
    async function signInByEmail(kind: string, email: string, password = STRONG_PASSWORD): Promise<Client | undefined> {
      const c = new Client(url);
      const r1 = await call(`${kind}:password`, c, 'POST', '/api/v1/sign-in', { email, password });
      if (r1?.status !== 200 || (r1.body as { status?: string }).status !== 'email_code_sent') return undefined;
      const r2 = await call(`${kind}:email-code`, c, 'POST', '/api/v1/sign-in/email-code', { code: await codeFor(email) });
      return r2?.status === 200 ? c : undefined;
    }

    // --- Setup (before the load): the first administrator, at aal 2, creates the load's users.
    const setupToken = readFileSync(path.join(dataDir, 'setup-token'), 'utf8').trim();
    const setupClient = new Client(url);
    expect((await setupClient.post('/api/v1/setup', { email: 'root@example.com', password: STRONG_PASSWORD, setupToken })).status).toBe(201);
    const admin = (await signInByEmail('setup', 'root@example.com'))!;
    expect(admin).toBeDefined();
    await assignApp({ now: () => Date.now() }, admin);
    const mkUser = async (email: string) => {
      const r = await admin.post('/api/v1/admin/users', { email, password: STRONG_PASSWORD });
      expect(r.status, r.text).toBe(201);
      return (r.body as { user: { id: string } }).user.id;
    };
    const goodUsers = Array.from({ length: GOOD_WORKERS }, (_, i) => `good${i}@example.com`);
    const victims = Array.from({ length: UNLOCKS }, (_, i) => `victim${i}@example.com`);
    const deviceUsers = Array.from({ length: DEVICE_USERS }, (_, i) => `device${i}@example.com`);
    const ids = new Map<string, string>();
    for (const email of [...goodUsers, ...victims, ...deviceUsers]) ids.set(email, await mkUser(email));
    const devices = new Map<string, string>();
    for (const email of deviceUsers) {
      const c = (await signInByEmail('setup', email))!;
      devices.set(email, (await assignApp({ now: () => Date.now() }, c)).id);
    }
    expect(fiveXX).toEqual([]);

    // --- The load: writers until the CLI is done (and at least MIN_LOAD_MS).
    let stop = false;
    const loadStarted = Date.now();
    const goodWorker = async (email: string) => {
      while (!stop) {
        const c = await signInByEmail('good', email);
        if (!c) continue;
        for (let i = 0; i < 3 && !stop; i++) await call('session', c, 'GET', '/api/v1/session');
        await call('sign-out', c, 'POST', '/api/v1/sign-out');
      }
    };
    const wrongWorker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        // Accounts (the CLI unlocks them meanwhile) and unknown emails, by turns.
        const email = i % 2 === 0 ? victims[i % victims.length]! : `ghost-${w}-${i}@example.com`;
        await call(i % 2 === 0 ? 'wrong:account' : 'wrong:unknown', new Client(url), 'POST', '/api/v1/sign-in', { email, password: `not the password ${w} ${i}` });
      }
    };
    const sessionWorker = async () => {
      while (!stop) {
        await call('session:admin', admin, 'GET', '/api/v1/session');
        await call('session:anonymous', new Client(url), 'GET', '/api/v1/session');
        await new Promise((res) => setTimeout(res, 5));
      }
    };
    const workers = [
      ...goodUsers.slice(0, GOOD_WORKERS).map((e) => goodWorker(e)),
      ...Array.from({ length: WRONG_WORKERS }, (_, w) => wrongWorker(w)),
      ...Array.from({ length: SESSION_WORKERS }, () => sessionWorker()),
    ];

    // --- The CLI, one act after another, while the load runs.
    interface Act {
      args: string[];
      input?: string;
      result?: CliResult;
      ms?: number;
    }
    const acts: Act[] = [];
    const act = async (args: string[], input?: string) => {
      const a: Act = { args, ...(input === undefined ? {} : { input }) };
      const t = Date.now();
      a.result = await runMamori(args, cliEnv, input);
      a.ms = Date.now() - t;
      acts.push(a);
      return a.result;
    };
    const created = Array.from({ length: CREATES }, (_, i) => `cli-made-${i}@example.com`);
    await new Promise((res) => setTimeout(res, 500)); // let the load get going
    for (let i = 0; i < Math.max(CREATES, UNLOCKS, DEVICE_USERS); i++) {
      if (i < CREATES) await act(['user', 'create', '--email', created[i]!, '--password-stdin'], `${STRONG_PASSWORD} number ${i}\n`);
      if (i < UNLOCKS) await act(['user', 'unlock', '--email', victims[i]!]);
      if (i < CREATES) await act(['user', 'force-password-change', '--email', created[i]!]);
      if (i < DEVICE_USERS) await act(['mfa', 'deactivate', '--email', deviceUsers[i]!, '--device', devices.get(deviceUsers[i]!)!]);
      if (i === 0) await act(['report', 'credentials']);
      if (i === 1) await act(['audit', 'verify']);
    }
    while (Date.now() - loadStarted < MIN_LOAD_MS) await new Promise((res) => setTimeout(res, 100));
    const loadMs = Date.now() - loadStarted;
    stop = true;
    await Promise.all(workers);
    // The chain as the CLI sees it once the load stopped, the server still running.
    const finalVerify = await runMamori(['audit', 'verify'], cliEnv);

    // --- What happened.
    const totalHttp = [...statuses.values()].reduce((a, b) => a + b, 0);
    const summary = [
      `load ${loadMs} ms, ${totalHttp} HTTP answers: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${n} × ${s}`).join(', ')}; ${networkErrors} connection errors`,
      ...[...byKind].map(([k, m]) => `  ${k}: ${[...m].map(([s, n]) => `${n} × ${s}`).join(', ')}`),
      `${acts.length} CLI acts during the load: ${acts.filter((a) => a.result?.status === 0).length} exited 0`,
      ...acts.map((a) => `  exit ${a.result?.status} ${a.ms} ms  mamori ${a.args.join(' ')}${a.result?.status ? `  stderr: ${a.result.stderr.trim()}` : ''}`),
      `final audit verify: exit ${finalVerify.status} ${finalVerify.stdout.trim()}${finalVerify.stderr.trim()}`,
    ];
    const serverErrors = proc.logs.filter((l) => /"level":(50|60)|database is locked|SQLITE_BUSY/.test(l));
    summary.push(`server log lines at error level or naming SQLITE_BUSY: ${serverErrors.length}`);
    process.stdout.write(`[cli-beside-server]\n${summary.join('\n')}\n`);

    expect(fiveXX, fiveXX.slice(0, 5).join('\n')).toEqual([]);
    expect(networkErrors).toBe(0);
    expect(serverErrors, serverErrors.slice(0, 3).join('\n')).toEqual([]);
    // The load did write: sign-ins completed and wrong passwords were counted.
    expect(byKind.get('good:email-code')?.get(200) ?? 0).toBeGreaterThan(10);
    // Every emailed code sent to a sign-in under load was accepted.
    expect([...(byKind.get('good:email-code') ?? new Map<number, number>()).keys()]).toEqual([200]);
    expect((byKind.get('wrong:unknown')?.get(401) ?? 0) + (byKind.get('wrong:account')?.get(401) ?? 0)).toBeGreaterThan(10);
    for (const a of acts) expect(a.result?.status, `mamori ${a.args.join(' ')}: ${a.result?.stderr}`).toBe(0);
    expect(acts).toHaveLength(CREATES * 2 + UNLOCKS + DEVICE_USERS + 2);
    expect(finalVerify.status, finalVerify.stderr).toBe(0);
    expect(finalVerify.stdout).toMatch(/^audit chain valid: \d+ events/);

    // --- One matching audit event per successful act, read once the server is gone.
    await proc.stop('SIGTERM');
    proc = undefined;
    const s = await createServices(loadConfig({ ...env, MAMORI_LOG_LEVEL: 'silent' }));
    try {
      const events = await s.store.db.selectFrom('audit_events').selectAll().orderBy('id').execute();
      const cliActor = `cli:${userInfo().username}`;
      const fromCli = (type: string) => events.filter((e) => e.type === type && e.actor === cliActor);
      const detail = (e: { detail: string }) => JSON.parse(e.detail) as Record<string, unknown>;
      for (const email of created) {
        const u = await s.users.findByEmail(email);
        expect(u, email).toBeDefined();
        expect(u!.force_password_change).toBe(1);
        expect(fromCli('user_created').filter((e) => e.user_id === u!.id && detail(e).email === email), email).toHaveLength(1);
        expect(fromCli('password_change_forced').filter((e) => e.user_id === u!.id), email).toHaveLength(1);
      }
      for (const email of victims) expect(fromCli('account_unlocked').filter((e) => e.user_id === ids.get(email)), email).toHaveLength(1);
      for (const email of deviceUsers) {
        const deviceId = devices.get(email)!;
        expect(fromCli('mfa_device_deactivated').filter((e) => e.user_id === ids.get(email) && detail(e).deviceId === deviceId), email).toHaveLength(1);
        expect(await s.store.db.selectFrom('mfa_devices').select('id').where('id', '=', deviceId).where('status', '=', 'active').execute()).toHaveLength(0);
      }
      // Nothing else was written by the CLI, and nothing twice.
      expect(fromCli('user_created')).toHaveLength(CREATES);
      expect(fromCli('password_change_forced')).toHaveLength(CREATES);
      expect(fromCli('account_unlocked')).toHaveLength(UNLOCKS);
      expect(fromCli('mfa_device_deactivated')).toHaveLength(DEVICE_USERS);
      const chain = await s.audit.verify();
      expect(chain.valid).toBe(true);
      process.stdout.write(
        `[cli-beside-server] audit: ${events.length} events; from the CLI ${fromCli('user_created').length} user_created, ${fromCli('account_unlocked').length} account_unlocked, ` +
          `${fromCli('password_change_forced').length} password_change_forced, ${fromCli('mfa_device_deactivated').length} mfa_device_deactivated; chain valid over ${chain.events}\n`,
      );
    } finally {
      await s.close();
    }
    // And the CLI agrees on the stopped server's data.
    const last = await runMamori(['audit', 'verify'], cliEnv);
    expect(last.status, last.stderr).toBe(0);
  }, 90_000);
});
