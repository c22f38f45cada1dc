/**
 * The ceilings every other row is set against, measured in the same run on the same machine:
 * plain node:http (throughput, one-connection latency and the memory of a bare Node server),
 * the server's own argon2id and recovery-code hashes without HTTP or a database, and the start
 * of a bare Node process.
 *
 * On a machine shared with other work the available CPU drifts by a factor of two within a
 * minute, so a ceiling taken at the start would be set against rows measured in other weather.
 * The node:http server therefore stays up for the whole run and is measured again right before
 * each group of HTTP rows, and argon2id's time is taken again before each group of password rows.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { call } from '../client.js';
import { runNode, stopChild, tempDir } from '../harness.js';
import { createDatabase } from '../pg.js';
import { latencyRow, median, stats, throughputRow, type Row } from '../measure.js';
import { memoryMiB, startHello } from '../servers.js';
import { settings } from '../settings.js';
import { fmtNumber } from '../table.js';
import { PasswordHasher } from '../../src/methods/password/hasher.js';
import { RecoveryCodeHasher } from '../../src/methods/recovery-code/secret-hash.js';

/** The server's hasher lets this many argon2id run at once (src/methods/password/hasher.ts). */
export const HASHER_GATE = 2;
const PARALLEL = Math.min(settings.cores, HASHER_GATE);

/** A ceiling as a row shows it: its value in the row's unit, and how it was had. */
export interface Ceiling {
  value: number;
  text: string;
}

export class Ceilings {
  /** Every ceiling measurement, in the order taken, for the top of the table. */
  readonly rows: Row[] = [];
  /** node:http, one request at a time: the least any request here can take (ms). */
  floorMs = NaN;
  /** One durable commit of one small row on the servers' database, one at a time (ms, p50). */
  commitMs = NaN;
  /** One argon2id verify at a time (ms): set against the closed-loop password steps. */
  argon2Ms = NaN;
  readonly #hasher = new PasswordHasher();
  #stored: Promise<string> | undefined;
  #warmed = false;

  private constructor(private readonly hello: { url: string; child: ChildProcess }) {}

  static async start(): Promise<Ceilings> {
    const c = new Ceilings(await startHello());
    const samples: number[] = [];
    let errors = 0;
    for (let i = 0; i < 400; i++) {
      const t = performance.now();
      if ((await call(c.hello.url, 'GET', '/')).status !== 200) errors++;
      samples.push(performance.now() - t);
    }
    const floor = latencyRow('node:http hello, closed loop (floor)', '1 conn, seq.', "the bench's own client: the least any request here can take", samples, errors);
    c.floorMs = floor.value;
    c.rows.push(floor);
    return c;
  }

  /** node:http throughput now, before the rows named. */
  async http(before: string): Promise<Ceiling> {
    const row = await throughputRow(`node:http hello (ceiling), before ${before}`, 'plain http.createServer, own process, same client', { url: `${this.hello.url}/`, expected: 200 });
    this.rows.push(row);
    return { value: row.value, text: `node:http ${fmtNumber(row.value)} req/s` };
  }

  /**
   * node:http answering with exactly the headers of another answer (read from `sample`): what the
   * same HTTP exchange costs the client and a server that does nothing else. Not a target's ceiling;
   * it tells the share of a gap that is the headers themselves (the client parses each one).
   */
  async httpWithHeadersOf(sample: string, label: string): Promise<Row> {
    const res = await fetch(sample);
    await res.arrayBuffer();
    // Hop-by-hop and per-answer headers node:http writes itself.
    const own = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
    const headers = Object.fromEntries([...res.headers].filter(([name]) => !own.has(name)));
    const configured = await fetch(`${this.hello.url}/configure`, { method: 'POST', body: JSON.stringify(headers) });
    if (!configured.ok) throw new Error(`node:http hello did not take the headers: ${configured.status}`);
    const row = await throughputRow(`node:http hello with ${label}'s headers`, 'same client', { url: `${this.hello.url}/configured`, expected: 200 });
    row.note = `${Object.keys(headers).length} headers as ${label} sends them (${Object.keys(headers).join(', ')})`;
    this.rows.push(row);
    return row;
  }

  /** min(cores, gate) ÷ one verify's time, now: the password checks per second hashing allows. */
  async argon2(samples = settings.quick ? 8 : 20): Promise<Ceiling & { ms: number }> {
    const stored = await (this.#stored ??= this.#hasher.hash('a password of some length'));
    if (!this.#warmed) await this.#hasher.verify(stored, 'warm-up guess, not the password');
    this.#warmed = true;
    const one: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      await this.#hasher.verify(stored, 'a wrong guess of some length');
      one.push(performance.now() - t);
    }
    const ms = median(one);
    this.argon2Ms = ms;
    const value = (PARALLEL * 1000) / ms;
    return { value, ms, text: `argon2id ${fmtNumber(value)}/s (${PARALLEL} ÷ ${fmtNumber(ms)} ms)` };
  }

  /**
   * The server's hasher alone behind its gate, now, with as many callers as the HTTP rows have
   * connections: what issue 12 sets the password check against ("argon2id alone"). Two hashes at
   * once each run slower than one alone on this machine (the two vCPUs share caches and memory
   * bandwidth), so this is below min(cores, gate) ÷ one verify by the machine's own share; the
   * gap between the two is the machine's, the gap below this one is the server's.
   */
  async argon2Gated(seconds = settings.quick ? 1 : 2): Promise<Ceiling & { row: Row }> {
    const stored = await (this.#stored ??= this.#hasher.hash('a password of some length'));
    if (!this.#warmed) await this.#hasher.verify(stored, 'warm-up guess, not the password');
    this.#warmed = true;
    const samples: number[] = [];
    const started = performance.now();
    const until = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: settings.connections }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          await this.#hasher.verify(stored, 'a wrong guess of some length');
          samples.push(performance.now() - t);
        }
      }),
    );
    const s = stats(samples);
    const value = samples.length / ((performance.now() - started) / 1000);
    const row: Row = {
      name: 'argon2id verify alone, gate of 2',
      mode: `${settings.connections} callers`,
      value,
      unit: 'verifies/s',
      p50: s.p50,
      p99: s.p99,
      count: s.count,
      errors: 0,
      note: "the server's PasswordHasher in the bench process: no HTTP, no database",
    };
    return { value, row, text: `argon2id alone ${fmtNumber(value)}/s (gate of ${HASHER_GATE}, ${settings.connections} callers)` };
  }

  /**
   * Both argon2id ceilings of a group of password rows, taken now: the hasher alone behind its
   * gate (the row's ceiling and target, as issue 12 measures "argon2id alone") and
   * min(cores, gate) ÷ one verify (the stricter one, which charges the machine's two-at-a-time
   * slowdown to the server too; the row's note gives the share of it).
   */
  async passwordCeilings(): Promise<{ alone: Ceiling; strict: Ceiling & { ms: number } }> {
    const strict = await this.argon2();
    const alone = await this.argon2Gated();
    this.rows.push({ ...alone.row, name: `${alone.row.name}, before the password rows`, ceiling: strict.text, ceilingValue: strict.value });
    return { alone, strict };
  }

  /** The hashes alone, once: argon2id at the start (a row), behind its gate, and the recovery-code hash. */
  async hashRows(): Promise<{ recoveryHashMs: number }> {
    process.stderr.write('bench: argon2id and recovery-code hashes alone…\n');
    const ceiling = await this.argon2(settings.quick ? 10 : 40);
    this.rows.push({
      name: 'argon2id ceiling = min(cores, gate) ÷ one verify',
      mode: '1 caller',
      value: ceiling.value,
      unit: 'verifies/s',
      p50: ceiling.ms,
      note: `${PARALLEL} × 1000 ÷ ${fmtNumber(ceiling.ms)} ms (m=19 MiB, t=2, p=1); taken again before each group of password rows`,
    });

    // The same hasher with more callers than its gate, as the server's sign-in route has.
    const gated = await this.argon2Gated(settings.quick ? 1 : 3);
    this.rows.push({ ...gated.row, ceiling: ceiling.text, ceilingValue: ceiling.value });

    const recovery = new RecoveryCodeHasher();
    const code = await recovery.hash('abcdefghij');
    const rSamples: number[] = [];
    for (let i = 0; i < 400; i++) {
      const t = performance.now();
      await recovery.verify(code, 'abcdefghij');
      rSamples.push(performance.now() - t);
    }
    this.rows.push(latencyRow('recovery-code hash verify alone', '1 caller', 'argon2id m=4 MiB, t=1 (secret-hash.ts): the ceiling of the recovery-code row', rSamples, 0));
    return { recoveryHashMs: median(rSamples) };
  }

  /**
   * The least an acknowledged state change can take: one commit that waits for the disk, on the
   * database the servers use, without the server. SQLite: a WAL database with synchronous=FULL in
   * the servers' temporary folder (same disk), one insert per transaction. PostgreSQL: one insert per
   * autocommitted statement on a database of its own (a round trip and the WAL flush).
   */
  async durableCommitRow(): Promise<number> {
    process.stderr.write('bench: one durable commit at a time, the database alone…\n');
    const runs = settings.quick ? 100 : 400;
    const samples: number[] = [];
    if (settings.pgUrl) {
      const db = await createDatabase(settings.pgUrl);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await client.query('create table t (id bigserial primary key, v text not null)');
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          await client.query('insert into t (v) values ($1)', [`row ${i}`]);
          samples.push(performance.now() - t);
        }
      } finally {
        await client.end();
        await db.drop();
      }
    } else {
      const db = new Database(path.join(tempDir('commit'), 'commit.db'));
      try {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.exec('create table t (id integer primary key, v text not null)');
        const insert = db.prepare('insert into t (v) values (?)');
        const one = db.transaction((v: string) => insert.run(v));
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          one.immediate(`row ${i}`);
          samples.push(performance.now() - t);
        }
      } finally {
        db.close();
      }
    }
    const mode = settings.pgUrl ? 'synchronous_commit = on' : 'WAL, synchronous = FULL';
    const row = latencyRow(`one durable commit, ${settings.database} alone (floor)`, '1 caller, seq.', `${mode}; one small insert per commit: the least any acknowledged change here can take`, samples, 0);
    this.commitMs = row.value;
    this.rows.push(row);
    return row.value;
  }

  /** Stops node:http; returns its peak resident memory, a bare Node server's (MiB). */
  async stop(): Promise<number> {
    const rss = memoryMiB(this.hello.child, 'VmHWM');
    await stopChild(this.hello.child);
    return rss;
  }
}

/** A bare `node -e 0` with the same resource-usage preload as the CLI rows: the least a start costs. */
export async function nodeStart(): Promise<{ wallMs: number; cpuMs: number }> {
  const runs = [];
  for (let i = 0; i < settings.cliRuns; i++) runs.push(await runNode(['-e', '0'], { PATH: process.env.PATH ?? '' }));
  return { wallMs: median(runs.map((r) => r.wallMs)), cpuMs: median(runs.map((r) => r.cpuMs)) };
}
