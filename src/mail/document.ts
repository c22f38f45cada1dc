/**
 * The small document model every mail template builds (paragraphs, facts, a code, links), the
 * value guards templates pass untrusted text through, and the two renderers: plain text and HTML.
 * The HTML renderer escapes every string, so no template writes markup.
 */
import type { Instant, Locale } from './messages.js';

// ---------------------------------------------------------------------------------------------
// Document model

export type Inline = string | { href: string; label?: string };

export type Block =
  | { type: 'p'; parts: Inline[] }
  | { type: 'code'; value: string }
  | { type: 'facts'; rows: Array<readonly [label: string, value: string]> }
  | { type: 'link'; href: string };

export interface Draft {
  subject: string;
  /** Shown by mail clients as the preview line; it keeps the code of `email_code` out of it. */
  preheader: string;
  blocks: Block[];
}

export const p = (...parts: Inline[]): Block => ({ type: 'p', parts });
export const code = (value: string): Block => ({ type: 'code', value });
export const link = (href: string): Block => ({ type: 'link', href });
export const facts = (...rows: Array<readonly [string, string] | false>): Block => ({
  type: 'facts',
  rows: rows.filter((r): r is readonly [string, string] => r !== false),
});

// ---------------------------------------------------------------------------------------------
// Values

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Controls, line/paragraph separators and bidi overrides: in an attacker-chosen value they could
// forge extra lines in the text part or visually reorder a sentence ("Trojan Source" style).
export const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
export const MAX_VALUE_CHARS = 200;

/** Makes an untrusted value safe to show on one line of a mail. */
export function clean(value: string | undefined): string {
  const flat = (value ?? '').replace(UNSAFE_CHARS, ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  if (chars.length === 0) return '-';
  return chars.length > MAX_VALUE_CHARS ? chars.slice(0, MAX_VALUE_CHARS - 1).join('') + '…' : flat;
}

/** Whole, non-negative numbers only: a NaN or a fraction in a security mail is a caller bug. */
export function count(n: number, field: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${field} must be a whole number >= 0`);
  return n;
}

export function httpUrl(raw: string, field: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`${field} is not a valid URL`);
  }
  // Anything else (javascript:, data:) in an href is a script-injection vector.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`${field} must be an http(s) URL`);
  return url.href;
}

/** The origin without the trailing slash `URL.href` adds: it reads better in a sentence. */
export function siteUrl(publicUrl: string): string {
  return httpUrl(publicUrl, 'publicUrl').replace(/\/$/, '');
}

export const INTL_LOCALE: Record<Locale, string> = { en: 'en-US', ja: 'ja-JP' };

// One formatter per locale, made on first use: `toLocaleString` with options builds a new
// Intl.DateTimeFormat at every call, which was 6 % of a sign-in step that mails a notice.
const formatters = new Map<Locale, Intl.DateTimeFormat>();

/** "Thursday, January 2, 2025 at 3:04:05 AM UTC (2025-01-02T03:04:05Z)". */
export function when(at: Instant, locale: Locale): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) throw new RangeError('at is not a valid time');
  let format = formatters.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(INTL_LOCALE[locale], { timeZone: 'UTC', dateStyle: 'full', timeStyle: 'long' });
    formatters.set(locale, format);
  }
  const human = format.format(d);
  const iso = d.toISOString().replace(/\.000Z$/, 'Z');
  return locale === 'ja' ? `${human}（${iso}）` : `${human} (${iso})`;
}

// The device types the MFA methods are expected to use; an unknown one is shown as given.
export const DEVICE_TYPES: Record<string, Record<Locale, string>> = {
  totp: { en: 'Authenticator app', ja: '認証アプリ' },
  virtual: { en: 'Authenticator app', ja: '認証アプリ' },
  authenticator_app: { en: 'Authenticator app', ja: '認証アプリ' },
  hardware_totp: { en: 'Hardware TOTP token', ja: 'ハードウェアTOTPトークン' },
  hardware: { en: 'Hardware TOTP token', ja: 'ハードウェアTOTPトークン' },
  webauthn: { en: 'Passkey or security key', ja: 'パスキーまたはセキュリティキー' },
  passkey: { en: 'Passkey', ja: 'パスキー' },
  security_key: { en: 'Security key', ja: 'セキュリティキー' },
};

export function deviceTypeLabel(type: string, locale: Locale): string {
  return Object.hasOwn(DEVICE_TYPES, type) ? DEVICE_TYPES[type]![locale] : clean(type);
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Few enough that the user should make new ones before the last is gone (issue 10: three or fewer). */
export const LOW_RECOVERY_CODES = 3;

export function assertNever(x: never): never {
  throw new TypeError(`unknown mail kind: ${JSON.stringify(x)}`);
}

// ---------------------------------------------------------------------------------------------
// Renderers

export function inlineText(part: Inline): string {
  if (typeof part === 'string') return part;
  return part.label === undefined ? part.href : `${part.label} (${part.href})`;
}

export function blockText(block: Block, locale: Locale): string {
  switch (block.type) {
    case 'p':
      return block.parts.map(inlineText).join('');
    case 'code':
      return block.value;
    case 'link':
      return block.href;
    case 'facts': {
      const sep = locale === 'ja' ? '：' : ': ';
      return block.rows.map(([label, value]) => `${label}${sep}${value}`).join('\n');
    }
  }
}

export const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI','Hiragino Sans','Hiragino Kaku Gothic ProN',Meiryo,Arial,sans-serif";
export const MONO = "ui-monospace,Menlo,Consolas,'Courier New',monospace";

export function inlineHtml(part: Inline): string {
  if (typeof part === 'string') return escapeHtml(part);
  return `<a href="${escapeHtml(part.href)}" style="color:#1a56db;">${escapeHtml(part.label ?? part.href)}</a>`;
}

export function blockHtml(block: Block): string {
  switch (block.type) {
    case 'p':
      return `<p style="margin:0 0 16px;">${block.parts.map(inlineHtml).join('')}</p>`;
    case 'code':
      return (
        `<p style="margin:0 0 16px;font-family:${MONO};font-size:28px;font-weight:bold;letter-spacing:4px;">` +
        `${escapeHtml(block.value)}</p>`
      );
    case 'link':
      return `<p style="margin:0 0 16px;word-break:break-all;">${inlineHtml({ href: block.href })}</p>`;
    case 'facts':
      return (
        '<table role="presentation" style="margin:0 0 16px;border-collapse:collapse;">' +
        block.rows
          .map(
            ([label, value]) =>
              `<tr><th scope="row" style="text-align:left;vertical-align:top;padding:2px 16px 2px 0;white-space:nowrap;">` +
              `${escapeHtml(label)}</th><td style="padding:2px 0;">${escapeHtml(value)}</td></tr>`,
          )
          .join('') +
        '</table>'
      );
  }
}

// Filler after the preheader so a client's preview does not run on into the body (and the code).
export const PREVIEW_FILLER = '&#8199;&#65279;&#847; '.repeat(40);

export function html(locale: Locale, draft: Draft, body: Block[], tail: Block[]): string {
  return [
    '<!doctype html>',
    `<html lang="${locale}">`,
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>${escapeHtml(draft.subject)}</title></head>`,
    `<body style="margin:0;padding:0;background:#f4f4f5;">`,
    `<div style="display:none;max-height:0;overflow:hidden;">${escapeHtml(draft.preheader)}${PREVIEW_FILLER}</div>`,
    `<div style="max-width:560px;margin:0 auto;padding:24px;background:#ffffff;color:#18181b;font-family:${FONT};font-size:15px;line-height:1.7;">`,
    ...body.map(blockHtml),
    '<hr style="border:none;border-top:1px solid #e4e4e7;margin:24px 0 16px;">',
    `<div style="color:#71717a;font-size:12px;">${tail.map(blockHtml).join('')}</div>`,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

