import { randomBytes } from 'node:crypto';
import { Code } from '../../schemas/fields.js';
import type { StoredRecoveryCode } from '../../store/recovery-codes.js';
import type { Transaction } from 'kysely';
import type { Database, User } from '../../store/schema.js';
import { base32Encode } from '../totp/otpauth.js';
import type { BackupCodes, Caller, Factor, FactorDeps, FactorModule, Proof } from '../types.js';
import { RecoveryCodeHasher } from './secret-hash.js';

export const RECOVERY_CODE_COUNT = 10;
/** Base32 characters of the public lookup part (25 bits) and of the secret part (50 bits). */
export const LOOKUP_CHARS = 5;
export const SECRET_CHARS = 10;

/**
 * The one slow hash of this process's recovery codes; tests count its calls. Exported as an
 * object so that a spy on its methods sees every hash the factor computes.
 */
export const recoveryCodeHasher = new RecoveryCodeHasher();

/**
 * A code is `lllll-sssss-sssss`: a lookup part that names its row and a secret part that the one
 * slow hash checks, each from its own random bytes, so one tells nothing about the other.
 *
 * The lookup part is stored in plain, not as an HMAC: it is chosen at random independently of
 * the secret, so whoever reads it (a database thief included) learns nothing about the secret
 * part, which alone carries the 50 bits and the salted hash; it only saves us trying every hash.
 * Keyed (SecretBox.deriveKey), it would hide nothing more and would tie every stored code to
 * the current master key, which `mamori keys rotate` replaces, voiding every set at rotation.
 * Lookup parts are unique within a user's live set (the partial unique index of migration 007);
 * they are looked up together with the user id, so 25 bits are plenty.
 */
function newCode(taken: Set<string>): { code: string; lookup: string; secret: string } {
  let lookup: string;
  do lookup = base32Encode(randomBytes(4)).slice(0, LOOKUP_CHARS).toLowerCase();
  while (taken.has(lookup));
  taken.add(lookup);
  const secret = base32Encode(randomBytes(7)).slice(0, SECRET_CHARS).toLowerCase();
  return { code: `${lookup}-${secret.slice(0, 5)}-${secret.slice(5)}`, lookup, secret };
}

/** What a typed code is: a new one (lookup + secret part) or one of the old form (secret only, made before migration 007). */
export type ParsedRecoveryCode = { kind: 'lookup'; lookup: string; secret: string } | { kind: 'legacy'; code: string };

/** Accepts any case, with or without dashes or spaces, anywhere. */
export function parseRecoveryCode(input: string): ParsedRecoveryCode | null {
  const s = input.replace(/[\s-]/g, '').toLowerCase();
  if (!/^[a-z2-7]+$/.test(s)) return null;
  if (s.length === LOOKUP_CHARS + SECRET_CHARS) return { kind: 'lookup', lookup: s.slice(0, LOOKUP_CHARS), secret: s.slice(LOOKUP_CHARS) };
  if (s.length === SECRET_CHARS) return { kind: 'legacy', code: s };
  return null;
}

/** A fresh set: the plain codes to show once, and what to store (the lookup part and the hash). */
export interface RecoveryCodeSet {
  codes: string[];
  /** `lookup:hash`, one per code (BackupCodes carries strings); `store` splits them. */
  hashes: string[];
}

const STORED = /^([a-z2-7]+):(\$argon2id\$.+)$/;

function toStored(entry: string): StoredRecoveryCode {
  const m = STORED.exec(entry);
  return m ? { lookupId: m[1]!, codeHash: m[2]! } : { lookupId: null, codeHash: entry };
}

/**
 * Single-use look-up secrets that stand in for a lost device. Below 112 bits, NIST wants them
 * salted and hashed with a one-way function; the secret part is hashed by RecoveryCodeHasher
 * (argon2id sized for 50 random bits, see secret-hash.ts), and a check costs one such hash
 * whether or not the lookup part exists.
 */
export const recoveryCodeFactor: FactorModule = (deps: FactorDeps) => {
  const { devices, hasher, clock } = deps;
  const codes = deps.recoveryCodes;
  const slow = recoveryCodeHasher;
  slow.warm();

  const backup: BackupCodes = {
    /** Hashing happens before any transaction opens; `store` then writes the set. */
    async newSet(): Promise<RecoveryCodeSet> {
      const taken = new Set<string>();
      const made = Array.from({ length: RECOVERY_CODE_COUNT }, () => newCode(taken));
      const hashes = await Promise.all(made.map(async (c) => `${c.lookup}:${await slow.hash(c.secret)}`));
      return { codes: made.map((c) => c.code), hashes };
    },
    /** Makes `set` the user's only live set, inside the caller's transaction. */
    store: (trx, userId, set) => codes.within(trx).replace(userId, set.hashes.map(toStored), clock.now()),
    /** Voids every unused code (the last device went), inside the caller's transaction. */
    voidAll: async (trx, userId) => void (await codes.within(trx).voidAll(userId, clock.now())),
    remaining: (userId) => codes.countUnused(userId),
  };

  /** The row a typed code matches, after exactly one slow hash for a code of the new form. */
  async function match(userId: string, parsed: ParsedRecoveryCode, trx: Transaction<Database>): Promise<string | null> {
    const inTrx = codes.within(trx);
    if (parsed.kind === 'lookup') {
      const row = await inTrx.findUnusedByLookup(userId, parsed.lookup);
      return (await slow.verify(row?.code_hash ?? null, parsed.secret)) ? row!.id : null;
    }
    // The old form: only rows made before migration 007 can match, each tried with the
    // password hasher's parameters they were made with. None left: the same one dummy hash.
    const legacy = await inTrx.listUnusedLegacy(userId);
    if (legacy.length === 0) {
      await slow.verify(null, parsed.code);
      return null;
    }
    for (const row of legacy) if (await hasher.verify(row.code_hash, parsed.code)) return row.id;
    return null;
  }

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
    async isAssigned(userId, active) {
      return active.length > 0 && (await codes.countUnused(userId)) > 0;
    },
    async verify(user: User, input: Record<string, unknown>, _caller: Caller, _purpose, trx): Promise<Proof | null> {
      const parsed = typeof input.code === 'string' ? parseRecoveryCode(input.code) : null;
      if (!parsed) return null;
      // Recovery codes stand in for a device: without one they are not accepted (see isAssigned).
      if ((await devices.within(trx).countActive(user.id)) === 0) return null;
      const id = await match(user.id, parsed, trx);
      if (id === null) return null;
      return {
        amr: ['otp'],
        // Of two requests with the same code, the one whose UPDATE changes the row is the single use.
        consume: (t) => codes.within(t).use(id, clock.now()),
        aftermath: async (t) => {
          const remaining = await codes.within(t).countUnused(user.id);
          return {
            audit: [{ type: 'recovery_code_used', userId: user.id, detail: { remaining } }],
            notice: { kind: 'recovery_code_used', remaining, at: clock.now() },
          };
        },
      };
    },
  };
  return factor;
};
