/**
 * Issue 10, item 4: the security notifications' texts. Each says when, from which IP address and
 * which browser (its User-Agent summarised), and what to do if it was not the reader, in English
 * and in Japanese. Pure rendering; delivery over SMTP is test/http/notifications.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { renderMail, type Locale, type MailMessage } from '../../src/mail/messages.js';
import { summarizeUserAgent } from '../../src/mail/user-agent.js';
import { when } from '../../src/mail/document.js';

const ctx = { productName: 'Mamori', publicUrl: 'https://id.example.com' };
const AT = Date.UTC(2025, 0, 2, 3, 4, 5);
const IP = '198.51.100.23';
const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const origin = { ip: IP, userAgent: CHROME_WINDOWS };
const CANCEL = 'https://id.example.com/console/#/recover/cancel?token=c4nc3l';

/** What the reader should do if it was not them, per language. */
const NOT_YOU: Record<Locale, RegExp> = { en: /If (it was not|this was not you|you did not|these attempts were not yours)/, ja: /(お心当たり|覚え)がない場合/ };

/** Every notification that tells of an event, with where it came from. */
const EVENTS: MailMessage[] = [
  { kind: 'password_changed', at: AT, ...origin },
  { kind: 'mfa_device_added', deviceName: 'Phone', deviceType: 'totp', at: AT, ...origin },
  { kind: 'mfa_device_removed', deviceName: 'Phone', deviceType: 'totp', at: AT, byAdmin: false, ...origin },
  { kind: 'mfa_device_removed', deviceName: 'Phone', deviceType: 'totp', at: AT, byAdmin: true, ...origin },
  { kind: 'recovery_code_used', remaining: 3, at: AT, ...origin },
  { kind: 'recovery_codes_regenerated', count: 10, at: AT, ...origin },
  { kind: 'account_locked', reason: 'password', at: AT, hard: true, ...origin },
  { kind: 'account_locked', reason: 'mfa', at: AT, hard: false, ...origin },
  { kind: 'sign_in_after_failures', failures: 6, at: AT, ...origin },
  { kind: 'new_browser_sign_in', at: AT, ...origin },
  { kind: 'admin_action', actions: ['unlocked'], at: AT, ...origin },
  { kind: 'lost_devices_link', link: 'https://id.example.com/console/#/recover?token=l1nk', expiresInMinutes: 60, coolingHours: 24, at: AT, ...origin },
  { kind: 'recovery_started', until: AT + 86_400_000, cancelLink: CANCEL, at: AT, ...origin },
  { kind: 'recovery_cancelled', by: 'user', at: AT, ...origin },
  { kind: 'recovery_cancelled', by: 'sign_in', at: AT, ...origin },
  { kind: 'recovery_completed', devices: 2, at: AT, ...origin },
];

describe('security notifications say when, where from, which browser and what to do', () => {
  for (const locale of ['en', 'ja'] as const) {
    for (const msg of EVENTS) {
      it(`${msg.kind}${'byAdmin' in msg ? ` (byAdmin ${msg.byAdmin})` : ''}${'by' in msg ? ` (${msg.by})` : ''} in ${locale}`, () => {
        const mail = renderMail(msg, locale, ctx);
        expect(mail.text).toContain('2025-01-02T03:04:05Z');
        expect(mail.text).toContain(locale === 'ja' ? `IPアドレス：${IP}` : `IP address: ${IP}`);
        expect(mail.text).toContain(locale === 'ja' ? 'ブラウザー：Chrome 126（Windows）' : 'Browser: Chrome 126 on Windows');
        // The summary, not the whole User-Agent string.
        expect(mail.text).not.toContain('AppleWebKit');
        if (!(msg.kind === 'mfa_device_removed' && msg.byAdmin) && msg.kind !== 'admin_action') expect(mail.text).toMatch(NOT_YOU[locale]);
        else expect(mail.text).toMatch(locale === 'ja' ? /お心当たりがない場合|管理者にお問い合わせ/ : /If you did not/);
        expect(mail.html).toContain(locale === 'ja' ? 'Chrome 126（Windows）' : 'Chrome 126 on Windows');
      });
    }
  }

  it('renders the Japanese texts politely and in the console\'s terms', () => {
    for (const msg of EVENTS) {
      const ja = renderMail(msg, 'ja', ctx);
      expect(ja.subject).toMatch(/^【Mamori】/);
      expect(ja.text).toMatch(/(ます|です|ください)。/);
      expect(ja.text).not.toMatch(/undefined|NaN/);
    }
    expect(renderMail({ kind: 'new_browser_sign_in', at: AT }, 'ja', ctx).subject).toBe('【Mamori】新しいブラウザーからサインインがありました');
    expect(renderMail({ kind: 'recovery_completed', devices: 2, at: AT }, 'ja', ctx).text).toContain('MFA デバイス2台が非アクティブ化');
    expect(renderMail({ kind: 'lost_devices_link', link: 'https://id.example.com/x', expiresInMinutes: 60, coolingHours: 24, at: AT }, 'ja', ctx).text).toContain('24時間の待機期間');
  });

  it('leaves out the rows it has no value for, rather than printing a placeholder', () => {
    const en = renderMail({ kind: 'new_browser_sign_in', at: AT }, 'en', ctx);
    expect(en.text).not.toContain('IP address');
    expect(en.text).not.toContain('Browser:');
    expect(en.text).toContain('When: ');
  });

  it('carries the links of the recovery mails, and when the cooling-off ends', () => {
    const link = renderMail(EVENTS.find((m) => m.kind === 'lost_devices_link')!, 'en', ctx);
    expect(link.text).toContain('https://id.example.com/console/#/recover?token=l1nk');
    expect(link.text).toContain('expires in 60 minutes and works only once');
    expect(link.text).toContain('waiting period of 24 hours');
    expect(link.text).toContain('do not open the link');
    const started = renderMail(EVENTS.find((m) => m.kind === 'recovery_started')!, 'en', ctx);
    expect(started.text).toContain(CANCEL);
    expect(started.text).toContain('Waiting period ends: Friday, January 3, 2025');
    const ended = renderMail({ kind: 'recovery_ended', requestedAt: AT - 86_400_000, cancelLink: CANCEL, at: AT }, 'ja', ctx);
    expect(ended.text).toContain(CANCEL);
    expect(ended.text).toContain('復旧を取り消し');
    expect(() => renderMail({ kind: 'recovery_started', until: AT, cancelLink: 'javascript:alert(1)', at: AT }, 'en', ctx)).toThrow(TypeError);
  });

  it('warns when recovery codes run low (three or fewer)', () => {
    expect(renderMail({ kind: 'recovery_code_used', remaining: 3, at: AT }, 'en', ctx).text).toContain('running low on recovery codes');
    expect(renderMail({ kind: 'recovery_code_used', remaining: 4, at: AT }, 'en', ctx).text).not.toContain('running low');
    expect(renderMail({ kind: 'recovery_code_used', remaining: 3, at: AT }, 'ja', ctx).text).toContain('残りが少なくなっています');
  });

  it('names what the administrator did', () => {
    const all = renderMail({ kind: 'admin_action', actions: ['disabled', 'role_changed', 'password_change_forced'], role: 'admin', at: AT }, 'en', ctx);
    expect(all.subject).toBe('An administrator changed your Mamori account');
    expect(all.text).toContain('Your account was disabled');
    expect(all.text).toContain('Your role is now administrator.');
    expect(all.text).toContain('You must choose a new password the next time you sign in');
    const ja = renderMail({ kind: 'admin_action', actions: ['unlocked'], at: AT }, 'ja', ctx);
    expect(ja.text).toContain('サインインのロックが解除され');
  });
});

describe('summarizeUserAgent', () => {
  it.each([
    [CHROME_WINDOWS, 'Chrome 126 on Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15', 'Safari 17 on macOS'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1', 'Safari 17 on iOS'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'Firefox 127 on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87', 'Edge 126 on Windows'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36', 'Chrome 126 on Android'],
    ['curl/8.5.0', 'curl 8'],
    ['test', 'test'],
  ])('%s → %s', (ua, summary) => {
    expect(summarizeUserAgent(ua, 'en')).toBe(summary);
  });

  it('keeps attacker-chosen text on one short line', () => {
    const hostile = `Evil\r\nBcc: x@example.com\u202e ${'A'.repeat(300)}`;
    const s = summarizeUserAgent(hostile, 'en');
    expect(s).not.toMatch(/[\r\n\u202e]/);
    expect(Array.from(s).length).toBeLessThanOrEqual(80);
    expect(summarizeUserAgent('Chrome/1 <script>', 'ja')).toBe('Chrome 1');
    const mail = renderMail({ kind: 'new_browser_sign_in', at: AT, userAgent: '<script>alert(1)</script>' }, 'en', ctx);
    expect(mail.html).not.toContain('<script>');
  });
});

describe('when', () => {
  // The formatter is made once per locale and kept: it must write what a fresh toLocaleString
  // writes, and the locales, asked in turn, must not get each other's.
  it('writes each locale as toLocaleString does, the locales asked in turn', () => {
    const instants = [AT, Date.UTC(1999, 11, 31, 23, 59, 59), Date.UTC(2038, 0, 19, 3, 14, 8)];
    for (const at of instants) {
      for (const locale of ['ja', 'en'] as const) {
        const human = new Date(at).toLocaleString(locale === 'ja' ? 'ja-JP' : 'en-US', { timeZone: 'UTC', dateStyle: 'full', timeStyle: 'long' });
        const iso = new Date(at).toISOString().replace(/\.000Z$/, 'Z');
        expect(when(at, locale)).toBe(locale === 'ja' ? `${human}（${iso}）` : `${human} (${iso})`);
      }
    }
    expect(when(AT, 'en')).toBe('Thursday, January 2, 2025 at 3:04:05 AM UTC (2025-01-02T03:04:05Z)');
    expect(() => when(Number.NaN, 'en')).toThrow(RangeError);
  });
});
