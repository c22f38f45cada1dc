/**
 * `node --import tsx bench/user-import.ts [USERS] [RUNS]`: times `mamori user import` of USERS
 * (default 100 000) users with bcrypt, scrypt and argon2id hashes (every 20th with a TOTP seed),
 * each run into a fresh database: SQLite, and PostgreSQL too when MAMORI_TEST_DATABASE_URL is set.
 * The time is the whole CLI process (start, parse, checks, one transaction, exit), as an operator
 * sees it, with its CPU time and peak resident memory (the import streams its file, so the peak
 * should not follow USERS); the schema is migrated before the clock starts. Needs a built dist/
 * (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freshPostgres, pgUrl } from '../test/helpers/db.js';
import { bulkImportFile } from '../test/helpers/import-file.js';
import { runNode } from './harness.js';

const users = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 3);
const root = path.resolve(import.meta.dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'mamori-bench-import-'));

function mamori(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/mamori.js', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', MAMORI_BUILD: 'never', MAMORI_LOG_LEVEL: 'silent', ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const file = path.join(dir, 'users.jsonl');
  const made = await bulkImportFile(users);
  writeFileSync(file, made.text);
  process.stdout.write(`${users} users, ${(made.text.length / 2 ** 20).toFixed(1)} MiB, ${runs} runs each\n`);
  for (const database of pgUrl ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const)) {
    const times: number[] = [];
    const cpu: number[] = [];
    const peak: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dataDir = mkdtempSync(path.join(dir, 'data-'));
      const pg = database === 'postgres' ? await freshPostgres() : undefined;
      const env = { MAMORI_DATA_DIR: dataDir, MAMORI_MASTER_KEY: randomBytes(32).toString('base64'), ...(pg ? { MAMORI_DATABASE_URL: pg.url } : {}) };
      try {
        const migrated = mamori(['migrate'], env);
        if (migrated.status !== 0) throw new Error(`migrate: ${migrated.stderr}`);
        // The child reports its own CPU time and peak memory (bench/harness.ts).
        const r = await runNode(['bin/mamori.js', 'user', 'import', file], { PATH: process.env.PATH ?? '', MAMORI_BUILD: 'never', MAMORI_LOG_LEVEL: 'silent', ...env });
        if (r.status !== 0) throw new Error(`import: ${r.stderr.slice(0, 500)}`);
        times.push(r.wallMs / 1000);
        cpu.push(r.cpuMs / 1000);
        peak.push(r.maxRssMiB);
      } finally {
        await pg?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
    process.stdout.write(
      `${database}: median ${median(times).toFixed(2)} s (min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)}) = ${Math.round(users / median(times))} users/s, ` +
        `${median(cpu).toFixed(2)} s CPU, peak ${Math.round(median(peak))} MiB (max ${Math.round(Math.max(...peak))})\n`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
