import type { Transaction } from 'kysely';
import type { MailMessage } from '../mail/messages.js';
import type { AuditEntry } from '../store/audit.js';
import type { Database, User } from '../store/schema.js';

/** Who is asking: recorded in the audit log and used by the per-address throttle. */
export interface Caller {
  ip: string | null;
  userAgent: string | null;
}

export type SecondFactorId = 'totp' | 'webauthn' | 'recovery_code';

/** What a verified second factor contributes to the session (RFC 8176 `amr` values). */
export interface VerifiedFactor {
  amr: string[];
  deviceId?: string;
  deviceName?: string;
}

/**
 * A second factor that checked out but is not used up yet. The flow consumes it inside the
 * transaction that also settles the attempt, records the audit events and opens or raises the
 * session, so either all of that commits or none of it.
 */
export interface Proof extends VerifiedFactor {
  /** Uses the proof up; false when a concurrent request used it first (then it counts as a failure). */
  consume(trx: Transaction<Database>): Promise<boolean>;
  /** What using it means beyond the session: audit events (in the same transaction) and a notice mailed after commit. */
  aftermath?(trx: Transaction<Database>): Promise<{ audit: AuditEntry[]; notice?: MailMessage }>;
}

/**
 * One second factor. Each lives in its own folder under methods/ and is registered once in
 * methods/index.ts; flows only see this interface.
 */
export interface SecondFactorMethod {
  readonly id: SecondFactorId;
  /**
   * True for proofs an attacker could guess (codes): their failures count toward the account's
   * MFA lock, and the lock refuses them. A signed WebAuthn assertion cannot be guessed, so a
   * lock an attacker provoked with wrong codes doesn't shut out the owner's security key.
   */
  readonly guessable: boolean;
  /** True when the user holds an active credential of this kind. */
  isEnrolled(userId: string): Promise<boolean>;
  /**
   * Checks the proof; null when it is wrong, used or malformed. Nothing is consumed yet (see
   * Proof.consume), and the caller counts failures.
   */
  verify(user: User, input: Record<string, unknown>, caller: Caller, purpose: 'sign_in' | 'step_up'): Promise<Proof | null>;
}
