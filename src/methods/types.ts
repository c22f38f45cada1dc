import type { User } from '../store/schema.js';

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
   * Checks the proof and consumes it in the same atomic step; null when it is wrong, used or
   * malformed. The caller counts failures.
   */
  verify(user: User, input: Record<string, unknown>, caller: Caller, purpose: 'sign_in' | 'step_up'): Promise<VerifiedFactor | null>;
}
