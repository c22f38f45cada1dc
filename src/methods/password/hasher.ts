import { hash, verify } from '@node-rs/argon2';
import { isImportedHash, verifyImportedHash } from './legacy.js';
import { normalizePassword } from './policy.js';

/** OWASP's argon2id minimum (m=19 MiB, t=2, p=1). Raising these rehashes users at their next sign-in. */
export const ARGON2_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2id runs on libuv's pool, off the event loop. A small gate keeps a burst of sign-ins from
 * queueing every other pool job (file and DNS work) behind dozens of hashes.
 */
export class PasswordHasher {
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  #dummy: Promise<string> | undefined;

  constructor(private readonly concurrency = 2) {}

  async #gate<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) await new Promise<void>((r) => this.#waiting.push(r));
    this.#running++;
    try {
      return await work();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  hash(password: string): Promise<string> {
    return this.#gate(() => hash(normalizePassword(password), ARGON2_PARAMS));
  }

  async verify(stored: string | null, password: string): Promise<boolean> {
    // A hash kept from another system at import is checked as that system checks it (legacy.ts).
    if (stored !== null && isImportedHash(stored)) return this.#gate(() => verifyImportedHash(stored, password));
    // An unknown user is checked against a dummy hash of the same cost, so timing doesn't tell.
    const target = stored ?? (await (this.#dummy ??= hash('mamori-dummy-password', ARGON2_PARAMS)));
    const ok = await this.#gate(() => verify(target, normalizePassword(password)).catch(() => false));
    return stored !== null && ok;
  }

  /** True for anything but argon2id with today's parameters: imported hashes, older settings. */
  needsRehash(stored: string): boolean {
    if (isImportedHash(stored)) return true;
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
    return (
      !m ||
      Number(m[1]) !== ARGON2_PARAMS.memoryCost ||
      Number(m[2]) !== ARGON2_PARAMS.timeCost ||
      Number(m[3]) !== ARGON2_PARAMS.parallelism
    );
  }
}
