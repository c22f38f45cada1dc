/**
 * Outgoing mail templates in English and Japanese. Pure functions: no I/O, no clock.
 *
 * Every template builds a small document model (paragraphs, a fact table, a code, links) and one
 * renderer turns it into plain text and another into HTML. Templates therefore never write HTML
 * themselves, and the HTML renderer escapes every string it prints, so an attacker-chosen device
 * name or User-Agent can not inject markup.
 *
 * No template takes a password, a TOTP secret or a recovery code; the secrets a mail may carry
 * are the one-time sign-in code of `email_code` and the single-use tokens in links (invitation,
 * recovery and cancel links).
 */
import { type Block, blockText, clean, html, p, siteUrl } from './document.js';
import { draftEn } from './en.js';
import { draftJa } from './ja.js';

export { escapeHtml } from './document.js';

export type Locale = 'en' | 'ja';

/** A phrase in both languages. */
export type Label = Record<Locale, string>;

/** A moment: a Date, or milliseconds since the Unix epoch (what `Clock.now()` returns). */
export type Instant = Date | number;

export type LockReason = 'password' | 'mfa';

/** What an administrator did to an account (one mail may name several changes of one request). */
export type AdminAction = 'unlocked' | 'disabled' | 'enabled' | 'role_changed' | 'renamed' | 'password_change_forced';

/** Who cancelled a recovery: the user (from the mail or a session), or a sign-in with an MFA device. */
export type RecoveryCancelledBy = 'user' | 'sign_in';

/**
 * Where the change came from, shown as "IP address" and "Browser" (the User-Agent summarised,
 * src/mail/user-agent.ts). Both optional: a change made from the command line has neither.
 */
export interface Origin {
  ip?: string;
  userAgent?: string;
}

export type MailMessage =
  | { kind: 'email_code'; code: string; expiresInMinutes: number }
  | ({ kind: 'password_changed'; at: Instant } & Origin)
  /** `deviceLabel`: the device type in words, from its factor (else the built-in names, else the type). */
  | ({ kind: 'mfa_device_added'; deviceName: string; deviceType: string; deviceLabel?: Label; at: Instant } & Origin)
  | ({ kind: 'mfa_device_removed'; deviceName: string; deviceType: string; deviceLabel?: Label; at: Instant; byAdmin: boolean } & Origin)
  /** An administrator deactivated every MFA device at once; `mfaSetupDeadline`: MFA is required, assign one by then. */
  | { kind: 'mfa_devices_reset'; count: number; at: Instant; mfaSetupDeadline?: Instant }
  | ({ kind: 'recovery_code_used'; remaining: number; at: Instant } & Origin)
  /** `reason: 'mfa'` is the MFA lock; `hard` means only an administrator can lift it. */
  | ({ kind: 'account_locked'; reason: LockReason; at: Instant; hard: boolean } & Origin)
  | { kind: 'invitation'; link: string; expiresInHours: number; invitedBy?: string }
  | ({ kind: 'security_key_clone_suspected'; deviceName: string; at: Instant } & Origin)
  | ({ kind: 'sign_in_after_failures'; failures: number; at: Instant } & Origin)
  | ({ kind: 'recovery_codes_regenerated'; count: number; at: Instant } & Origin)
  /** A sign-in completed in a browser this user had not signed in from before. */
  | ({ kind: 'new_browser_sign_in'; at: Instant } & Origin)
  /** `role`: the new role, with `role_changed`. */
  | ({ kind: 'admin_action'; actions: AdminAction[]; role?: 'admin' | 'user'; at: Instant } & Origin)
  /** "I lost my MFA devices": the link that starts the cooling-off. */
  | ({ kind: 'lost_devices_link'; link: string; expiresInMinutes: number; coolingHours: number; at: Instant } & Origin)
  /** The cooling-off started (the link was opened); `cancelLink` ends it. */
  | ({ kind: 'recovery_started'; until: Instant; cancelLink: string; at: Instant } & Origin)
  /** The cooling-off is over: password + emailed code now lead to assigning a new device. */
  /** The origin is the request's (the link was asked for from there); no request makes this mail. */
  | ({ kind: 'recovery_ended'; requestedAt: Instant; cancelLink: string; at: Instant } & Origin)
  | ({ kind: 'recovery_cancelled'; by: RecoveryCancelledBy; at: Instant } & Origin)
  /** The recovery sign-in deactivated every old device (`devices` of them). */
  | ({ kind: 'recovery_completed'; devices: number; at: Instant } & Origin);

export type MailKind = MailMessage['kind'];

export const MAIL_KINDS = [
  'email_code',
  'password_changed',
  'mfa_device_added',
  'mfa_device_removed',
  'mfa_devices_reset',
  'recovery_code_used',
  'account_locked',
  'invitation',
  'security_key_clone_suspected',
  'sign_in_after_failures',
  'recovery_codes_regenerated',
  'new_browser_sign_in',
  'admin_action',
  'lost_devices_link',
  'recovery_started',
  'recovery_ended',
  'recovery_cancelled',
  'recovery_completed',
] as const satisfies readonly MailKind[];

export interface MailContext {
  productName: string;
  publicUrl: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

function footer(locale: Locale, P: string, site: string): Block[] {
  return locale === 'ja'
    ? [
        p(`このメールは${P}（`, { href: site }, '）から自動送信されています。'),
        p(`${P}がメール・電話・チャットでパスワードや確認コードをお尋ねすることはありません。`),
      ]
    : [
        p(`This is an automatic message from ${P} (`, { href: site }, ').'),
        p(`${P} never asks you to send your password or a code by email, phone or chat.`),
      ];
}

export function renderMail(msg: MailMessage, locale: Locale, ctx: MailContext): RenderedMail {
  // Any other runtime value (say, from a stale database row) falls back to English.
  const lang: Locale = locale === 'ja' ? 'ja' : 'en';
  const P = clean(ctx.productName);
  const site = siteUrl(ctx.publicUrl);
  const draft = lang === 'ja' ? draftJa(msg, P, site) : draftEn(msg, P, site);
  const tail = footer(lang, P, site);
  // "-- " is the signature delimiter: clients dim or fold what follows it.
  const body = draft.blocks.map((b) => blockText(b, lang)).join('\n\n');
  const foot = tail.map((b) => blockText(b, lang)).join('\n');
  const text = `${body}\n\n-- \n${foot}\n`;
  return { subject: draft.subject, text, html: html(lang, draft, draft.blocks, tail) };
}
