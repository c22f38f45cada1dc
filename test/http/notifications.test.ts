/**
 * Issue 10, item 4: every security notification is delivered over real SMTP (a local
 * smtp-server, parsed with mailparser), in English and in Japanese, with the time, the IP address,
 * the browser and what to do if it was not the reader. A sign-in from a browser new to the user
 * is mailed, one from a known browser is not, nor the first sign-in of a new account; a mail
 * outage fails none of the requests that notify.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpired } from '../../src/flows/housekeeping.js';
import type { Client } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { appCode } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, startServer, type TestServer } from '../helpers/server.js';
import { startMailCatcher, type CapturedMail, type MailCatcher } from '../helpers/smtp.js';

type Locale = 'en' | 'ja';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0';
const SUMMARY: Record<string, Record<Locale, string>> = {
  [CHROME]: { en: 'Chrome 126 on Windows', ja: 'Chrome 126（Windows）' },
  [FIREFOX]: { en: 'Firefox 127 on Linux', ja: 'Firefox 127（Linux）' },
};

/** Each kind's subject, as the reader sees it. */
const SUBJECTS: Record<string, Record<Locale, string>> = {
  added: { en: 'An MFA device was added to your Mamori account', ja: '【Mamori】MFAデバイスが追加されました' },
  removed: { en: 'An MFA device was removed from your Mamori account', ja: '【Mamori】MFAデバイスが削除されました' },
  password: { en: 'Your Mamori password was changed', ja: '【Mamori】パスワードが変更されました' },
  regenerated: { en: 'New recovery codes were generated for your Mamori account', ja: '【Mamori】リカバリーコードが再生成されました' },
  codeUsed: { en: 'A recovery code was used to sign in to Mamori', ja: '【Mamori】リカバリーコードが使用されました' },
  locked: { en: 'Sign-in to your Mamori account is locked', ja: '【Mamori】サインインがロックされました' },
  afterFailures: { en: 'New sign-in to your Mamori account after failed attempts', ja: '【Mamori】サインインの失敗が続いた後にサインインがありました' },
  newBrowser: { en: 'New sign-in to your Mamori account from a new browser', ja: '【Mamori】新しいブラウザーからサインインがありました' },
  admin: { en: 'An administrator changed your Mamori account', ja: '【Mamori】管理者によりアカウントが変更されました' },
  link: { en: 'Recover access to your Mamori account', ja: '【Mamori】アカウントの復旧のご案内' },
  started: { en: 'Account recovery was started for your Mamori account', ja: '【Mamori】アカウントの復旧が開始されました' },
  ended: { en: 'The waiting period to recover your Mamori account is over', ja: '【Mamori】アカウントの復旧の待機期間が終了しました' },
  cancelled: { en: 'Account recovery for your Mamori account was cancelled', ja: '【Mamori】アカウントの復旧が取り消されました' },
  completed: { en: 'The MFA devices of your Mamori account were deactivated', ja: '【Mamori】MFA デバイスが非アクティブ化されました' },
};

const NOT_YOU: Record<Locale, RegExp> = {
  en: /If (it was not|this was not you|you did not|these attempts were not yours|you did not use a recovery code)/,
  ja: /(お心当たり|覚え)がない場合/,
};

for (const { name, skip } of databases) {
  describe.skipIf(skip)(`security notifications over SMTP (${name})`, () => {
    let server: TestServer;
    let smtp: MailCatcher;
    let admin: { email: string; secret: string };

    beforeAll(async () => {
      smtp = await startMailCatcher();
      server = await startServer({ database: name, env: { MAMORI_SMTP_URL: smtp.url, MAMORI_TEST_CLOCK: 'true' } });
      admin = { email: 'root@example.com', secret: '' };
      await createTestUser(server, admin.email, { role: 'admin' });
      const b = browser(CHROME, '192.0.2.1');
      await passwordAndCode(b, admin.email);
      admin.secret = (await assign(b, 'Admin phone')).secret;
    });
    afterAll(async () => {
      await server?.close();
      await smtp?.close();
    });

    /** A browser: a cookie jar with its own User-Agent, behind the (trusted, loopback) proxy that names its address. */
    function browser(userAgent: string, ip: string) {
      const c: Client = server.client();
      const h = { 'user-agent': userAgent, 'x-forwarded-for': ip };
      return {
        c,
        userAgent,
        ip,
        get: <T = Record<string, unknown>>(path: string) => c.request<T>('GET', path, undefined, h),
        post: <T = Record<string, unknown>>(path: string, body?: unknown) => c.request<T>('POST', path, body, h),
        put: <T = Record<string, unknown>>(path: string, body?: unknown) => c.request<T>('PUT', path, body, h),
        patch: <T = Record<string, unknown>>(path: string, body?: unknown) => c.request<T>('PATCH', path, body, h),
        delete: <T = Record<string, unknown>>(path: string) => c.request<T>('DELETE', path, undefined, h),
      };
    }
    type Browser = ReturnType<typeof browser>;

    async function advance(seconds: number): Promise<void> {
      expect((await server.client().post('/api/v1/test/clock', { advanceSeconds: seconds })).status).toBe(200);
    }

    /** A TOTP code of a fresh time step (each step is accepted once; an activation spends two). */
    async function freshCode(secret: string): Promise<string> {
      await advance(61);
      return appCode(secret, server.clock.now());
    }

    async function passwordAndCode(b: Browser, email: string, password = STRONG_PASSWORD) {
      const r = await b.post<{ status: string }>('/api/v1/sign-in', { email, password });
      expect(r.body.status, r.text).toBe('email_code_sent');
      const done = await b.post<{ status: string }>('/api/v1/sign-in/email-code', { code: await smtp.lastCode(email) });
      expect(done.status, done.text).toBe(200);
      return done.body;
    }

    async function withApp(b: Browser, email: string, secret: string, password = STRONG_PASSWORD) {
      expect((await b.post('/api/v1/sign-in', { email, password })).body).toMatchObject({ status: 'mfa_required' });
      const r = await b.post<{ status: string }>('/api/v1/sign-in/mfa', { method: 'totp', code: await freshCode(secret) });
      expect(r.status, r.text).toBe(200);
    }

    async function assign(b: Browser, deviceName: string): Promise<{ id: string; secret: string; recoveryCodes: string[] }> {
      const r = await b.post<{ id: string; secret: string }>('/api/v1/me/mfa-devices/totp', { name: deviceName });
      expect(r.status, r.text).toBe(201);
      const now = server.clock.now();
      const a = await b.post<{ recoveryCodes?: string[] }>(`/api/v1/me/mfa-devices/${r.body.id}/activate`, { code1: appCode(r.body.secret, now), code2: appCode(r.body.secret, now, 1) });
      expect(a.status, a.text).toBe(200);
      return { id: r.body.id, secret: r.body.secret, recoveryCodes: a.body.recoveryCodes ?? [] };
    }

    async function asAdmin(): Promise<Browser> {
      const b = browser(CHROME, '192.0.2.1');
      await withApp(b, admin.email, admin.secret);
      return b;
    }

    /** The `n`-th mail of a kind to `email` (waiting for it), checked for time, address, browser and what to do. */
    async function notice(email: string, locale: Locale, kind: keyof typeof SUBJECTS, from: { ip: string; userAgent: string } | null, opts: { count?: number } = {}): Promise<CapturedMail> {
      const mail = await smtp.waitFor(email, (m) => m.subject === SUBJECTS[kind]![locale], opts);
      const iso = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z/.exec(mail.text);
      expect(iso, `${kind}: a time`).not.toBeNull();
      expect(Math.abs(Date.parse(iso![0]) - server.clock.now()), `${kind}: the time of the event`).toBeLessThan(120_000);
      if (from) {
        expect(mail.text, `${kind}: the address`).toContain(locale === 'ja' ? `IPアドレス：${from.ip}` : `IP address: ${from.ip}`);
        expect(mail.text, `${kind}: the browser`).toContain(locale === 'ja' ? `ブラウザー：${SUMMARY[from.userAgent]![locale]}` : `Browser: ${SUMMARY[from.userAgent]![locale]}`);
      }
      expect(mail.text, `${kind}: what to do if it was not you`).toMatch(kind === 'admin' ? (locale === 'ja' ? /お心当たりがない場合/ : /If you did not/) : NOT_YOU[locale]);
      return mail;
    }

    const count = (email: string, kind: keyof typeof SUBJECTS, locale: Locale) => smtp.to(email).filter((m) => m.subject === SUBJECTS[kind]![locale]).length;

    for (const locale of ['en', 'ja'] as const) {
      it(`delivers each kind in ${locale}, with time, address, browser and what to do`, async () => {
        const email = `notify-${locale}@example.com`;
        await createTestUser(server, email);
        const home = browser(CHROME, '203.0.113.7');

        // The first sign-in of a new account is not news: no "new browser" mail.
        await passwordAndCode(home, email);
        expect(home.c.cookies.get('mamori_browser')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect((await home.patch('/api/v1/me', { locale })).status).toBe(200);

        const app = await assign(home, 'Phone');
        await notice(email, locale, 'added', home);

        const regenerated = await home.post<{ codes: string[] }>('/api/v1/me/recovery-codes');
        expect(regenerated.status, regenerated.text).toBe(200);
        const codes = regenerated.body.codes;
        const regen = await notice(email, locale, 'regenerated', home);
        for (const code of codes) expect(regen.text).not.toContain(code);

        expect((await home.put('/api/v1/me/password', { currentPassword: STRONG_PASSWORD, newPassword: `${STRONG_PASSWORD} ${locale}` })).status).toBe(204);
        const password = `${STRONG_PASSWORD} ${locale}`;
        const changed = await notice(email, locale, 'password', home);
        expect(changed.text).not.toContain(password);

        // Another browser: mailed, with its own address and browser. Again from it, or from the first: nothing.
        const laptop = browser(FIREFOX, '198.51.100.20');
        await withApp(laptop, email, app.secret, password);
        await notice(email, locale, 'newBrowser', laptop);
        expect((await laptop.post('/api/v1/sign-out')).status).toBe(204);
        await withApp(laptop, email, app.secret, password);
        await withApp(home, email, app.secret, password);
        expect(count(email, 'newBrowser', locale)).toBe(1);

        // Recovery codes down to three: each use is mailed, the third-from-last says they run low.
        for (const code of codes.slice(0, 7)) {
          expect((await home.post('/api/v1/sign-in', { email, password })).body).toMatchObject({ status: 'mfa_required' });
          expect((await home.post('/api/v1/sign-in/mfa', { method: 'recovery_code', code })).status).toBe(200);
        }
        const low = await notice(email, locale, 'codeUsed', home, { count: 7 });
        expect(low.text).toMatch(locale === 'ja' ? /残りが少なくなっています/ : /running low on recovery codes/);

        // Several wrong passwords, then the right one (after the back-off): mailed.
        const stranger = browser(CHROME, '203.0.113.99');
        for (let i = 0; i < 5; i++) expect((await stranger.post('/api/v1/sign-in', { email, password: 'not the password at all' })).status).toBe(401);
        await advance(31);
        expect((await stranger.post('/api/v1/sign-in', { email, password })).body).toMatchObject({ status: 'mfa_required' });
        await notice(email, locale, 'afterFailures', stranger);

        // Ten wrong codes lock the second factor: mailed. The administrator's unlock is mailed too.
        for (let round = 0; round < 2; round++) {
          expect((await stranger.post('/api/v1/sign-in', { email, password })).body).toMatchObject({ status: 'mfa_required' });
          for (let i = 0; i < 5; i++) await stranger.post('/api/v1/sign-in/mfa', { method: 'totp', code: String((Number(appCode(app.secret, server.clock.now(), 40)) + 1) % 1_000_000).padStart(6, '0') });
        }
        await notice(email, locale, 'locked', stranger);
        const root = await asAdmin();
        const user = (await server.services.users.findByEmail(email))!;
        expect((await root.post(`/api/v1/admin/users/${user.id}/unlock`)).status).toBe(204);
        const unlocked = await notice(email, locale, 'admin', root);
        expect(unlocked.text).toContain(locale === 'ja' ? 'サインインのロックが解除され' : 'Sign-in was unlocked');

        // Lost devices: the link, the cooling-off started, cancelled; again, ended, completed.
        const phone = browser(FIREFOX, '198.51.100.77');
        expect((await phone.post('/api/v1/sign-in/lost-devices', { email })).status).toBe(202);
        const link = await notice(email, locale, 'link', phone);
        const token = /#\/recover\?token=([A-Za-z0-9_-]+)/.exec(link.text)![1]!;
        expect((await phone.post('/api/v1/recovery/confirm', { token })).status).toBe(200);
        const started = await notice(email, locale, 'started', phone);
        const cancel = /#\/recover\/cancel\?token=([A-Za-z0-9_-]+)/.exec(started.text)![1]!;
        expect((await home.post('/api/v1/recovery/cancel', { token: cancel })).status).toBe(204);
        await notice(email, locale, 'cancelled', home);

        expect((await phone.post('/api/v1/sign-in/lost-devices', { email })).status).toBe(202);
        const again = await smtp.waitFor(email, (m) => m.subject === SUBJECTS.link![locale], { count: 2 });
        expect((await phone.post('/api/v1/recovery/confirm', { token: /#\/recover\?token=([A-Za-z0-9_-]+)/.exec(again.text)![1]! })).status).toBe(200);
        await notice(email, locale, 'started', phone, { count: 2 });
        await advance(24 * 3600 + 1);
        expect((await purgeExpired(server.services)).recoveryEndedMails).toBe(1);
        // No request makes this one: it names where the link was asked for from.
        await notice(email, locale, 'ended', phone);
        expect((await phone.post('/api/v1/sign-in', { email, password })).body).toEqual({ status: 'email_code_sent', expiresAt: expect.any(String), expiresIn: expect.any(Number), recovery: true, methods: ['totp', 'recovery_code'] });
        expect((await phone.post<{ status: string }>('/api/v1/sign-in/email-code', { code: await smtp.lastCode(email) })).body.status).toBe('mfa_setup_required');
        const completed = await notice(email, locale, 'completed', phone);
        expect(completed.text).toContain(locale === 'ja' ? 'MFA デバイス1台' : '1 MFA device was deactivated');

        // A new device on the phone, then removed: both mailed (the session's second factor is fresh).
        const replacement = await assign(phone, 'New phone');
        await notice(email, locale, 'added', phone, { count: 2 });
        expect((await phone.delete(`/api/v1/me/mfa-devices/${replacement.id}`)).status).toBe(204);
        await notice(email, locale, 'removed', phone);
      });
    }

    it('mails a browser new to the user but not one it knows, per user', async () => {
      const a = 'browser-a@example.com';
      const b = 'browser-b@example.com';
      await createTestUser(server, a);
      await createTestUser(server, b);
      const shared = browser(CHROME, '203.0.113.50');
      await passwordAndCode(shared, a);
      expect(count(a, 'newBrowser', 'en')).toBe(0);
      // The same browser is new to b (a has used it, b has not); b's first sign-in, though, is no news.
      expect((await shared.post('/api/v1/sign-out')).status).toBe(204);
      await passwordAndCode(shared, b);
      const other = browser(FIREFOX, '203.0.113.51');
      await passwordAndCode(other, b);
      await notice(b, 'en', 'newBrowser', other);
      // Known to both now: no more mail for either.
      await passwordAndCode(shared, a);
      await passwordAndCode(shared, b);
      await passwordAndCode(other, b);
      expect(count(a, 'newBrowser', 'en')).toBe(0);
      expect(count(b, 'newBrowser', 'en')).toBe(1);
      // A cookie the server never made is replaced, and the browser is news.
      const forged = browser(FIREFOX, '203.0.113.52');
      forged.c.cookies.set('mamori_browser', 'not-a-token');
      await passwordAndCode(forged, a);
      expect(forged.c.cookies.get('mamori_browser')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await notice(a, 'en', 'newBrowser', forged);
      // Only hashes are stored.
      const cookie = shared.c.cookies.get('mamori_browser')!;
      const rows = JSON.stringify(await server.services.store.db.selectFrom('known_browsers').selectAll().execute());
      expect(rows).not.toContain(cookie);
    });

    it('writes a known browser\'s "last seen" again only after an hour, or when its address changed', async () => {
      const email = 'seen@example.com';
      await createTestUser(server, email);
      const user = (await server.services.users.findByEmail(email))!;
      const row = () => server.services.store.db.selectFrom('known_browsers').select(['last_seen_at', 'ip', 'user_agent']).where('user_id', '=', user.id).executeTakeFirstOrThrow();
      const tab = browser(CHROME, '203.0.113.60');
      await passwordAndCode(tab, email);
      const first = await row();
      expect(first).toMatchObject({ ip: '203.0.113.60', user_agent: CHROME });
      // Minutes later, from where it was: nothing to write (a commit saved on every sign-in).
      await advance(600);
      await passwordAndCode(tab, email);
      expect(await row()).toEqual(first);
      // The same browser from another address: written at once, so the list shows where it is now.
      const moved = browser(CHROME, '203.0.113.61');
      moved.c.cookies.set('mamori_browser', tab.c.cookies.get('mamori_browser')!);
      await passwordAndCode(moved, email);
      const afterMove = await row();
      expect(afterMove.ip).toBe('203.0.113.61');
      expect(Number(afterMove.last_seen_at)).toBeGreaterThan(Number(first.last_seen_at));
      // Over an hour later: written again.
      await advance(3601);
      await passwordAndCode(moved, email);
      expect(Number((await row()).last_seen_at)).toBeGreaterThanOrEqual(Number(afterMove.last_seen_at) + 3_601_000);
      expect(count(email, 'newBrowser', 'en')).toBe(0);
    });

    it('sets the browser cookie HttpOnly, SameSite=Lax, Path=/ for 400 days', async () => {
      await createTestUser(server, 'cookie@example.com');
      const b = browser(CHROME, '203.0.113.60');
      await b.post('/api/v1/sign-in', { email: 'cookie@example.com', password: STRONG_PASSWORD });
      const r = await b.post('/api/v1/sign-in/email-code', { code: await smtp.lastCode('cookie@example.com') });
      const header = r.headers.getSetCookie().find((c) => c.startsWith('mamori_browser='))!;
      expect(header).toMatch(/; Max-Age=34560000/);
      expect(header).toMatch(/; Path=\//);
      expect(header).toMatch(/; HttpOnly/);
      expect(header).toMatch(/; SameSite=Lax/);
    });

    it('tells the owner what an administrator changed', async () => {
      const email = 'managed@example.com';
      const user = await createTestUser(server, email);
      const root = await asAdmin();
      expect((await root.patch(`/api/v1/admin/users/${user.id}`, { disabled: true, role: 'admin' })).status).toBe(200);
      const mail = await notice(email, 'en', 'admin', root);
      expect(mail.text).toContain('Your account was disabled');
      expect(mail.text).toContain('Your role is now administrator.');
      expect((await root.post(`/api/v1/admin/users/${user.id}/force-password-change`)).status).toBe(204);
      const forced = await notice(email, 'en', 'admin', root, { count: 2 });
      expect(forced.text).toContain('You must choose a new password');
    });
  });
}

describe('a mail outage fails none of the requests that notify', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A port nothing listens on: every delivery fails (after the mailer's retries).
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    server = await startServer({ env: { MAMORI_SMTP_URL: `smtp://127.0.0.1:${port}`, MAMORI_EMAIL_CODE: 'off' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('signs in, assigns, regenerates, changes the password and asks for a recovery link', async () => {
    await createTestUser(server, 'outage@example.com');
    const c = server.client();
    expect((await c.post('/api/v1/sign-in', { email: 'outage@example.com', password: STRONG_PASSWORD })).body).toMatchObject({ status: 'signed_in' });
    const r = await c.post<{ id: string; secret: string }>('/api/v1/me/mfa-devices/totp', { name: 'Phone' });
    const now = server.clock.now();
    expect((await c.post(`/api/v1/me/mfa-devices/${r.body.id}/activate`, { code1: appCode(r.body.secret, now), code2: appCode(r.body.secret, now, 1) })).status).toBe(200);
    expect((await c.post('/api/v1/me/recovery-codes')).status).toBe(200);
    expect((await c.put('/api/v1/me/password', { currentPassword: STRONG_PASSWORD, newPassword: `${STRONG_PASSWORD}!` })).status).toBe(204);
    // A new browser (its mail fails too) still signs in.
    const other = server.client();
    expect((await other.post('/api/v1/sign-in', { email: 'outage@example.com', password: `${STRONG_PASSWORD}!` })).body).toMatchObject({ status: 'mfa_required' });
    server.clock.advance(60_000);
    expect((await other.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(r.body.secret, server.clock.now()) })).status).toBe(200);
    expect((await server.client().post('/api/v1/sign-in/lost-devices', { email: 'outage@example.com' })).status).toBe(202);
    const events = (await server.services.audit.recentForUser((await server.services.users.findByEmail('outage@example.com'))!.id, 100)).map((e) => e.type);
    expect(events).toEqual(expect.arrayContaining(['mfa_device_assigned', 'recovery_codes_regenerated', 'password_changed', 'browser_remembered', 'recovery_requested']));
  });
});
