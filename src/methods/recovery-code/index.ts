import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { DeviceRepository } from '../../store/devices.js';
import type { RecoveryCodeRepository } from '../../store/recovery-codes.js';
import type { Database, User } from '../../store/schema.js';
import type { PasswordHasher } from '../password/hasher.js';
import { base32Encode } from '../totp/otpauth.js';
import type { Caller, Proof, SecondFactorMethod } from '../types.js';

export const RECOVERY_CODE_COUNT = 10;

/** 10 base32 characters = 50 bits, shown as `xxxxx-xxxxx`. */
function newCode(): string {
  const raw = base32Encode(randomBytes(7)).slice(0, 10).toLowerCase();
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

/** Accepts any case, with or without the dash or spaces. */
export function normalizeRecoveryCode(input: string): string | null {
  const s = input.replace(/[\s-]/g, '').toLowerCase();
  return /^[a-z2-7]{10}$/.test(s) ? s : null;
}

/** A fresh set: the plain codes to show once, and the hashes to store. */
export interface RecoveryCodeSet {
  codes: string[];
  hashes: string[];
}

/**
 * Single-use look-up secrets. Below 112 bits, NIST wants them stored like passwords, so each is
 * an argon2id hash with its own salt.
 */
export class RecoveryCodeMethod implements SecondFactorMethod {
  readonly id = 'recovery_code' as const;
  readonly guessable = true;

  constructor(
    private readonly codes: RecoveryCodeRepository,
    private readonly devices: DeviceRepository,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  /** Recovery codes stand in for a device, so they count only while the user holds one. */
  async isEnrolled(userId: string): Promise<boolean> {
    return (await this.devices.countActive(userId)) > 0 && (await this.codes.countUnused(userId)) > 0;
  }

  remaining(userId: string): Promise<number> {
    return this.codes.countUnused(userId);
  }

  /** Hashing is slow, so it happens before any transaction opens; `store` then writes the set. */
  async newSet(): Promise<RecoveryCodeSet> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    return { codes, hashes: await Promise.all(codes.map((c) => this.hasher.hash(normalizeRecoveryCode(c)!))) };
  }

  /** Makes `set` the user's only live set, inside the caller's transaction. */
  async store(trx: Transaction<Database>, userId: string, set: RecoveryCodeSet): Promise<void> {
    await this.codes.within(trx).replace(userId, set.hashes, this.clock.now());
  }

  /** Voids every unused code (the last device went), inside the caller's transaction. */
  async voidAll(trx: Transaction<Database>, userId: string): Promise<void> {
    await this.codes.within(trx).voidAll(userId, this.clock.now());
  }

  async verify(user: User, input: Record<string, unknown>, _caller: Caller): Promise<Proof | null> {
    const code = typeof input.code === 'string' ? normalizeRecoveryCode(input.code) : null;
    if (!code) return null;
    for (const row of await this.codes.listUnused(user.id)) {
      if (!(await this.hasher.verify(row.code_hash, code))) continue;
      return {
        amr: ['otp'],
        // Of two requests with the same code, the one whose UPDATE changes the row is the single use.
        consume: (trx) => this.codes.within(trx).use(row.id, this.clock.now()),
        aftermath: async (trx) => {
          const remaining = await this.codes.within(trx).countUnused(user.id);
          return {
            audit: [{ type: 'recovery_code_used', userId: user.id, detail: { remaining } }],
            notice: { kind: 'recovery_code_used', remaining, at: this.clock.now() },
          };
        },
      };
    }
    return null;
  }
}
