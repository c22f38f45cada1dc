import { describe, expect, it, vi } from 'vitest';
import { HashGate } from '../../src/methods/hash-gate.js';
import { importHash } from '../../src/methods/password/legacy.js';
import { PasswordHasher } from '../../src/methods/password/hasher.js';
import { RecoveryCodeHasher } from '../../src/methods/recovery-code/secret-hash.js';

/**
 * The real argon2id, counted: how many of its calls are under way at once, from the call until
 * its promise settles. Every hash below runs for real; only the count is added.
 */
const argon2 = vi.hoisted(() => ({ inFlight: 0, peak: 0 }));
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  const counted =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      argon2.inFlight++;
      argon2.peak = Math.max(argon2.peak, argon2.inFlight);
      try {
        return await f(...args);
      } finally {
        argon2.inFlight--;
      }
    };
  return { ...real, hash: counted(real.hash), verify: counted(real.verify) };
});

/** A piece of work that ends when the test says so. */
function deferred() {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return { done, finish };
}

describe('one gate for every argon2id of the process', () => {
  it('passwords, imported hashes, recovery codes and both dummy hashes, all at once: never more than two argon2id under way', async () => {
    const passwords = new PasswordHasher();
    const recovery = new RecoveryCodeHasher();
    // Made one at a time, before the count starts.
    const stored = await passwords.hash('a correct horse battery staple');
    const code = await recovery.hash('abcdefghij');
    const imported = importHash('argon2', '$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo');
    if ('refused' in imported) throw new Error(imported.refused);
    argon2.peak = 0;

    // Fresh hashers, so the dummy hashes (unknown user, unknown lookup part) are made in the burst too.
    const freshPasswords = new PasswordHasher();
    const freshRecovery = new RecoveryCodeHasher();
    const results = await Promise.all([
      ...Array.from({ length: 3 }, () => freshPasswords.hash('another long pass phrase here')),
      ...Array.from({ length: 3 }, () => freshPasswords.verify(stored, 'a correct horse battery staple')),
      ...Array.from({ length: 3 }, () => freshPasswords.verify(null, 'whatever was typed')),
      freshPasswords.verify(imported.stored, 'password'),
      ...Array.from({ length: 10 }, (_, i) => freshRecovery.hash(`secret${i}abcd`)),
    ]);

    // The work was done, and right: 3 hashes, 3 right passwords, 3 unknown users, the imported
    // hash, 10 recovery hashes.
    expect(results.slice(0, 3).every((h) => typeof h === 'string' && h.startsWith('$argon2id$'))).toBe(true);
    expect(results.slice(3, 10)).toEqual([true, true, true, false, false, false, true]);
    expect(results.slice(10, 20).every((h) => typeof h === 'string' && h.startsWith('$argon2id$v=19$m=4096,t=1,p=1$'))).toBe(true);
    // Two at a time, never three: the pool has four threads, so without the gate the burst would
    // have had up to 20 calls under way.
    expect(argon2.peak).toBe(2);
    expect(argon2.inFlight).toBe(0);
  });

  it('a recovery-code check does not queue behind the gate: it runs inside the second step\'s transaction', async () => {
    const recovery = new RecoveryCodeHasher();
    const code = await recovery.hash('abcdefghij');
    // Both places taken by work that ends only when the test says so, and a password waiting.
    const gate = new HashGate(2);
    const held = [deferred(), deferred()];
    const busy = held.map((h) => gate.run(() => h.done));
    const gated = new RecoveryCodeHasher(gate);
    const queued = gated.hash('waits for a place');
    let hashed = false;
    void queued.then(() => (hashed = true));
    // Right, wrong and unknown-lookup checks all answer while the gate stays full.
    expect(await Promise.all([gated.verify(code, 'abcdefghij'), gated.verify(code, 'abcdefghik'), gated.verify(null, 'abcdefghij')])).toEqual([true, false, false]);
    expect(gate.running).toBe(2);
    expect(hashed).toBe(false);
    for (const h of held) h.finish();
    await Promise.all([...busy, queued]);
    expect(hashed).toBe(true);
  });

  it('a finishing hash hands its place to the first in line: a caller arriving before that one resumes waits too', async () => {
    // The caller arrives k microtasks after the first work ends; one of these k falls between the
    // gate's bookkeeping and the waiting caller's resumption, wherever the engine puts them.
    for (let k = 0; k < 12; k++) {
      const gate = new HashGate(2);
      let running = 0;
      let most = 0;
      const works = Array.from({ length: 4 }, deferred);
      const run = (i: number) =>
        gate.run(async () => {
          most = Math.max(most, ++running);
          await works[i]!.done;
          running--;
        });
      const all = [run(0), run(1), run(2)];
      await new Promise((r) => setImmediate(r));
      works[0]!.finish();
      let ticks = Promise.resolve();
      for (let t = 0; t < k; t++) ticks = ticks.then(() => undefined);
      all.push(ticks.then(() => run(3)));
      await new Promise((r) => setImmediate(r));
      expect({ k, running }).toEqual({ k, running: 2 });
      for (const w of works) w.finish();
      await Promise.all(all);
      expect({ k, most }).toEqual({ k, most: 2 });
      expect(gate.running).toBe(0);
    }
  });
});
