import { hash, verify } from '@node-rs/argon2';
import { isImportedHash, verifyImportedHash } from './legacy.js';
import { normalizePassword } from './policy.js';
import { hashGate, type HashGate } from '../hash-gate.js';

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's argon2id minimum (m=19 MiB, t=2, p=1). Raising these rehashes users at their next sign-in. */
export const ARGON2_PARAMS: Readonly<Argon2Params> = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export class PasswordHasher {
  #dummy: Promise<string> | undefined;

  /**
   * The server always hashes with ARGON2_PARAMS: no setting changes them. Other parameters are
   * for code that builds its own services (the tests' in-process servers).
   */
  constructor(
    private readonly gate: HashGate = hashGate,
    readonly params: Readonly<Argon2Params> = ARGON2_PARAMS,
  ) {}

  hash(password: string): Promise<string> {
    return this.gate.run(() => hash(normalizePassword(password), this.params));
  }

  async verify(stored: string | null, password: string): Promise<boolean> {
    // A hash kept from another system at import is checked as that system checks it (legacy.ts).
    if (stored !== null && isImportedHash(stored)) return this.gate.run(() => verifyImportedHash(stored, password));
    // An unknown user is checked against a dummy hash of the same cost, so timing doesn't tell.
    const target = stored ?? (await (this.#dummy ??= this.gate.run(() => hash('mamori-dummy-password', this.params))));
    const ok = await this.gate.run(() => verify(target, normalizePassword(password)).catch(() => false));
    return stored !== null && ok;
  }

  /** True for anything but argon2id with today's parameters: imported hashes, older settings. */
  needsRehash(stored: string): boolean {
    if (isImportedHash(stored)) return true;
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
    return (
      !m ||
      Number(m[1]) !== this.params.memoryCost ||
      Number(m[2]) !== this.params.timeCost ||
      Number(m[3]) !== this.params.parallelism
    );
  }
}
