import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { newId } from '../../crypto/tokens.js';
import type { Store } from '../../store/db.js';
import type { User } from '../../store/schema.js';
import type { PasswordHasher } from '../password/hasher.js';
import { base32Encode } from '../totp/otpauth.js';
import type { Caller, SecondFactorMethod, VerifiedFactor } from '../types.js';

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

/**
 * Single-use look-up secrets. Below 112 bits, NIST wants them stored like passwords, so each is
 * an argon2id hash with its own salt.
 */
export class RecoveryCodeMethod implements SecondFactorMethod {
  readonly id = 'recovery_code' as const;
  readonly guessable = true;

  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  private unused(userId: string) {
    return this.store.db
      .selectFrom('recovery_codes')
      .select(['id', 'code_hash'])
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .where('voided_at', 'is', null);
  }

  /** Recovery codes stand in for a device, so they count only while the user holds one. */
  async isEnrolled(userId: string): Promise<boolean> {
    const device = await this.store.db.selectFrom('mfa_devices').select('id').where('user_id', '=', userId).where('status', '=', 'active').limit(1).executeTakeFirst();
    return device !== undefined && (await this.unused(userId).limit(1).executeTakeFirst()) !== undefined;
  }

  async remaining(userId: string): Promise<number> {
    return (await this.unused(userId).execute()).length;
  }

  /** A new set of codes; the old set stops working in the same transaction. Returns the plain codes once. */
  async regenerate(userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    const hashes = await Promise.all(codes.map((c) => this.hasher.hash(normalizeRecoveryCode(c)!)));
    const now = this.clock.now();
    const batch = newId();
    await this.store.db.transaction().execute(async (trx) => {
      await trx.updateTable('recovery_codes').set({ voided_at: now }).where('user_id', '=', userId).where('used_at', 'is', null).where('voided_at', 'is', null).execute();
      await trx
        .insertInto('recovery_codes')
        .values(hashes.map((code_hash) => ({ id: newId(), user_id: userId, batch_id: batch, code_hash, created_at: now, used_at: null, voided_at: null })))
        .execute();
    });
    return codes;
  }

  async verify(user: User, input: Record<string, unknown>, _caller: Caller): Promise<VerifiedFactor | null> {
    const code = typeof input.code === 'string' ? normalizeRecoveryCode(input.code) : null;
    if (!code) return null;
    for (const row of await this.unused(user.id).execute()) {
      if (!(await this.hasher.verify(row.code_hash, code))) continue;
      const r = await this.store.db
        .updateTable('recovery_codes')
        .set({ used_at: this.clock.now() })
        .where('id', '=', row.id)
        .where('used_at', 'is', null)
        .where('voided_at', 'is', null)
        .executeTakeFirst();
      // Lost the race to a concurrent request with the same code: that one is the single use.
      return Number(r.numUpdatedRows) === 1 ? { amr: ['otp'] } : null;
    }
    return null;
  }
}
