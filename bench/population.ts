/**
 * Users created by the bulk import (`mamori user import`, not the API), and the browsers the
 * bench signs them in with: each sampled user has an authenticator app and keeps its own
 * mamori_browser cookie, as a person's browser does.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ServerClock, passwordStep, secondStep, sessionCheck, OTP } from './api.js';
import { runCli, type Instance, type Mamori } from './servers.js';
import { IMPORTED_PASSWORD, writeImportFile, type SampleUser } from './import-file.js';
import { inPool, stats, type Row } from './measure.js';
import { hotp } from '../src/methods/totp/otp.js';

export interface Imported {
  sample: SampleUser[];
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  fileMiB: number;
}

/** Writes the file, migrates the schema (outside the clock) and times the import as an operator sees it: the whole CLI process. */
export async function importPopulation(instance: Instance, users: number, sampleSize: number): Promise<Imported> {
  const file = await writeImportFile(path.join(instance.dataDir, 'import.jsonl'), users, sampleSize);
  const migrated = await runCli(instance, ['migrate']);
  if (migrated.status !== 0) throw new Error(`mamori migrate: ${migrated.stderr}`);
  const run = await runCli(instance, ['user', 'import', file.path]);
  if (run.status !== 0 || !run.stdout.includes(`imported ${users} users`)) throw new Error(`mamori user import: ${run.status} ${run.stderr.slice(0, 800)}`);
  rmSync(file.path); // 200 MiB for a million users
  return { sample: file.sample, seconds: run.wallMs / 1000, cpuSeconds: run.cpuMs / 1000, maxRssMiB: run.maxRssMiB, fileMiB: file.bytes / 2 ** 20 };
}

export interface Browser extends SampleUser {
  browser?: string;
  session?: string;
}

/** Password, TOTP code of `step`, then the session check: one whole sign-in. */
async function oneFlow(m: Mamori, u: Browser, step: bigint): Promise<void> {
  const signIn = await passwordStep(m.url, u.email, IMPORTED_PASSWORD, u.browser);
  const done = await secondStep(m.url, signIn, { method: 'totp', code: hotp(u.key, step, OTP) }, u.browser);
  u.browser = done.browser;
  u.session = done.session;
  await sessionCheck(m.url, done.session);
}

/**
 * Each sampled user signs in once: the imported hash is re-hashed to argon2id at today's
 * parameters and the browser becomes known (a transaction and a mail each), so the measured
 * sign-ins are a returning user's. Leaves every user with a session for the session rows.
 */
export async function warmUp(m: Mamori, clock: ServerClock, sample: readonly SampleUser[], workers: number): Promise<Browser[]> {
  const browsers: Browser[] = sample.map((u) => ({ ...u }));
  await clock.move(30);
  const step = clock.step();
  await inPool(browsers, workers, (u) => oneFlow(m, u, step));
  return browsers;
}

export interface FlowSide {
  name: string;
  server: Mamori;
  clock: ServerClock;
  browsers: Browser[];
}

/**
 * Whole sign-ins by `workers` browsers side by side, for about `seconds` on each server. A TOTP
 * code is accepted once per device and step, so the users are taken in rounds, each user once a
 * round, and the server's test clock moves 30 s between rounds (all of a round's flows have
 * ended: none straddles the move). The servers take rounds in turn, so a drift in the machine's
 * other load falls on all of them. Flows/s counts each server's own rounds, clock moves included.
 */
export async function flowRows(sides: FlowSide[], workers: number, seconds: number): Promise<Row[]> {
  process.stderr.write(`bench: ${sides.map((s) => s.name).join(' / ')}, rounds in turn…\n`);
  const acc = sides.map(() => ({ samples: [] as number[], seconds: 0, errors: 0, firstError: '' }));
  while (acc.some((a) => a.seconds < seconds)) {
    for (const [k, side] of sides.entries()) {
      const a = acc[k]!;
      const started = performance.now();
      await side.clock.move(30);
      const step = side.clock.step();
      await inPool(side.browsers, workers, async (u) => {
        const t = performance.now();
        try {
          await oneFlow(side.server, u, step);
          a.samples.push(performance.now() - t);
        } catch (err) {
          a.errors++;
          a.firstError ||= err instanceof Error ? err.message : String(err);
        }
      });
      a.seconds += (performance.now() - started) / 1000;
    }
  }
  return sides.map((side, k) => {
    const a = acc[k]!;
    const s = stats(a.samples);
    return {
      name: side.name,
      mode: `${workers} browsers`,
      value: a.samples.length / a.seconds,
      unit: 'flows/s',
      p50: s.p50,
      p99: s.p99,
      count: s.count,
      errors: a.errors,
      note: `POST /sign-in → POST /sign-in/mfa (TOTP) → GET /session, latency per flow; ${side.browsers.length} users a round${a.firstError ? `; first error: ${a.firstError.slice(0, 120)}` : ''}`,
    };
  });
}
