import { randomInt } from 'node:crypto';
import { hmacHex, safeEqual } from '../../crypto/tokens.js';
import type { Mailer } from '../../mail/mailer.js';
import type { EmailCodeRepository } from '../../store/sign-in.js';
import type { User } from '../../store/schema.js';

export const EMAIL_CODE_TTL_MS = 10 * 60_000;
export const EMAIL_CODE_MAX_TRIES = 5;
/** Wrong codes per account per hour, across all its codes and sign-ins. */
export const EMAIL_CODE_HOURLY_TRIES = 10;
/** Codes mailed per account per hour. */
export const EMAIL_CODE_HOURLY_SENDS = 10;

export type EmailCodeCheck = 'ok' | 'wrong' | 'spent' | 'hourly_cap';

/**
 * The emailed one-time sign-in code for accounts without MFA. It proves control of the mailbox,
 * which is weak: it never counts as a second factor (NIST 800-63B forbids email as one).
 */
export class EmailCodeMethod {
  constructor(
    private readonly codes: EmailCodeRepository,
    private readonly mailer: Mailer,
    private readonly hmacKey: Buffer,
  ) {}

  #hmac(transactionId: string, code: string): string {
    // Bound to the sign-in transaction: the same digits are worthless in another sign-in.
    return hmacHex(this.hmacKey, `${transactionId}:${code}`);
  }

  /** Mails a fresh code for the transaction; earlier codes of the account stop working. */
  async send(user: User, transactionId: string, now: number): Promise<'sent' | 'hourly_cap'> {
    const usage = await this.codes.hourlyUsage(user.id, now);
    if (usage.sent >= EMAIL_CODE_HOURLY_SENDS) return 'hourly_cap';
    const code = randomInt(0, 1_000_000).toString().padStart(6, '0');
    await this.codes.issue({
      transactionId,
      userId: user.id,
      codeHmac: this.#hmac(transactionId, code),
      now,
      ttlMs: EMAIL_CODE_TTL_MS,
    });
    await this.mailer.send(user.email, { kind: 'email_code', code, expiresInMinutes: EMAIL_CODE_TTL_MS / 60_000 }, user.locale);
    return 'sent';
  }

  async verify(userId: string, transactionId: string, code: string, now: number): Promise<EmailCodeCheck> {
    const usage = await this.codes.hourlyUsage(userId, now);
    if (usage.tries >= EMAIL_CODE_HOURLY_TRIES) return 'hourly_cap';
    const row = await this.codes.current(transactionId, now);
    if (!row) return 'spent';
    if (!(await this.codes.takeAttempt(row.id, EMAIL_CODE_MAX_TRIES, now))) return 'spent';
    if (!/^\d{6}$/.test(code) || !safeEqual(row.code_hmac, this.#hmac(transactionId, code))) return 'wrong';
    return (await this.codes.consume(row.id, now)) ? 'ok' : 'spent';
  }
}
