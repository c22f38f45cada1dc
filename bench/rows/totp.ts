/**
 * Server B, started with MAMORI_TEST_CLOCK=true (changes nothing but letting the bench move
 * server time), on users from the bulk import: the TOTP step alone, the TOTP step while password
 * sign-ins saturate the cores, and the recovery-code check. All closed loops, one request at a
 * time, so the latency is the server's and not a queue's in front of it.
 */
import { randomBytes } from 'node:crypto';
import { OTP, ServerClock, passwordStep, secondStep } from '../api.js';
import { call, stringsField } from '../client.js';
import { prepareInstance, startMamori, stopMamori, type Mamori, type Memory } from '../servers.js';
import { IMPORTED_PASSWORD } from '../import-file.js';
import { against, inPool, latencyRow, load, oddStatuses, type LoadResult, type Row } from '../measure.js';
import { importPopulation, warmUp, type Browser } from '../population.js';
import { settings } from '../settings.js';
import { fmtNumber } from '../table.js';
import type { Ceilings } from './ceilings.js';
import { hotp } from '../../src/methods/totp/otp.js';

export interface TotpRows {
  right: Row;
  wrong: Row;
  password: Row;
  loadedRight: Row;
  loadedPassword: Row;
  background: LoadResult;
  recovery: Row;
  memory: Memory;
}

/** Rounds of pending sign-ins made ahead for the loaded loop (a round: one per user). */
const ROUNDS = settings.quick ? 1 : 3;

interface Loop {
  right: number[];
  wrong: number[];
  password: number[];
  errors: { right: number; wrong: number; password: number };
}

/**
 * Sequential sign-ins, the users in turn. A device's code is accepted once per step, so the
 * clock moves 30 s each time the turn comes back to the first user: rarely enough (every
 * `users.length` sign-ins) that a request of the background load, reserved before a move, still
 * settles well inside its 50 s (src/regulation/rules.ts, SETTLE_WITHIN_MS).
 */
async function totpLoop(m: Mamori, clock: ServerClock, users: Browser[], more: (i: number) => boolean, withWrong: boolean, ready = new Map<Browser, string[]>()): Promise<Loop> {
  const loop: Loop = { right: [], wrong: [], password: [], errors: { right: 0, wrong: 0, password: 0 } };
  for (let i = 0; more(i); i++) {
    const u = users[i % users.length]!;
    if (i % users.length === 0) await clock.move(30);
    let t = performance.now();
    let signIn = ready.get(u)?.pop();
    if (!signIn) {
      try {
        signIn = await passwordStep(m.url, u.email, IMPORTED_PASSWORD, u.browser);
        loop.password.push(performance.now() - t);
      } catch {
        loop.errors.password++;
        continue;
      }
    }
    const step = clock.step();
    const cookie = `mamori_signin=${signIn}${u.browser ? `; mamori_browser=${u.browser}` : ''}`;
    if (withWrong) {
      const live = new Set([-1n, 0n, 1n].map((d) => hotp(u.key, step + d, OTP)));
      let wrong = hotp(u.key, step, OTP);
      while (live.has(wrong)) wrong = String((Number(wrong) + 1) % 1_000_000).padStart(6, '0');
      t = performance.now();
      const refused = await call(m.url, 'POST', '/api/v1/sign-in/mfa', { json: { method: 'totp', code: wrong }, cookie });
      loop.wrong.push(performance.now() - t);
      if (refused.status !== 401) loop.errors.wrong++;
    }
    t = performance.now();
    const accepted = await call(m.url, 'POST', '/api/v1/sign-in/mfa', { json: { method: 'totp', code: hotp(u.key, step, OTP) }, cookie });
    loop.right.push(performance.now() - t);
    if (accepted.status !== 200 || !accepted.cookies.mamori_session) loop.errors.right++;
    else u.session = accepted.cookies.mamori_session;
  }
  return loop;
}

/**
 * Sign-ins with recovery codes, one at a time: each set of 10 is used up, then the user (signed
 * in with the last code, so with a fresh second factor) asks for the next set.
 */
async function recoveryLoop(m: Mamori, u: Browser, sets: number): Promise<{ samples: number[]; errors: number }> {
  const samples: number[] = [];
  let errors = 0;
  let session = u.session;
  for (let set = 0; set < sets; set++) {
    if (!session) throw new Error('recovery codes: no session to ask for a set with');
    const r = await call(m.url, 'POST', '/api/v1/me/recovery-codes', { cookie: `mamori_session=${session}` });
    if (r.status !== 200) throw new Error(`POST /api/v1/me/recovery-codes: ${r.status} ${JSON.stringify(r.body)}`);
    for (const code of stringsField(r.body, 'codes')) {
      try {
        const signIn = await passwordStep(m.url, u.email, IMPORTED_PASSWORD, u.browser);
        const t = performance.now();
        const done = await secondStep(m.url, signIn, { method: 'recovery_code', code }, u.browser);
        samples.push(performance.now() - t);
        session = done.session;
      } catch {
        errors++;
      }
    }
  }
  return { samples, errors };
}

export async function totpRows(ceilings: Ceilings, recoveryHashMs: number): Promise<TotpRows> {
  process.stderr.write('bench: starting mamori (B, test clock) on imported users…\n');
  const instance = await prepareInstance('b', { MAMORI_TEST_CLOCK: 'true' });
  const { sample } = await importPopulation(instance, settings.flowUsers, settings.flowUsers);
  const b = await startMamori(instance);
  const clock = new ServerClock(b);
  const users = await warmUp(b, clock, sample, 4);

  const argon2 = await ceilings.argon2();
  const oneVerify = { value: argon2.ms, text: `one argon2id verify ${fmtNumber(argon2.ms)} ms` };
  const floor = { value: ceilings.floorMs, text: `node:http p50 ${fmtNumber(ceilings.floorMs)} ms` };
  // A right code changes state (the step consumed, a session, an audit event): it waits for one commit.
  const durable = { value: ceilings.floorMs + ceilings.commitMs, text: `node:http p50 + one durable commit = ${fmtNumber(ceilings.floorMs + ceilings.commitMs)} ms` };
  process.stderr.write(`bench: ${settings.totpIterations} TOTP sign-ins, idle server…\n`);
  const idle = await totpLoop(b, clock, users, (i) => i < settings.totpIterations, true);
  const mode = '1 conn, seq.';
  const rightNote = 'POST /sign-in/mfa → signed_in: 3 HMAC-SHA1, the step consumed, a new session; a returning browser';
  const right = against(latencyRow('TOTP second step, right code †', mode, rightNote, idle.right, idle.errors.right), durable);
  const wrong = against(latencyRow('TOTP second step, wrong code †', mode, '401 expected: 3 HMAC-SHA1, the failure counted, audit', idle.wrong, idle.errors.wrong), floor);
  const password = against(latencyRow('password step, MFA user †', mode, 'POST /sign-in → mfa_required: one argon2id verify, no queue', idle.password, idle.errors.password), oneVerify);

  // The password steps of the loaded loop are mostly done before the load starts: behind the
  // background's queue each would take several hash times, leaving few TOTP samples in the time.
  // A pending sign-in lives 5 minutes of server time; these are used within ROUNDS clock moves.
  const ready = new Map<Browser, string[]>(users.map((u) => [u, []]));
  await inPool(Array.from({ length: ROUNDS }, () => users).flat(), 4, async (u) => {
    ready.get(u)!.push(await passwordStep(b.url, u.email, IMPORTED_PASSWORD, u.browser));
  });

  // Password sign-ins (unknown emails: argon2id against the dummy hash, a 401 each) from
  // autocannon keep both cores hashing while the closed loop measures the TOTP step beside them.
  process.stderr.write(`bench: TOTP sign-ins for ${settings.loadedS} s while password checks saturate the cores…\n`);
  const background = load(
    {
      url: `${b.url}/api/v1/sign-in`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: () => JSON.stringify({ email: `ghost-${randomBytes(8).toString('hex')}@example.com`, password: 'not the password at all' }),
      expected: 401,
    },
    settings.loadedS + 2,
    settings.loadedConnections,
  );
  await new Promise((r) => setTimeout(r, 1_000));
  const until = performance.now() + settings.loadedS * 1000;
  const loaded = await totpLoop(b, clock, users, () => performance.now() < until, false, ready);
  const bg = await background;
  const bgNote = `background: ${bg.rps.toFixed(0)} password checks/s, ${settings.loadedConnections} conn, ${bg.errors} errors${oddStatuses(bg, 401)}`;
  const loadedRight = against(latencyRow('TOTP second step, right code, cores saturated †', mode, `as above, beside the ${bgNote}`, loaded.right, loaded.errors.right), {
    value: right.value,
    text: `same step idle, p50 ${fmtNumber(right.value)} ms`,
  });
  const loadedNote = `queued behind the background argon2id (gate of 2); only once the ${ROUNDS * users.length} made beforehand ran out`;
  const loadedPassword = against(latencyRow('password step, MFA user, cores saturated †', mode, loadedNote, loaded.password, loaded.errors.password), oneVerify);

  process.stderr.write(`bench: ${settings.recoverySets * 10} sign-ins with recovery codes…\n`);
  const rec = await recoveryLoop(b, users[0]!, settings.recoverySets);
  const recoveryNote = 'POST /sign-in/mfa with a recovery code → signed_in: the lookup part finds the row, one argon2id verify, the code used, a mail, a new session';
  const recovery = against(latencyRow('recovery-code check †', mode, recoveryNote, rec.samples, rec.errors), {
    value: recoveryHashMs,
    text: `one recovery hash ${fmtNumber(recoveryHashMs)} ms`,
  });
  const memory = await stopMamori(b);
  await instance.release();
  return { right, wrong, password, loadedRight, loadedPassword, background: bg, recovery, memory };
}
