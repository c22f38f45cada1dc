/**
 * `node --import tsx bench/audit-chain.ts [SECONDS] [ROUNDS] [WORKERS]`: audit appends per second on one
 * PostgreSQL database (MAMORI_TEST_DATABASE_URL), from 1 and from 3 instances, with the global
 * chain lock that migration 012 replaced ("old") and with per-instance chains ("new"), in one run.
 *
 * Each instance is a worker thread with its own event loop, store and pool of 10 connections, as
 * a `mamori serve` process has. Each of its WORKERS (default 20: more than the pool, so the pool
 * is always busy) loops over one transaction shaped like PATCH /api/v1/me: update a row of its
 * own (as the flow updates the user's row), then append one event as the last statement. Every
 * run gets a fresh database; each of ROUNDS (default 3) runs the four configurations in another
 * order, and the summary gives medians and the ratios within a round, so a drift in the machine's
 * load hits both designs alike.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { sql, type Transaction } from 'kysely';
import { chainMac, GENESIS_HASH, type ChainKey } from '../src/audit/chain.js';
import { SecretBox } from '../src/crypto/secret-box.js';
import { AuditLog, type AuditEntry } from '../src/store/audit.js';
import { loadAuditKey } from '../src/store/audit-key.js';
import { migrate, openStore, type Store } from '../src/store/db.js';
import type { Database } from '../src/store/schema.js';
import { freshPostgres, pgUrl } from '../test/helpers/db.js';

type Design = 'old' | 'new';

interface Job {
  design: Design;
  url: string;
  masterKey: string;
  instance: number;
  workers: number;
  seconds: number;
}

interface Outcome {
  appends: number;
  seconds: number;
  latencies: number[];
  /** CPU this instance's thread used per wall second (1 = one core busy). */
  cpu: number;
}

/**
 * The append this commit replaced (src/store/audit.ts before migration 012), kept here only to be
 * measured against: one advisory lock for the whole cluster, held through commit, then the newest
 * row and `id + 1`. It writes version-2 rows on the single chain.
 */
async function oldAppend(key: ChainKey, instance: string, entry: AuditEntry, trx: Transaction<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(7243001)`.execute(trx);
  const last = await trx.selectFrom('audit_events').select(['id', 'hash']).orderBy('id', 'desc').limit(1).executeTakeFirst();
  const row = { id: (last?.id ?? 0) + 1, at: Date.now(), type: entry.type, user_id: null, actor: null, ip: null, user_agent: null, detail: JSON.stringify(entry.detail ?? {}), instance };
  const prev = last?.hash ?? GENESIS_HASH;
  await trx
    .insertInto('audit_events')
    .values({ ...row, prev_hash: prev, hash: chainMac(key.key, prev, row), chain_version: 2 })
    .execute();
}

async function instance(job: Job): Promise<Outcome> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-bench-audit-'));
  const store: Store = openStore({ databaseUrl: job.url, dataDir });
  try {
    const box = new SecretBox([Buffer.from(job.masterKey, 'base64')]);
    const name = `bench:${job.instance}`;
    const audit = await AuditLog.open(store, box, Date.now, name);
    const key = await loadAuditKey(store.db, box);
    const rows = Array.from({ length: job.workers }, (_, w) => `bench:${job.instance}:${w}`);
    await store.db.insertInto('settings').values(rows.map((k) => ({ key: k, value: '0' }))).execute();

    // Start together: the main thread says go once every instance is ready.
    parentPort!.postMessage({ ready: true });
    await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));

    const latencies: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deadline = t0 + job.seconds * 1000;
    await Promise.all(
      rows.map(async (k) => {
        for (let n = 0; performance.now() < deadline; n++) {
          const started = performance.now();
          await store.db.transaction().execute(async (trx) => {
            await trx.updateTable('settings').set({ value: String(n) }).where('key', '=', k).execute();
            const entry: AuditEntry = { type: 'profile_updated', detail: { n } };
            if (job.design === 'old') await oldAppend(key, name, entry, trx);
            else await audit.append(entry, trx);
          });
          latencies.push(performance.now() - started);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu0);
    return { appends: latencies.length, seconds, latencies, cpu: (used.user + used.system) / 1e6 / seconds };
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

/**
 * A worker thread does not inherit the TypeScript loader `--import tsx` registered (Node 20), so
 * it registers tsx's ESM hooks itself before importing this file.
 */
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`;

async function run(design: Design, instances: number, seconds: number, workers: number) {
  const db = await freshPostgres();
  try {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-bench-audit-'));
    const store = openStore({ databaseUrl: db.url, dataDir });
    try {
      await migrate(store);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const masterKey = randomBytes(32).toString('base64');
    const threads = Array.from({ length: instances }, (_, i) => new Worker(BOOT, { eval: true, workerData: { design, url: db.url, masterKey, instance: i, workers, seconds } satisfies Job }));
    const ready = threads.map((t) => new Promise<void>((resolve, reject) => {
      t.once('error', reject);
      t.once('message', () => resolve());
    }));
    await Promise.all(ready);
    const done = threads.map((t) => new Promise<Outcome>((resolve, reject) => {
      t.once('error', reject);
      t.on('message', (m: { outcome?: Outcome }) => m.outcome && resolve(m.outcome));
    }));
    for (const t of threads) t.postMessage('go');
    const outcomes = await Promise.all(done);
    const appends = outcomes.reduce((n, o) => n + o.appends, 0);
    const secs = Math.max(...outcomes.map((o) => o.seconds));
    const latencies = outcomes.flatMap((o) => o.latencies);

    // The new design's log must verify after the load (the old one's too, as the single chain it was).
    let verified = '';
    if (design === 'new') {
      const vDir = mkdtempSync(path.join(tmpdir(), 'mamori-bench-audit-'));
      const vs = openStore({ databaseUrl: db.url, dataDir: vDir });
      try {
        const log = await AuditLog.open(vs, new SecretBox([Buffer.from(masterKey, 'base64')]), Date.now, 'bench:verify');
        const cp = await log.checkpoint();
        const t0 = performance.now();
        const check = await log.verify();
        const s = (performance.now() - t0) / 1000;
        if (!check.valid || check.events !== appends) throw new Error(`verify after the load: ${JSON.stringify(check)} (${appends} appended)`);
        verified = `; verify: ${check.events} events in ${check.chains} chains, checkpoint #${cp ?? '-'}, ${(check.events / s).toFixed(0)} events/s`;
      } finally {
        await vs.close();
        rmSync(vDir, { recursive: true, force: true });
      }
    }
    return {
      design,
      instances,
      rate: appends / secs,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      cpu: outcomes.map((o) => o.cpu.toFixed(2)).join('+'),
      appends,
      verified,
    };
  } finally {
    await db.drop();
  }
}

async function main(): Promise<void> {
  if (!pgUrl) {
    process.stderr.write('set MAMORI_TEST_DATABASE_URL to a PostgreSQL server (a database per run is created and dropped)\n');
    process.exit(2);
  }
  const seconds = Number(process.argv[2] ?? 3);
  const rounds = Number(process.argv[3] ?? 3);
  const workers = Number(process.argv[4] ?? 20);
  const configs: Array<[Design, number]> = [
    ['old', 1],
    ['new', 1],
    ['old', 3],
    ['new', 3],
  ];
  const results: Array<Awaited<ReturnType<typeof run>> & { round: number }> = [];
  process.stdout.write(`audit appends on one PostgreSQL database: ${rounds} rounds of ${seconds} s per configuration, ${workers} concurrent transactions per instance, pool of 10 each\n`);
  for (let round = 0; round < rounds; round++) {
    // Each round in another order, so a drift in the machine's load does not favour one design.
    const order = configs.map((_, i) => configs[(i + round) % configs.length]!);
    if (round % 2 === 1) order.reverse();
    for (const [design, n] of order) {
      const r = await run(design, n, seconds, workers);
      results.push({ ...r, round });
      process.stdout.write(
        `  round ${round + 1} ${design} x${n}: ${r.rate.toFixed(0)} appends/s (${r.appends}), transaction p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms, CPU per instance ${r.cpu}${r.verified}\n`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const rate = (design: Design, n: number, round: number) => results.find((r) => r.design === design && r.instances === n && r.round === round)!.rate;
  process.stdout.write('\nappends/s, median of the rounds (each round\'s value):\n');
  for (const [design, n] of configs) {
    const rates = results.filter((r) => r.design === design && r.instances === n).map((r) => r.rate);
    process.stdout.write(`  ${design} design, ${n} instance${n > 1 ? 's' : ''}: ${median(rates).toFixed(0)} (${rates.map((x) => x.toFixed(0)).join(', ')})\n`);
  }
  // Ratios within a round, where both designs met about the same load.
  const ratios = (f: (round: number) => number) => Array.from({ length: rounds }, (_, i) => f(i));
  const show = (xs: number[]) => `${median(xs).toFixed(2)} (${xs.map((x) => x.toFixed(2)).join(', ')})`;
  process.stdout.write(`  new / old, 3 instances: ${show(ratios((i) => rate('new', 3, i) / rate('old', 3, i)))}\n`);
  process.stdout.write(`  new / old, 1 instance:  ${show(ratios((i) => rate('new', 1, i) / rate('old', 1, i)))}\n`);
  process.stdout.write(`  3 / 1 instances, old:   ${show(ratios((i) => rate('old', 3, i) / rate('old', 1, i)))}\n`);
  process.stdout.write(`  3 / 1 instances, new:   ${show(ratios((i) => rate('new', 3, i) / rate('new', 1, i)))}\n`);
}

if (!isMainThread) {
  const outcome = await instance(workerData as Job);
  parentPort!.postMessage({ outcome });
} else {
  await main();
}
