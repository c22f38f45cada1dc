import { hash, verify } from '@node-rs/argon2';
import { hashGate, type HashGate } from '../hash-gate.js';

/**
 * The slow hash of a recovery code's secret part, sized for what it protects: 50 uniformly random
 * bits, not a password a person chose. A password needs m = 19 MiB, t = 2 because an attacker
 * tries the likely ones first; here there is nothing likely, every one of the 2^50 secrets is as
 * good a guess as the next, so a much smaller cost per guess still leaves an enormous total.
 *
 * argon2id m = 4 MiB, t = 1, p = 1, salted (16 random bytes per code). Measured on the project's
 * 2-core machine: 0.5 ms per hash or verify (the password parameters: 5.8 ms). A set of 10
 * codes takes 3–6 ms (it took 34–49 ms, and up to ~190 ms on a loaded machine, at the password
 * parameters); a check takes 0.5 ms, right, wrong or unknown (it took 5–7 ms when the code was the
 * first row tried and ~60 ms for a wrong code, which tried all ten).
 *
 * What an offline attacker holding the database pays for ONE code (the salt makes every code its
 * own search; the lookup part stored beside it narrows nothing): on average 2^49 ≈ 5.6 × 10^14
 * guesses. On CPUs at 0.5 ms per guess per core that is 2.8 × 10^11 core-seconds ≈ 9 000
 * core-years. On GPUs the bound is memory traffic: each guess fills 4 MiB and reads it back
 * (~12 MiB moved), so a 1 TB/s card manages at most ~8 × 10^4 guesses/s, i.e. ~7 × 10^9 s ≈
 * 220 GPU-years (~2 × 10^6 GPU-hours, ~$1M at $0.5 an hour) per code, and a set is 10 codes —
 * long after the user has used or replaced them. NIST SP 800-63B (5.1.2.2) asks look-up secrets
 * under 112 bits to be stored salted and hashed with an approved one-way key derivation
 * function; it does not ask for password-sized costs.
 *
 * Online, the attacker gets at most 10 consecutive wrong second-factor answers before the lock,
 * 8.9 × 10^-15 per guess against a set of 10: the hash cost plays no part there.
 */
export const RECOVERY_HASH_PARAMS = { memoryCost: 4096, timeCost: 1, parallelism: 1 } as const;

export class RecoveryCodeHasher {
  /** A hash of nothing any user holds, at the same parameters: the target for an unknown lookup part. */
  #dummy: Promise<string> | undefined;

  /**
   * Making a set goes through the passwords' gate (hash-gate.ts): one of these is a tenth of a
   * password hash, but a set is ten of them at once, and beside two password hashes they would be
   * the process's third to sixth argon2id, on the pool's last threads. A set is made before any
   * transaction opens, so its wait holds nothing.
   */
  constructor(private readonly gate: HashGate = hashGate) {}

  hash(secret: string): Promise<string> {
    return this.gate.run(() => hash(secret, RECOVERY_HASH_PARAMS));
  }

  /** Starts the dummy hash early, so the first unknown lookup part does not pay a hash more. */
  warm(): void {
    this.#dummy ??= hash('mamori-no-such-recovery-code', RECOVERY_HASH_PARAMS);
  }

  /**
   * ONE verify, always: `stored` null (no row has this lookup part) is checked against the dummy
   * hash of the same cost, so the answer's timing does not tell whether the lookup part exists.
   *
   * Not through the gate: a check runs inside the second step's transaction (src/flows/second-
   * factor.ts), and waiting there behind a queue of password hashes would hold that transaction,
   * on SQLite the one write lock, for as long as the queue is. Its own cost is 4 MiB for 0.5 ms,
   * and the transactions bound how many run at once (one on SQLite, the pool's size on PostgreSQL).
   */
  async verify(stored: string | null, secret: string): Promise<boolean> {
    this.warm();
    const target = stored ?? (await this.#dummy!);
    const ok = await verify(target, secret).catch(() => false);
    return stored !== null && ok;
  }
}
