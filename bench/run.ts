/**
 * `npm run bench [-- --pg URL]`: drives the real server (`node bin/mamori.js serve`, child
 * processes) over loopback and prints one table, each row beside a ceiling measured in the same
 * run: plain node:http for the HTTP rows, the server's own argon2id for the password rows (the
 * hash, not the server, bounds a sign-in), a bare Node start for the CLI. A benchmark, not a
 * test: nothing here judges speed; only wrong answers are counted, as errors.
 *
 * Settings and quick runs: bench/settings.ts. The rows: bench/rows/*.ts.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { cleanup, ensureBuilt, interrupted } from './harness.js';
import type { Row } from './measure.js';
import type { Memory } from './servers.js';
import { cliRow } from './rows/cli.js';
import { Ceilings, HASHER_GATE, nodeStart } from './rows/ceilings.js';
import { populationRows, type Population } from './rows/populations.js';
import { serverRows } from './rows/server.js';
import { totpRows } from './rows/totp.js';
import { settings } from './settings.js';
import { fmtNumber, percentOf, printTable, verdict } from './table.js';

/** Issue 12's memory target, 200 MB, in the MiB that /proc reports. */
const RSS_TARGET_MIB = 200e6 / 2 ** 20;

async function main(): Promise<Row[]> {
  ensureBuilt();
  const ceilings = await Ceilings.start();
  const hashes = await ceilings.hashRows();
  await ceilings.durableCommitRow();
  const node = await nodeStart();
  const a = await serverRows(ceilings);
  const b = await totpRows(ceilings, hashes.recoveryHashMs);
  const [small, large] = await populationRows(ceilings);
  const helloMiB = await ceilings.stop();
  const cli = await cliRow();

  const share = (r: Row, min: number): Row => ({ ...r, target: verdict(`≥ ${min * 100} %`, r.value >= min * r.ceilingValue!) });
  // 1 000 000 users against 1 000, per request: within 20 %.
  const vsSmall = (r: Row, smallRow: Row): Row => ({
    ...r,
    target: smallRow.value > 0 ? verdict(`≥ 80 % of 1 000 users' (${percentOf(r.value, smallRow.value)})`, r.value >= 0.8 * smallRow.value) : 'no 1 000-user result to compare with',
  });
  const rss = (name: string, m: Memory): Row => ({
    name: `peak RSS (VmHWM), ${name}`,
    mode: 'server process',
    value: m.peakMiB,
    unit: 'MiB',
    ceiling: `bare node:http ${fmtNumber(helloMiB)} MiB`,
    ceilingValue: helloMiB,
    target: verdict('< 200 MB', m.peakMiB < RSS_TARGET_MIB),
    note: `/proc/<pid>/status at the end of the server's rows; VmRSS ${fmtNumber(m.startMiB)} MiB once it first answered`,
  });
  const importRow = (p: Population): Row => ({
    name: `bulk import, ${fmtNumber(p.users)} users`,
    mode: 'mamori user import',
    value: p.imported.seconds,
    unit: 's wall',
    count: p.users,
    errors: 0,
    ...(p.users >= 1_000_000 ? { target: verdict('< 60 s', p.imported.seconds < 60) } : {}),
    note: `${fmtNumber(p.users / p.imported.seconds)} users/s, ${fmtNumber(p.imported.cpuSeconds)} s CPU, peak ${fmtNumber(p.imported.maxRssMiB)} MiB; ${fmtNumber(p.imported.fileMiB)} MiB of JSON lines (every 20th user with TOTP), one transaction`,
  });

  return [
    ...ceilings.rows,
    share(a.healthz, 0.7),
    share(a.session, 0.5),
    share(a.unknownEmail, 0.85),
    a.rightPassword,
    b.password,
    { ...b.right, target: verdict('p50 ≤ 1 ms', b.right.value <= 1) },
    b.wrong,
    { ...b.loadedRight, target: verdict('p99 ≤ 15 ms', (b.loadedRight.p99 ?? Infinity) <= 15) },
    b.loadedPassword,
    { ...b.recovery, target: 'one hash verify per check: counted by test/http/mfa.test.ts, not here' },
    small.flow,
    vsSmall(large.flow, small.flow),
    share(small.session, 0.5),
    vsSmall(large.session, small.session),
    share(small.password, 0.85),
    vsSmall(large.password, small.password),
    importRow(small),
    importRow(large),
    rss('server A (healthz, session, password)', a.memory),
    rss('server B (TOTP, loaded, recovery)', b.memory),
    rss(`server on ${fmtNumber(small.users)} users`, small.memory),
    rss(`server on ${fmtNumber(large.users)} users`, large.memory),
    {
      ...cli.row,
      ceiling: `bare node ${fmtNumber(node.wallMs / 1000)} s wall, ${fmtNumber(node.cpuMs / 1000)} s CPU`,
      ceilingValue: node.wallMs / 1000,
      target: verdict('< 0.3 s wall and CPU', cli.wallMs < 300 && cli.cpuMs < 300),
    },
  ];
}

const startedAt = new Date();
const loadAtStart = os.loadavg();
try {
  const t0 = performance.now();
  const rows = await main();
  const s = settings;
  const lines = [
    `loopback 127.0.0.1; ${s.connections} connections × ${s.durationS} s per throughput row (after ${s.warmupS} s warm-up); servers with MAMORI_LOG_LEVEL=warn, MAMORI_IP_FAILURE_LIMIT=0${s.quick ? '; BENCH_QUICK (short runs: numbers not comparable)' : ''}`,
    `ceilings are measured again right before each group of rows they serve (the machine's spare CPU drifts): node:http in its own process; password rows against argon2id alone (the server's own PasswordHasher behind its gate of ${HASHER_GATE}, ${s.connections} callers, no HTTP or database: issue 12's "argon2id alone"), their note also giving the share of min(${s.cores} cores, gate) ÷ one verify's time measured one at a time; the full flow against the latter (one verify each)`,
    `1 000 / ${fmtNumber(s.largePopulation)} users: both servers up together, each measure taken in slices that alternate between them; the run took ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    `† closed loop, one request at a time, on a server started with MAMORI_TEST_CLOCK=true (moved +30 s per round of users, so a device's next code is fresh; nothing else changes); ${s.flowUsers} imported users with an authenticator app`,
    `"cores saturated": autocannon sends password sign-ins (unknown emails, argon2id each) to the same server during the loop`,
  ];
  printTable({ startedAt, loadAtStart, database: s.database, lines }, rows);
  process.stderr.write(`bench: done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  await cleanup();
  process.exit(0);
} catch (err) {
  // After Ctrl-C the signal handler cleans up and exits; the aborted run's errors are noise.
  if (interrupted) await new Promise(() => {});
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await cleanup();
  process.exit(1);
}
