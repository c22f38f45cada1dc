import { randomInt } from 'node:crypto';
import { hmacHex, safeEqual } from '../../crypto/tokens.js';
import type { Mailer } from '../../mail/mailer.js';
import type { EmailCodeRepository } from '../../store/sign-in.js';
import type { Transaction } from 'kysely';
import type { Database, User } from '../../store/schema.js';

export const EMAIL_CODE_TTL_MS = 10 * 60_000;
/** Tries per code; the hourly budgets per account live in src/regulation/rules.ts. */
export const EMAIL_CODE_MAX_TRIES = 5;

export type EmailCodeCheck = { result: 'ok'; codeId: string } | { result: 'wrong' | 'spent' };

/**
 * The emailed one-time sign-in code for accounts without MFA. It proves control of the mailbox,
 * which is weak: it never counts as a second factor (NIST 800-63B forbids email as one).
 */
export class SignInCodeMethod {
  constructor(
    private readonly codes: EmailCodeRepository,
    private readonly mailer: Mailer,
    private readonly hmacKey: Buffer,
  ) {}

  #hmac(transactionId: string, code: string): string {
    // Bound to the sign-in transaction: the same digits are worthless in another sign-in.
    return hmacHex(this.hmacKey, `${transactionId}:${code}`);
  }

  /**
   * A fresh code for the transaction, stored (as an HMAC) in the caller's transaction; earlier
   * codes of the account stop working. Returns the plain code for `mail`, after the commit.
   */
  async issue(trx: Transaction<Database>, user: Pick<User, 'id'>, transactionId: string, now: number): Promise<string> {
    const code = randomInt(0, 1_000_000).toString().padStart(6, '0');
    await this.codes.within(trx).issue({ transactionId, userId: user.id, codeHmac: this.#hmac(transactionId, code), now, ttlMs: EMAIL_CODE_TTL_MS });
    return code;
  }

  /**
   * `validMs`: how long the code works from now, which is less than its own lifetime when the
   * sign-in waiting for it ends first (5 minutes, less on a resend). The mail says it in whole
   * minutes, rounded down, so it does not promise a minute more than there is (bar the few
   * seconds the request itself took).
   */
  async mail(user: Pick<User, 'email' | 'locale'>, code: string, validMs: number): Promise<void> {
    const expiresInMinutes = Math.max(1, Math.floor((Math.min(validMs, EMAIL_CODE_TTL_MS) + 5_000) / 60_000));
    await this.mailer.send(user.email, { kind: 'email_code', code, expiresInMinutes }, user.locale);
  }

  /**
   * Checks the code against the transaction's live code, spending one of its tries first (the
   * row count decides, so concurrent guesses cannot exceed them). The caller consumes a right
   * code (`consume`) in the transaction that opens the session.
   */
  async check(transactionId: string, code: string, now: number): Promise<EmailCodeCheck> {
    const row = await this.codes.current(transactionId, now);
    if (!row) return { result: 'spent' };
    if (!(await this.codes.takeAttempt(row.id, EMAIL_CODE_MAX_TRIES, now))) return { result: 'spent' };
    if (!/^\d{6}$/.test(code) || !safeEqual(row.code_hmac, this.#hmac(transactionId, code))) return { result: 'wrong' };
    return { result: 'ok', codeId: row.id };
  }

  /** Single use: true for exactly one caller. */
  consume(trx: Transaction<Database>, codeId: string, now: number): Promise<boolean> {
    return this.codes.within(trx).consume(codeId, now);
  }
}
