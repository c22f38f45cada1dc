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

export type Locale = 'en' | 'ja';

/** A moment: a Date, or milliseconds since the Unix epoch (what `Clock.now()` returns). */
export type Instant = Date | number;

export type LockReason = 'password' | 'mfa';

export type MailMessage =
  | { kind: 'email_code'; code: string; expiresInMinutes: number }
  | { kind: 'password_changed'; at: Instant; ip?: string; userAgent?: string }
  | { kind: 'mfa_device_added'; deviceName: string; deviceType: string; at: Instant }
  | { kind: 'mfa_device_removed'; deviceName: string; deviceType: string; at: Instant; byAdmin: boolean }
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

// ---------------------------------------------------------------------------------------------
// Document model

type Inline = string | { href: string; label?: string };

type Block =
  | { type: 'p'; parts: Inline[] }
  | { type: 'code'; value: string }
  | { type: 'facts'; rows: Array<readonly [label: string, value: string]> }
  | { type: 'link'; href: string };

interface Draft {
  subject: string;
  /** Shown by mail clients as the preview line; it keeps the code of `email_code` out of it. */
  preheader: string;
  blocks: Block[];
}

const p = (...parts: Inline[]): Block => ({ type: 'p', parts });
const code = (value: string): Block => ({ type: 'code', value });
const link = (href: string): Block => ({ type: 'link', href });
const facts = (...rows: Array<readonly [string, string] | false>): Block => ({
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
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const MAX_VALUE_CHARS = 200;

/** Makes an untrusted value safe to show on one line of a mail. */
function clean(value: string | undefined): string {
  const flat = (value ?? '').replace(UNSAFE_CHARS, ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  if (chars.length === 0) return '-';
  return chars.length > MAX_VALUE_CHARS ? chars.slice(0, MAX_VALUE_CHARS - 1).join('') + '…' : flat;
}

/** Whole, non-negative numbers only: a NaN or a fraction in a security mail is a caller bug. */
function count(n: number, field: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${field} must be a whole number >= 0`);
  return n;
}

function httpUrl(raw: string, field: string): string {
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
function siteUrl(publicUrl: string): string {
  return httpUrl(publicUrl, 'publicUrl').replace(/\/$/, '');
}

const INTL_LOCALE: Record<Locale, string> = { en: 'en-US', ja: 'ja-JP' };

/** "Thursday, January 2, 2025 at 3:04:05 AM UTC (2025-01-02T03:04:05Z)". */
function when(at: Instant, locale: Locale): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) throw new RangeError('at is not a valid time');
  const human = d.toLocaleString(INTL_LOCALE[locale], { timeZone: 'UTC', dateStyle: 'full', timeStyle: 'long' });
  const iso = d.toISOString().replace(/\.000Z$/, 'Z');
  return locale === 'ja' ? `${human}（${iso}）` : `${human} (${iso})`;
}

// The device types the MFA methods are expected to use; an unknown one is shown as given.
const DEVICE_TYPES: Record<string, Record<Locale, string>> = {
  totp: { en: 'Authenticator app', ja: '認証アプリ' },
  virtual: { en: 'Authenticator app', ja: '認証アプリ' },
  authenticator_app: { en: 'Authenticator app', ja: '認証アプリ' },
  hardware_totp: { en: 'Hardware TOTP token', ja: 'ハードウェアTOTPトークン' },
  hardware: { en: 'Hardware TOTP token', ja: 'ハードウェアTOTPトークン' },
  webauthn: { en: 'Passkey or security key', ja: 'パスキーまたはセキュリティキー' },
  passkey: { en: 'Passkey', ja: 'パスキー' },
  security_key: { en: 'Security key', ja: 'セキュリティキー' },
};

function deviceTypeLabel(type: string, locale: Locale): string {
  return Object.hasOwn(DEVICE_TYPES, type) ? DEVICE_TYPES[type]![locale] : clean(type);
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Few enough that the user should make new ones before the last is gone. */
const LOW_RECOVERY_CODES = 2;

function assertNever(x: never): never {
  throw new TypeError(`unknown mail kind: ${JSON.stringify(x)}`);
}

// ---------------------------------------------------------------------------------------------
// English

function draftEn(msg: MailMessage, P: string, site: string): Draft {
  const adminNow = 'Contact your administrator right away.';
  switch (msg.kind) {
    case 'email_code': {
      const minutes = plural(count(msg.expiresInMinutes, 'expiresInMinutes'), 'minute', 'minutes');
      return {
        subject: `Your ${P} sign-in code`,
        preheader: `Enter the code in this email to finish signing in. It expires in ${minutes}.`,
        blocks: [
          p(`To finish signing in to ${P}, enter this code. It expires in ${minutes} and works only once.`),
          code(clean(msg.code)),
          p(`Do not share this code with anyone. ${P} administrators will never ask you for it.`),
          p(
            'If you did not just try to sign in, someone else may know your password. ' +
              'Do not enter the code anywhere, and change your password as soon as possible at ',
            { href: site },
            '.',
          ),
        ],
      };
    }
    case 'password_changed':
      return {
        subject: `Your ${P} password was changed`,
        preheader: `The password for your ${P} account was just changed.`,
        blocks: [
          p(`The password for your ${P} account was changed.`),
          facts(
            ['When', when(msg.at, 'en')],
            msg.ip !== undefined && ['IP address', clean(msg.ip)],
            msg.userAgent !== undefined && ['Browser', clean(msg.userAgent)],
          ),
          p('If you made this change, you do not need to do anything.'),
          p(`If you did not, someone else may have taken over your account. ${adminNow}`),
        ],
      };
    case 'mfa_device_added':
      return {
        subject: `An MFA device was added to your ${P} account`,
        preheader: `A new multi-factor authentication device can now sign in to your ${P} account.`,
        blocks: [
          p(`A multi-factor authentication (MFA) device was added to your ${P} account.`),
          facts(
            ['Device', clean(msg.deviceName)],
            ['Type', deviceTypeLabel(msg.deviceType, 'en')],
            ['When', when(msg.at, 'en')],
          ),
          p('If you added it, you do not need to do anything.'),
          p(
            'If you did not, someone else may have signed in as you and can now use this device to sign in. ' +
              adminNow,
          ),
        ],
      };
    case 'mfa_device_removed':
      return {
        subject: msg.byAdmin
          ? `An administrator removed an MFA device from your ${P} account`
          : `An MFA device was removed from your ${P} account`,
        preheader: `A multi-factor authentication device was removed from your ${P} account.`,
        blocks: [
          p(
            msg.byAdmin
              ? `An administrator removed a multi-factor authentication (MFA) device from your ${P} account. ` +
                  'The device can no longer be used to sign in.'
              : `A multi-factor authentication (MFA) device was removed from your ${P} account.`,
          ),
          facts(
            ['Device', clean(msg.deviceName)],
            ['Type', deviceTypeLabel(msg.deviceType, 'en')],
            ['When', when(msg.at, 'en')],
          ),
          ...(msg.byAdmin
            ? [p('If you did not expect this, contact your administrator.')]
            : [
                p('If you removed it, you do not need to do anything.'),
                p(`If you did not, someone else may have access to your account. ${adminNow}`),
              ]),
        ],
      };
    case 'recovery_code_used': {
      const left = count(msg.remaining, 'remaining');
      return {
        subject: `A recovery code was used to sign in to ${P}`,
        preheader: `Someone signed in to your ${P} account with a recovery code.`,
        blocks: [
          p(`A recovery code was used to sign in to your ${P} account. Each recovery code works only once.`),
          facts(['When', when(msg.at, 'en')], ['Recovery codes left', String(left)]),
          ...(left === 0
            ? [
                p(
                  'You have no recovery codes left. Without them, losing your MFA device would lock you out: sign in at ',
                  { href: site },
                  ' and generate new ones now.',
                ),
              ]
            : left <= LOW_RECOVERY_CODES
              ? [p('You are running low on recovery codes. Sign in at ', { href: site }, ' and generate new ones soon.')]
              : []),
          p(
            'If you did not use a recovery code, someone else has your password and at least one of your ' +
              `recovery codes. ${adminNow}`,
          ),
        ],
      };
    }
    case 'account_locked': {
      const mfa = msg.reason === 'mfa';
      return {
        subject: mfa ? `Sign-in to your ${P} account is locked` : `Your ${P} account is locked`,
        preheader: mfa
          ? 'Sign-in was locked after too many wrong MFA codes.'
          : 'Your account was locked after too many failed sign-in attempts.',
        blocks: [
          mfa
            ? p(
                `Sign-in to your ${P} account was locked after too many wrong multi-factor authentication (MFA) codes. ` +
                  'The correct password was entered before these codes, so if the attempts were not yours, ' +
                  'someone else knows your password.',
              )
            : p(`Your ${P} account was locked after too many sign-in attempts with a wrong password.`),
          facts(['When', when(msg.at, 'en')]),
          msg.hard
            ? p('The lock stays until an administrator lifts it. To get access again, contact your administrator.')
            : p('The lock lifts by itself after a while. If you need access sooner, contact your administrator.'),
          mfa
            ? p('If these attempts were not yours, tell your administrator and ask them to help you change your password.')
            : p('If these attempts were not yours, someone may be trying to get into your account: tell your administrator.'),
        ],
      };
    }
    case 'invitation': {
      const hours = plural(count(msg.expiresInHours, 'expiresInHours'), 'hour', 'hours');
      return {
        subject: `You are invited to ${P}`,
        preheader: `Open the link in this email to set up your ${P} account.`,
        blocks: [
          p(
            msg.invitedBy !== undefined
              ? `${clean(msg.invitedBy)} invited you to create an account on ${P}.`
              : `You have been invited to create an account on ${P}.`,
          ),
          p('To accept, open this link and set up your account:'),
          link(httpUrl(msg.link, 'link')),
          p(
            `The link expires in ${hours} and works only once. Anyone who has the link can set up the account, ` +
              'so do not forward this email.',
          ),
          p('If you were not expecting this invitation, you can ignore this email.'),
        ],
      };
    }
    case 'security_key_clone_suspected':
      return {
        subject: `Security alert: a security key of your ${P} account may have been copied`,
        preheader: `A security key on your ${P} account behaved like a copied key.`,
        blocks: [
          p(
            `A sign-in to your ${P} account used your security key "${clean(msg.deviceName)}", but the key ` +
              'reported a lower signature counter than before. A genuine key only counts up, so this can mean ' +
              'the key was copied (cloned) and someone is using the copy.',
          ),
          facts(['Security key', clean(msg.deviceName)], ['When', when(msg.at, 'en')]),
          p(`${adminNow} Until they have looked into it, treat this security key as compromised.`),
        ],
      };
    case 'sign_in_after_failures': {
      const failures = plural(count(msg.failures, 'failures'), 'failed attempt', 'failed attempts');
      return {
        subject: `New sign-in to your ${P} account after failed attempts`,
        preheader: `Someone signed in to your ${P} account after ${failures}.`,
        blocks: [
          p(`Someone signed in to your ${P} account after ${failures}.`),
          facts(
            ['When', when(msg.at, 'en')],
            msg.ip !== undefined && ['IP address', clean(msg.ip)],
            ['Failed attempts before this sign-in', String(msg.failures)],
          ),
          p('If this was you, for example after mistyping your password, you do not need to do anything.'),
          p(
            'If it was not, someone else knows your password. Change it now at ',
            { href: site },
            ' and contact your administrator.',
          ),
        ],
      };
    }
    default:
      return assertNever(msg);
  }
}

// ---------------------------------------------------------------------------------------------
// Japanese (敬体). Subjects carry the product name in 【】, as Japanese service mail usually does.

function draftJa(msg: MailMessage, P: string, site: string): Draft {
  const adminNow = '至急、管理者にご連絡ください。';
  const noAction = 'ご本人による操作であれば、特に対応は必要ありません。';
  switch (msg.kind) {
    case 'email_code': {
      const minutes = count(msg.expiresInMinutes, 'expiresInMinutes');
      return {
        subject: `【${P}】サインイン用の確認コード`,
        preheader: `サインインを完了するための確認コードをお送りします。有効期限は${minutes}分です。`,
        blocks: [
          p(
            `${P}へのサインインを完了するには、次の確認コードを入力してください。` +
              `このコードの有効期限は${minutes}分で、一度だけ使用できます。`,
          ),
          code(clean(msg.code)),
          p(`確認コードは誰にも教えないでください。${P}の管理者が確認コードをお尋ねすることはありません。`),
          p(
            'サインインを試みた覚えがない場合は、第三者にパスワードを知られている可能性があります。' +
              '確認コードは入力せず、すみやかに次のURLからパスワードを変更してください。',
          ),
          link(site),
        ],
      };
    }
    case 'password_changed':
      return {
        subject: `【${P}】パスワードが変更されました`,
        preheader: `${P}アカウントのパスワードが変更されました。`,
        blocks: [
          p(`${P}アカウントのパスワードが変更されました。`),
          facts(
            ['日時', when(msg.at, 'ja')],
            msg.ip !== undefined && ['IPアドレス', clean(msg.ip)],
            msg.userAgent !== undefined && ['ブラウザー', clean(msg.userAgent)],
          ),
          p('ご本人による変更であれば、特に対応は必要ありません。'),
          p(`お心当たりがない場合は、第三者にアカウントを乗っ取られている可能性があります。${adminNow}`),
        ],
      };
    case 'mfa_device_added':
      return {
        subject: `【${P}】MFAデバイスが追加されました`,
        preheader: `${P}アカウントに多要素認証デバイスが追加されました。`,
        blocks: [
          p(`${P}アカウントに多要素認証（MFA）デバイスが追加されました。`),
          facts(
            ['デバイス名', clean(msg.deviceName)],
            ['種類', deviceTypeLabel(msg.deviceType, 'ja')],
            ['日時', when(msg.at, 'ja')],
          ),
          p(noAction),
          p(
            'お心当たりがない場合は、第三者があなたのアカウントにサインインし、このデバイスを登録した可能性があります。' +
              `このデバイスでサインインされるおそれがあるため、${adminNow}`,
          ),
        ],
      };
    case 'mfa_device_removed':
      return {
        subject: msg.byAdmin ? `【${P}】管理者によりMFAデバイスが削除されました` : `【${P}】MFAデバイスが削除されました`,
        preheader: `${P}アカウントから多要素認証デバイスが削除されました。`,
        blocks: [
          p(
            msg.byAdmin
              ? `管理者により、${P}アカウントから多要素認証（MFA）デバイスが削除されました。` +
                  'このデバイスは今後サインインに使用できません。'
              : `${P}アカウントから多要素認証（MFA）デバイスが削除されました。`,
          ),
          facts(
            ['デバイス名', clean(msg.deviceName)],
            ['種類', deviceTypeLabel(msg.deviceType, 'ja')],
            ['日時', when(msg.at, 'ja')],
          ),
          ...(msg.byAdmin
            ? [p('お心当たりがない場合は、管理者にお問い合わせください。')]
            : [
                p(noAction),
                p(`お心当たりがない場合は、第三者があなたのアカウントにアクセスしている可能性があります。${adminNow}`),
              ]),
        ],
      };
    case 'recovery_code_used': {
      const left = count(msg.remaining, 'remaining');
      return {
        subject: `【${P}】リカバリーコードが使用されました`,
        preheader: `${P}アカウントへのサインインにリカバリーコードが使用されました。`,
        blocks: [
          p(
            `${P}アカウントへのサインインにリカバリーコードが使用されました。` +
              'リカバリーコードはそれぞれ一度しか使用できません。',
          ),
          facts(['日時', when(msg.at, 'ja')], ['残りのリカバリーコード', `${left}個`]),
          ...(left === 0
            ? [
                p(
                  'リカバリーコードがすべて使用済みになりました。このままではMFAデバイスを紛失した際にサインインできなくなります。' +
                    '今すぐ次のURLからサインインし、新しいリカバリーコードを生成してください。',
                ),
                link(site),
              ]
            : left <= LOW_RECOVERY_CODES
              ? [
                  p(
                    'リカバリーコードの残りが少なくなっています。' +
                      'お早めに次のURLからサインインし、新しいリカバリーコードを生成してください。',
                  ),
                  link(site),
                ]
              : []),
          p(
            'リカバリーコードを使用した覚えがない場合は、第三者があなたのパスワードとリカバリーコードを' +
              `入手している可能性があります。${adminNow}`,
          ),
        ],
      };
    }
    case 'account_locked': {
      const mfa = msg.reason === 'mfa';
      return {
        subject: mfa ? `【${P}】サインインがロックされました` : `【${P}】アカウントがロックされました`,
        preheader: mfa
          ? 'MFAコードの誤入力が続いたため、サインインがロックされました。'
          : 'パスワードの誤入力が続いたため、アカウントがロックされました。',
        blocks: [
          mfa
            ? p(
                `多要素認証（MFA）コードの誤入力が続いたため、${P}アカウントへのサインインがロックされました。` +
                  'これらの試行ではパスワードは正しく入力されていたため、ご本人による操作でない場合は、' +
                  '第三者にパスワードを知られている可能性があります。',
              )
            : p(`パスワードの誤入力が続いたため、${P}アカウントがロックされました。`),
          facts(['日時', when(msg.at, 'ja')]),
          msg.hard
            ? p('このロックは管理者が解除するまで続きます。再びサインインできるようにするには、管理者にご連絡ください。')
            : p('ロックは一定時間が経過すると自動的に解除されます。お急ぎの場合は、管理者にご連絡ください。'),
          mfa
            ? p('お心当たりがない場合は、管理者にご連絡のうえ、パスワードの変更についてご相談ください。')
            : p(
                'お心当たりがない場合は、第三者があなたのアカウントへの不正なサインインを試みている可能性があります。' +
                  '管理者にお知らせください。',
              ),
        ],
      };
    }
    case 'invitation': {
      const hours = count(msg.expiresInHours, 'expiresInHours');
      return {
        subject: `【${P}】アカウント作成のご案内`,
        preheader: `${P}へのご招待です。メール内のリンクからアカウントを設定してください。`,
        blocks: [
          p(`${P}へのご招待が届いています。`),
          ...(msg.invitedBy !== undefined ? [facts(['招待者', clean(msg.invitedBy)])] : []),
          p('次のリンクを開き、アカウントの設定を完了してください。'),
          link(httpUrl(msg.link, 'link')),
          p(
            `このリンクの有効期限は${hours}時間で、一度だけ使用できます。` +
              'リンクを知っている人は誰でもアカウントを設定できてしまうため、このメールは転送しないでください。',
          ),
          p('お心当たりがない場合は、このメールを破棄してください。'),
        ],
      };
    }
    case 'security_key_clone_suspected':
      return {
        subject: `【${P}】セキュリティキーが複製された可能性があります`,
        preheader: `${P}アカウントのセキュリティキーに、複製されたキーの兆候が見つかりました。`,
        blocks: [
          p(
            `${P}アカウントへのサインインで、セキュリティキー「${clean(msg.deviceName)}」から、` +
              '以前より小さい署名カウンターの値が報告されました。正規のセキュリティキーではこの値は増える一方のため、' +
              'キーが複製（クローン）され、第三者がその複製を使用している可能性があります。',
          ),
          facts(['セキュリティキー', clean(msg.deviceName)], ['日時', when(msg.at, 'ja')]),
          p(`${adminNow}管理者による確認が済むまでは、このセキュリティキーは安全でないものとしてお取り扱いください。`),
        ],
      };
    case 'sign_in_after_failures': {
      const failures = count(msg.failures, 'failures');
      return {
        subject: `【${P}】サインインの失敗が続いた後にサインインがありました`,
        preheader: `${P}アカウントで、${failures}回の失敗の後にサインインがありました。`,
        blocks: [
          p(`${P}アカウントで、${failures}回のサインイン失敗の後にサインインが成功しました。`),
          facts(
            ['日時', when(msg.at, 'ja')],
            msg.ip !== undefined && ['IPアドレス', clean(msg.ip)],
            ['直前の失敗回数', `${failures}回`],
          ),
          p('パスワードの入力ミスなど、ご本人によるものであれば、特に対応は必要ありません。'),
          p(
            'お心当たりがない場合は、第三者にパスワードを知られている可能性があります。' +
              'すぐに次のURLからパスワードを変更し、管理者にご連絡ください。',
          ),
          link(site),
        ],
      };
    }
    default:
      return assertNever(msg);
  }
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

// ---------------------------------------------------------------------------------------------
// Renderers

function inlineText(part: Inline): string {
  if (typeof part === 'string') return part;
  return part.label === undefined ? part.href : `${part.label} (${part.href})`;
}

function blockText(block: Block, locale: Locale): string {
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

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI','Hiragino Sans','Hiragino Kaku Gothic ProN',Meiryo,Arial,sans-serif";
const MONO = "ui-monospace,Menlo,Consolas,'Courier New',monospace";

function inlineHtml(part: Inline): string {
  if (typeof part === 'string') return escapeHtml(part);
  return `<a href="${escapeHtml(part.href)}" style="color:#1a56db;">${escapeHtml(part.label ?? part.href)}</a>`;
}

function blockHtml(block: Block): string {
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
const PREVIEW_FILLER = '&#8199;&#65279;&#847; '.repeat(40);

function html(locale: Locale, draft: Draft, body: Block[], tail: Block[]): string {
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
