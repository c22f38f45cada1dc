/**
 * What one `npm run bench` run does, from its arguments and environment:
 *
 *   --pg URL           the server rows on PostgreSQL: each server gets a fresh database on the
 *                      server in URL (created and dropped by the bench); default SQLite
 *   BENCH_QUICK=1      short durations and a small population, to check that every row works
 *   BENCH_USERS=N      the large population (default 1 000 000; the small one is 1 000)
 *   BENCH_BUILD=never  run dist/ as it is (default: build first when src/ is newer, as bin/mamori.js does)
 *   BENCH_CPU_PROF=DIR the servers write V8 CPU profiles there
 */
import os from 'node:os';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (!v || v.startsWith('--')) throw new Error(`${name} needs a value, e.g. ${name} postgres://postgres@127.0.0.1:5432/postgres`);
  return v;
}

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw.replace(/[_\s]/g, ''));
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a whole number above 0, got "${raw}"`);
  return v;
}

const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const pgUrl = argValue('--pg');
if (pgUrl && !/^postgres(ql)?:\/\//.test(pgUrl)) throw new Error(`--pg wants a postgres:// URL, got "${pgUrl}"`);

export const settings = {
  quick,
  pgUrl,
  database: pgUrl ? 'PostgreSQL' : 'SQLite',
  build: process.env.BENCH_BUILD !== 'never',
  cores: os.availableParallelism(),
  /** autocannon connections for the throughput rows. */
  connections: 20,
  durationS: quick ? 2 : 5,
  warmupS: quick ? 0.5 : 1,
  /** Sequential TOTP sign-ins on the idle test-clock server. */
  totpIterations: quick ? 30 : 200,
  /** How long the TOTP loop runs while password sign-ins saturate the cores. */
  loadedS: quick ? 2 : 10,
  /**
   * The background load's connections: twice the server's gate of argon2id at a time, enough
   * that both hashing slots never idle, few enough that the loop's own password step does not
   * wait behind a long queue (which would leave few TOTP samples in the time).
   */
  loadedConnections: 4,
  /** Recovery-code sets of 10 used up one sign-in at a time. */
  recoverySets: quick ? 1 : 5,
  /** Concurrent browsers in the full-flow rows, and the users they take turns with. */
  flowWorkers: 8,
  flowUsers: 64,
  smallPopulation: 1_000,
  largePopulation: intEnv('BENCH_USERS', quick ? 20_000 : 1_000_000),
  cliRuns: quick ? 3 : 7,
};

export type Settings = typeof settings;
