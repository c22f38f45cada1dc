import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash, GENESIS_HASH, type ChainedRow } from '../../src/audit/chain.js';
import { projectRoot, runMamori, type CliResult } from '../helpers/cli.js';

const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
const ADMIN_PASSWORD = 'a long passphrase for the admin';

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

/** Exit 1 (refused) or 2 (usage) with exactly one line on stderr and nothing on stdout. */
function expectRefusal(r: CliResult, status: 1 | 2) {
  expect(r.status, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(status);
  expect(lines(r.stderr)).toHaveLength(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('mamori CLI (SQLite in a fresh data dir)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const mamori = (args: string[], input?: string, extraEnv: Record<string, string> = {}) => runMamori(args, { ...env, ...extraEnv }, input);

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-cli-'));
    env = { MAMORI_DATA_DIR: dataDir, MAMORI_LOG_LEVEL: 'silent', MAMORI_MASTER_KEY: MASTER_KEY };
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('migrates, creates users, refuses bad input with the right exit status', async () => {
    const migrated = await mamori(['migrate']);
    expect(migrated.status, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/^applied: 001-initial/);

    const created = await mamori(['user', 'create', '--email', 'a@example.com', '--role', 'admin', '--password-stdin'], `${ADMIN_PASSWORD}\n`);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^created admin a@example\.com \([A-Za-z0-9_-]+\)\n$/);
    expect(created.stdout).not.toContain(ADMIN_PASSWORD);

    // Each command is a process of its own (about 1.5 s of start-up): the independent ones run side by side.
    const [weak, noEmail, taken, nobody, b] = await Promise.all([
      mamori(['user', 'create', '--email', 'weak@example.com', '--password-stdin'], 'short\n'),
      mamori(['user', 'create', '--password-stdin'], `${ADMIN_PASSWORD}\n`),
      mamori(['user', 'create', '--email', 'A@example.com', '--password-stdin'], 'another long enough passphrase\n'),
      mamori(['user', 'unlock', '--email', 'nobody@x.y']),
      mamori(['user', 'create', '--email', 'b@example.com', '--name', 'Bee', '--password-stdin'], 'bee keeps a long passphrase'),
    ]);
    expectRefusal(weak, 1);
    expect(weak.stderr).toContain('too_short');
    expectRefusal(noEmail, 2);
    expect(noEmail.stderr).toContain('--email');
    expectRefusal(taken, 1);
    expectRefusal(nobody, 1);
    expect(nobody.stderr).toContain('nobody@x.y');
    expect(b.status, b.stderr).toBe(0);

    const list = await mamori(['user', 'list']);
    expect(list.status).toBe(0);
    const rows = lines(list.stdout).map((l) => l.split('\t'));
    expect(rows.map((r) => [r[1], r[2]])).toEqual([
      ['a@example.com', 'admin'],
      ['b@example.com', 'user'],
    ]);
  });

  it('refuses what the HTTP API would refuse, with exit 2 naming the option, and creates nothing', async () => {
    const create = (extra: string[], password = 'a long enough passphrase for c') =>
      mamori(['user', 'create', '--email', 'c@example.com', '--password-stdin', ...extra], `${password}\n`);
    const cases: Array<[string, Promise<CliResult>]> = [
      ['--email', mamori(['user', 'create', '--email', 'weird"<>@example.com', '--password-stdin'], `${ADMIN_PASSWORD}\n`)],
      // Addresses TypeBox's `email` format alone would take and the API's Ajv refuses.
      ['--email', mamori(['user', 'create', '--email', '"quoted"@example.com', '--password-stdin'], `${ADMIN_PASSWORD}\n`)],
      ['--email', mamori(['user', 'create', '--email', 'c@localhost', '--password-stdin'], `${ADMIN_PASSWORD}\n`)],
      ['--email', mamori(['user', 'unlock', '--email', 'weird"<>@example.com'])],
      ['--role', create(['--role', 'root'])],
      ['--locale', create(['--locale', 'fr'])],
      ['--name', create(['--name', 'x'.repeat(101)])],
      ['--name', create(['--name', ''])],
      ['--password-stdin', create([], 'x'.repeat(1025))],
      // A password as an argument is visible in `ps`: refused, pointing at the option that replaces it.
      ['--password-stdin', mamori(['user', 'create', '--email', 'c@example.com', '--password', ADMIN_PASSWORD])],
    ];
    for (const [option, pending] of cases) {
      const r = await pending;
      expectRefusal(r, 2);
      expect(r.stderr).toContain(option);
      expect(r.stderr).not.toContain('weird"<>'); // the value is not echoed (it could hold a newline)
    }
    const db = new SQLite(path.join(dataDir, 'mamori.sqlite'), { readonly: true });
    try {
      expect(db.prepare('select email from users order by email').pluck().all()).toEqual(['a@example.com', 'b@example.com']);
      expect(db.prepare("select count(*) from audit_events where type = 'user_created'").pluck().get()).toBe(2);
    } finally {
      db.close();
    }
  });

  it('prints the credential report as CSV with a header row', async () => {
    const r = await mamori(['report', 'credentials']);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.split('\r\n').filter(Boolean);
    expect(rows[0]).toMatch(/^email,role,created,password_last_changed,mfa_active,mfa_device_count/);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^a@example\.com,admin,\d{4}-\d\d-\d\dT/);
    expect(rows[2]).toMatch(/^b@example\.com,user,/);
    expect(r.stdout).not.toContain('$argon2');
  });

  it('verifies the audit chain and names the first edited row', async () => {
    const ok = await mamori(['audit', 'verify']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^audit chain valid: [2-9] events\n$/);

    const db = new SQLite(path.join(dataDir, 'mamori.sqlite'));
    try {
      const rows = db.prepare('select id, type, detail from audit_events order by id').all() as Array<{ id: number; type: string; detail: string }>;
      expect(rows.length).toBeGreaterThanOrEqual(2);
      const victim = rows[1]!;
      const forged = JSON.stringify({ ...(JSON.parse(victim.detail) as object), role: 'admin' });
      db.prepare('update audit_events set detail = ? where id = ?').run(forged, victim.id);

      const broken = await mamori(['audit', 'verify']);
      expectRefusal(broken, 1);
      expect(broken.stderr).toMatch(new RegExp(`\\bevent ${victim.id}\\b`));

      // Re-chained from the edited row on, as someone with only database access can: plain
      // SHA-256 (as the chain used to be), or labelled as an old unkeyed row. Both still break there.
      const all = db.prepare('select * from audit_events where id >= ? order by id').all(victim.id) as Array<ChainedRow>;
      for (const version of [2, 1]) {
        let prev = (db.prepare('select hash from audit_events where id = ?').get(victim.id - 1) as { hash: string } | undefined)?.hash ?? GENESIS_HASH;
        for (const row of all) {
          const hash = chainHash(prev, { ...row, detail: row.id === victim.id ? forged : row.detail });
          db.prepare('update audit_events set prev_hash = ?, hash = ?, chain_version = ? where id = ?').run(prev, hash, version, row.id);
          prev = hash;
        }
        const rechained = await mamori(['audit', 'verify']);
        expectRefusal(rechained, 1);
        expect(rechained.stderr).toMatch(new RegExp(`\\bevent ${victim.id}\\b`));
      }

    } finally {
      db.close();
    }
  });

  it('refuses a bad environment variable with exit 2, naming it', async () => {
    const [port, key] = await Promise.all([
      mamori(['user', 'list'], undefined, { MAMORI_PORT: 'abc' }),
      mamori(['user', 'list'], undefined, { MAMORI_MASTER_KEY: 'too-short' }),
    ]);
    expectRefusal(port, 2);
    expect(port.stderr).toContain('MAMORI_PORT');
    expectRefusal(key, 2);
    expect(key.stderr).toContain('MAMORI_MASTER_KEY');
    expect(key.stderr).not.toContain('too-short');
  });

  it('hands a slow reader of its pipe every line before it exits (`mamori user list | …`)', async () => {
    const file = path.join(dataDir, 'many.jsonl');
    writeFileSync(file, Array.from({ length: 5000 }, (_, i) => JSON.stringify({ email: `pipe-${String(i).padStart(5, '0')}@example.com`, name: 'x'.repeat(60) })).join('\n') + '\n');
    expect((await mamori(['user', 'import', file])).status).toBe(0);
    // Far more than a pipe holds (64 KiB), and nothing read for the first second.
    const child = spawn(process.execPath, ['bin/mamori.js', 'user', 'list'], { cwd: projectRoot, env: { PATH: process.env.PATH ?? '', MAMORI_BUILD: 'never', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise((r) => setTimeout(r, 1000));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stdout.resume();
    const closed = new Promise<void>((resolve) => child.stdout.once('close', () => resolve()));
    expect(await exited).toBe(0);
    await closed;
    expect(lines(out).filter((l) => /pipe-\d{5}@example\.com/.test(l))).toHaveLength(5000);
  });
});
