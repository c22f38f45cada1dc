import { randomBytes } from 'node:crypto';
import { Code } from '../../schemas/fields.js';
import type { User } from '../../store/schema.js';
import { base32Encode } from '../totp/otpauth.js';
import type { BackupCodes, Caller, Factor, FactorDeps, FactorModule, Proof } from '../types.js';

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
 * Single-use look-up secrets that stand in for a lost device. Below 112 bits, NIST wants them
 * stored like passwords, so each is an argon2id hash with its own salt.
 */
export const recoveryCodeFactor: FactorModule = (deps: FactorDeps) => {
  const { devices, hasher, clock } = deps;
  const codes = deps.recoveryCodes;

  const backup: BackupCodes = {
    /** Hashing is slow, so it happens before any transaction opens; `store` then writes the set. */
    async newSet(): Promise<RecoveryCodeSet> {
      const plain = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
      return { codes: plain, hashes: await Promise.all(plain.map((c) => hasher.hash(normalizeRecoveryCode(c)!))) };
    },
    /** Makes `set` the user's only live set, inside the caller's transaction. */
    store: (trx, userId, set) => codes.within(trx).replace(userId, set.hashes, clock.now()),
    /** Voids every unused code (the last device went), inside the caller's transaction. */
    voidAll: async (trx, userId) => void (await codes.within(trx).voidAll(userId, clock.now())),
    remaining: (userId) => codes.countUnused(userId),
  };

  const factor: Factor & { backup: BackupCodes } = {
    id: 'recovery_code',
    guessable: true,
    deviceTypes: [],
    proofFields: { code: Code },
    ui: {
      label: { en: 'Recovery code', ja: 'リカバリーコード' },
      deviceLabels: {},
      proof: [{ name: 'code', kind: 'text', label: { en: 'Recovery code', ja: 'リカバリーコード' } }],
    },
    assignments: [],
    backup,
    /** Recovery codes stand in for a device, so they count only while the user holds one. */
    async isAssigned(userId) {
      return (await devices.countActive(userId)) > 0 && (await codes.countUnused(userId)) > 0;
    },
    async verify(user: User, input: Record<string, unknown>, _caller: Caller): Promise<Proof | null> {
      const code = typeof input.code === 'string' ? normalizeRecoveryCode(input.code) : null;
      if (!code) return null;
      for (const row of await codes.listUnused(user.id)) {
        if (!(await hasher.verify(row.code_hash, code))) continue;
        return {
          amr: ['otp'],
          // Of two requests with the same code, the one whose UPDATE changes the row is the single use.
          consume: (trx) => codes.within(trx).use(row.id, clock.now()),
          aftermath: async (trx) => {
            const remaining = await codes.within(trx).countUnused(user.id);
            return {
              audit: [{ type: 'recovery_code_used', userId: user.id, detail: { remaining } }],
              notice: { kind: 'recovery_code_used', remaining, at: clock.now() },
            };
          },
        };
      }
      return null;
    },
  };
  return factor;
};
