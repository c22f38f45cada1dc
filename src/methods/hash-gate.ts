/**
 * Every slow hash of the process waits its turn here: passwords (argon2id, and imported hashes
 * checked as their system checks them), the recovery codes' argon2id (recovery-code/secret-hash.ts)
 * and the dummy hashes both compare unknown users against. Each argon2id holds its whole memory
 * cost while it runs (19 MiB for a password), so at most `size` of them at a time bounds the
 * server's memory as well as libuv's pool: a burst of sign-ins can neither take more than
 * 2 × 19 MiB nor queue every other pool job (file and DNS work) behind dozens of hashes. One gate
 * for the process, not one per hasher, because the memory and the pool are the process's.
 */
export class HashGate {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly size: number) {}

  /** How many hashes run now (at most `size`). */
  get running(): number {
    return this.#running;
  }

  /** How many wait for a place. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    // A finishing hash hands its place straight to the next in line (the count stays the same),
    // so a caller arriving in between cannot take it as well.
    if (this.#running >= this.size) await new Promise<void>((r) => this.#waiting.push(r));
    else this.#running++;
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** Two at a time: the project's machines have two cores, and 2 × 19 MiB is the memory allowed for hashing. */
export const hashGate = new HashGate(2);
