/**
 * Outgoing mail templates in English and Japanese. Pure functions: no I/O, no clock.
 *
 * Every template builds a small document model (paragraphs, a fact table, a code, links) and one
 * renderer turns it into plain text and another into HTML. Templates therefore never write HTML
 * themselves, and the HTML renderer escapes every string it prints, so an attacker-chosen device
 * name or User-Agent can not inject markup.
 *
 * No template takes a password, a TOTP secret or a recovery code; the one secret a mail may carry
 * is the one-time sign-in code of `email_code`.
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

export type MailMessage =
  | { kind: 'email_code'; code: string; expiresInMinutes: number }
  | { kind: 'password_changed'; at: Instant; ip?: string; userAgent?: string }
  /** `deviceLabel`: the device type in words, from its factor (else the built-in names, else the type). */
  | { kind: 'mfa_device_added'; deviceName: string; deviceType: string; deviceLabel?: Label; at: Instant }
  | { kind: 'mfa_device_removed'; deviceName: string; deviceType: string; deviceLabel?: Label; at: Instant; byAdmin: boolean }
  | { kind: 'recovery_code_used'; remaining: number; at: Instant }
  /** `reason: 'mfa'` is the MFA lock; `hard` means only an administrator can lift it. */
  | { kind: 'account_locked'; reason: LockReason; at: Instant; hard: boolean }
  | { kind: 'invitation'; link: string; expiresInHours: number; invitedBy?: string }
  | { kind: 'security_key_clone_suspected'; deviceName: string; at: Instant }
  | { kind: 'sign_in_after_failures'; failures: number; at: Instant; ip?: string };

export type MailKind = MailMessage['kind'];

export const MAIL_KINDS = [
  'email_code',
  'password_changed',
  'mfa_device_added',
  'mfa_device_removed',
  'recovery_code_used',
  'account_locked',
  'invitation',
  'security_key_clone_suspected',
  'sign_in_after_failures',
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
