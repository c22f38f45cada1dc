/**
 * Everything a person meets before and while signing in, in Chromium through the UI only, in
 * English and Japanese, at 1280 px and at 360 px: setup, the password step, the emailed code
 * (its weakness, expiry and resend, the hour's limit with its wait), the second factor opening
 * with the device used last (a code, a recovery code, a passkey through the CDP virtual
 * authenticator), passwordless sign-in, "lost your MFA devices" and back, and the invitation.
 * axe-core runs on every screen state reached.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, screenshot } from '../helpers/axe.js';
import { api, browserSkipReason, createCredential, launchChromium, SAME_ORIGIN_PAGE } from '../helpers/browser.js';
import { button, heading, openConsoleAt, passwordStep, type Lang, type Tab, inSuite } from '../helpers/console.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

if (browserSkipReason) process.stderr.write(`[console-sign-in] skipped: ${browserSkipReason}\n`);

const COMBOS = (['en', 'ja'] as const).flatMap((lang) => [1280, 360].map((width) => ({ lang, width }))).filter(({ lang, width }) => inSuite(lang, width));

/** What the console shows for a wait, as Intl writes it in that language. */
const wait = (lang: Lang, n: number, unit: 'minute' | 'second') => new Intl.NumberFormat(lang === 'ja' ? 'ja-JP' : 'en', { style: 'unit', unit, unitDisplay: 'long' }).format(n);
const fill = (text: string, vars: Record<string, string>) => text.replace(/\{(\w+)\}/g, (_m, k: string) => vars[k] ?? '');
/** A catalog text with any value in its placeholders. */
const shape = (text: string) => new RegExp(text.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('.+'));

describe.skipIf(browserSkipReason !== null)('console: signing in (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    server = await startServer();
    origin = server.config.publicUrl;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const open = (lang: Lang, width: number): Promise<Tab> => openConsoleAt(browser, origin, lang, width);

  /** axe, and at a phone's width nothing that scrolls sideways. */
  async function check(page: Page, width: number, where: string) {
    await expectAccessible(page, `${where} at ${width} px`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), `${where}: sideways scroll`).toBeLessThanOrEqual(width);
  }

  /** The account menu at the top right, opened by the button named by the user's email, holds Sign out. */
  async function signOut(tab: Tab, email: string) {
    // Its name holds the email (after the user's name, when there is one).
    await tab.page.getByRole('button', { name: email }).click();
    await tab.page.locator('.account-menu').getByRole('button', { name: tab.t['nav.signOut']!, exact: true }).click();
  }

  const alert = (tab: Tab, key: string) => tab.page.getByRole('alert').getByText(tab.t[key]!, { exact: false });
  const mailsTo = async (email: string, kind: string) => (await server.outbox()).filter((m) => m.to === email && m.kind === kind);

  for (const { lang, width } of COMBOS) {
    it(`${lang} ${width}px: the setup page refuses a wrong token in the user's words`, async () => {
      const tab = await open(lang, width);
      const { page, t } = tab;
      try {
        await heading(tab, 'setup.title').waitFor();
        await check(page, width, 'setup');
        await screenshot(page, 'setup', lang);
        await page.getByLabel(t['field.email']!).fill(`first-${lang}@example.com`);
        await page.getByLabel(t['field.password']!, { exact: true }).fill(STRONG_PASSWORD);
        await page.getByLabel(t['setup.token']!).fill('not-the-setup-token-at-all');
        await button(tab, 'setup.submit').click();
        await alert(tab, 'problem.invalid_setup_token').waitFor();
        await check(page, width, 'setup with an error');
        expect(tab.problems).toEqual([]);
      } finally {
        await tab.context.close();
      }
    });
  }

  it('en: the setup token creates the first administrator, and the sign-in page takes over', async () => {
    const tab = await open('en', 1280);
    const { page, t } = tab;
    try {
      await page.getByLabel(t['field.email']!).fill('root@example.com');
      await page.getByLabel(t['field.name']!).fill('Root');
      await page.getByLabel(t['field.password']!, { exact: true }).fill(STRONG_PASSWORD);
      await page.getByLabel(t['setup.token']!).fill(server.setupToken!);
      await button(tab, 'setup.submit').click();
      await heading(tab, 'signIn.title').waitFor();
      await page.getByText(t['setup.done']!).waitFor();
      expect(await page.getByLabel(t['field.email']!).inputValue()).toBe('root@example.com');
      // Setup is done: its page is gone.
      await page.goto(`${origin}/console/#/setup`);
      await heading(tab, 'signIn.title').waitFor();
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  for (const { lang, width } of COMBOS) {
    it(`${lang} ${width}px: password, then the emailed code with its warning, expiry and a resend`, async () => {
      const email = `code-${lang}-${width}@example.com`;
      await createTestUser(server, email);
      const tab = await open(lang, width);
      const { page, t } = tab;
      try {
        await page.goto(`${origin}/console/#/sign-in`);
        await heading(tab, 'signIn.title').waitFor();
        await page.getByLabel(t['field.email']!).fill(email);
        await page.getByLabel(t['field.password']!, { exact: true }).fill('this is not the password at all');
        await button(tab, 'signIn.submit').click();
        await alert(tab, 'problem.invalid_credentials').waitFor();
        await check(page, width, 'sign-in with a wrong password');
        await screenshot(page, 'signin-password', lang);

        await passwordStep(tab, email);
        await heading(tab, 'signIn.emailCodeTitle').waitFor();
        await page.getByText(t['signIn.emailCodeWeakTitle']!).waitFor();
        await page.getByText(t['signIn.emailCodeWeak']!).waitFor();
        await page.getByText(t['signIn.emailCodeNudge']!).waitFor();
        await page.getByText(fill(t['signIn.emailCodeExpires']!, { wait: wait(lang, 5, 'minute') })).waitFor();
        const code = page.getByLabel(t['signIn.emailCode']!);
        expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
        expect(await code.getAttribute('inputmode')).toBe('numeric');
        await check(page, width, 'emailed-code step');
        await screenshot(page, 'signin-email-code', lang);
        const first = await server.lastCode(email);

        // Another code: the earlier one is void, and the button waits before it may be asked again.
        await button(tab, 'signIn.resend').click();
        await page.getByText(fill(t['signIn.resent']!, { email })).waitFor();
        expect(await button(tab, 'signIn.resend').isDisabled()).toBe(true);
        await page.getByText(shape(t['signIn.resendWait']!)).waitFor();
        expect(await mailsTo(email, 'email_code')).toHaveLength(2);
        const second = await server.lastCode(email);
        await check(page, width, 'emailed-code step after a resend');
        if (first !== second) {
          await code.fill(first);
          await button(tab, 'common.verify').click();
          await alert(tab, 'problem.invalid_code').waitFor();
          await check(page, width, 'emailed-code step with a wrong code');
        }
        await code.fill(second);
        await button(tab, 'common.verify').click();
        await heading(tab, 'security.title').waitFor();
        expect(tab.problems).toEqual([]);
      } finally {
        await tab.context.close();
      }
    });
  }

  it.each(['en', 'ja'] as const)('%s: the hour’s limit of emailed codes says how long to wait', async (lang) => {
    const email = `limit-${lang}@example.com`;
    await createTestUser(server, email);
    const tab = await open(lang, 360);
    const { page, t } = tab;
    try {
      await page.goto(`${origin}/console/#/sign-in`);
      await passwordStep(tab, email);
      await heading(tab, 'signIn.emailCodeTitle').waitFor();
      // Nine more from the page itself (the button would wait between them), the tenth of the hour last.
      for (let i = 0; i < 9; i++) expect((await api(page, 'POST', '/api/v1/sign-in/email-code/resend', {})).status).toBe(200);
      await button(tab, 'signIn.resend').click();
      await page.getByRole('alert').getByText(shape(t['problem.retryAfter']!)).waitFor();
      // The hour's window, counted in minutes.
      expect(await page.getByRole('alert').textContent()).toMatch(new RegExp(wait(lang, 59, 'minute').replace('59', '(59|60)')));
      expect(await button(tab, 'signIn.resend').isDisabled()).toBe(true);
      await check(page, 360, 'emailed-code step refused for the hour');
      // The last code mailed still signs in.
      await page.getByLabel(t['signIn.emailCode']!).fill(await server.lastCode(email));
      await button(tab, 'common.verify').click();
      await heading(tab, 'security.title').waitFor();
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  for (const { lang, width } of COMBOS) {
    it(`${lang} ${width}px: the second factor: a code, a recovery code, lost devices and back`, async () => {
      const email = `mfa-${lang}-${width}@example.com`;
      await createTestUser(server, email);
      const phone = await assignApp(server.clock, await signIn(server, email));
      const tab = await open(lang, width);
      const { page, t } = tab;
      try {
        await page.goto(`${origin}/console/#/sign-in`);
        await passwordStep(tab, email);
        await heading(tab, 'signIn.mfaTitle').waitFor();
        await page.getByText(t['signIn.mfaLead']!).waitFor();
        // The app was used last: its code first, the others as links; no "remember" where it is not offered.
        const mfaCode = page.getByLabel(t['mfa.code']!, { exact: true });
        await mfaCode.waitFor();
        expect(await page.getByRole('checkbox').count()).toBe(0);
        await check(page, width, 'MFA step');
        await screenshot(page, 'signin-mfa', lang);

        await button(tab, 'mfa.useRecoveryCode').click();
        const recovery = page.getByLabel(t['mfa.recoveryCode']!, { exact: true });
        await recovery.fill('not-a-recovery-code');
        await button(tab, 'common.verify').click();
        await alert(tab, 'problem.invalid_code').waitFor();
        await check(page, width, 'MFA step, recovery code refused');
        await button(tab, 'mfa.useCode').click();

        // Lost devices and back: the same sign-in still waits for its second factor.
        await page.getByRole('link', { name: t['lost.link']!, exact: true }).click();
        await heading(tab, 'lost.title').waitFor();
        expect(await page.getByLabel(t['field.email']!).inputValue()).toBe(email);
        await check(page, width, 'lost devices');
        await screenshot(page, 'lost-devices', lang);
        await page.getByRole('link', { name: t['common.back']!, exact: true }).click();
        await heading(tab, 'signIn.mfaTitle').waitFor();

        if (width === 360) {
          // On the phone, one of the recovery codes instead (each works once).
          await button(tab, 'mfa.useRecoveryCode').click();
          await page.getByLabel(t['mfa.recoveryCode']!, { exact: true }).fill(phone.recoveryCodes![0]!);
          await button(tab, 'common.verify').click();
        } else {
          server.clock.advance(61_000);
          await page.getByLabel(t['mfa.code']!, { exact: true }).fill(appCode(phone.secret, server.clock.now()));
          await page.getByLabel(t['mfa.code']!, { exact: true }).press('Enter');
        }
        await heading(tab, 'security.title').waitFor();

        // Signed out from the account menu, the page says so.
        await signOut(tab, email);
        await page.getByText(t['signOut.done']!).waitFor();
        await heading(tab, 'signIn.title').waitFor();
        await check(page, width, 'signed out');
        expect(tab.problems).toEqual([]);
      } finally {
        await tab.context.close();
      }
    });
  }

  for (const { lang, width } of COMBOS) {
    it(`${lang} ${width}px: a passkey used last opens the second step; passwordless sign-in`, async () => {
      const email = `passkey-${lang}-${width}@example.com`;
      await createTestUser(server, email);
      const tab = await open(lang, width);
      const { page, t } = tab;
      try {
        const cdp = await tab.context.newCDPSession(page);
        await cdp.send('WebAuthn.enable');
        await cdp.send('WebAuthn.addVirtualAuthenticator', {
          options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
        });
        // This browser signs in (password, emailed code), assigns an authenticator app, then a
        // passkey: the newer device is the one used last.
        await page.goto(`${origin}${SAME_ORIGIN_PAGE}`);
        expect((await api(page, 'POST', '/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body.status).toBe('email_code_sent');
        expect((await api(page, 'POST', '/api/v1/sign-in/email-code', { code: await server.lastCode(email) })).status).toBe(200);
        const app = await api(page, 'POST', '/api/v1/me/mfa-devices/totp', { name: 'Phone' });
        const now = server.clock.now();
        const secret = String(app.body.secret);
        expect((await api(page, 'POST', `/api/v1/me/mfa-devices/${String(app.body.id)}/activate`, { code1: appCode(secret, now), code2: appCode(secret, now, 1) })).status).toBe(200);
        server.clock.advance(61_000);
        const options = await api(page, 'POST', '/api/v1/me/mfa-devices/webauthn-options', {});
        expect(options.status, JSON.stringify(options.body)).toBe(200);
        const made = await api(page, 'POST', '/api/v1/me/mfa-devices/webauthn', { name: 'Laptop', credential: await createCredential(page, options.body) });
        expect(made.status, JSON.stringify(made.body)).toBe(201);
        await api(page, 'POST', '/api/v1/sign-out');

        await page.goto(`${origin}/console/#/sign-in`);
        await passwordStep(tab, email);
        await heading(tab, 'signIn.mfaTitle').waitFor();
        await page.getByText(t['mfa.passkeyPrompt']!).waitFor();
        expect(await page.getByLabel(t['mfa.code']!, { exact: true }).count()).toBe(0);
        await button(tab, 'mfa.useCode').waitFor();
        await check(page, width, 'MFA step opening with the passkey');
        await button(tab, 'mfa.usePasskey').click();
        await heading(tab, 'security.title').waitFor();

        // Passwordless: the passkey alone, from the first step.
        await signOut(tab, email);
        await heading(tab, 'signIn.title').waitFor();
        await button(tab, 'signIn.passkey').click();
        await heading(tab, 'security.title').waitFor();
        const session = await api(page, 'GET', '/api/v1/session');
        expect(session.body).toMatchObject({ aal: 2, acr: 'urn:mamori:phr' });
        expect(tab.problems).toEqual([]);
      } finally {
        await tab.context.close();
      }
    });
  }

  it.each(['en', 'ja'] as const)('%s: an invitation: passwords that differ, a weak one, then the account is ready; the link works once', async (lang) => {
    const email = `invitee-${lang}@example.com`;
    await createTestUser(server, `inviter-${lang}@example.com`, { role: 'admin' });
    const admin = await signIn(server, `inviter-${lang}@example.com`);
    await assignApp(server.clock, admin);
    expect((await admin.post('/api/v1/admin/users', { email, name: 'Invitee' })).status).toBe(201);
    const mail = (await mailsTo(email, 'invitation')).at(-1)!;
    const token = /#\/invite\/([A-Za-z0-9_-]+)/.exec(mail.text)![1]!;
    for (const width of [1280, 360]) {
      const tab = await open(lang, width);
      const { page, t } = tab;
      try {
        await page.goto(`${origin}/console/#/invite`);
        await page.getByText(t['invite.missing']!).waitFor();
        await check(page, width, 'invitation without its token');
        if (width === 360) {
          // The link was used at 1280 px: it does not work twice.
          await page.goto(`${origin}/console/#/invite/${token}`);
          await page.getByLabel(t['password.new']!, { exact: true }).fill(STRONG_PASSWORD);
          await page.getByLabel(t['password.confirm']!).fill(STRONG_PASSWORD);
          await button(tab, 'invite.submit').click();
          await page.getByRole('alert').getByText(t['invite.invalid']!).waitFor();
          await check(page, width, 'invitation used already');
          continue;
        }
        await page.goto(`${origin}/console/#/invite/${token}`);
        await heading(tab, 'invite.title').waitFor();
        expect(page.url()).toMatch(/#\/invite$/);
        await page.getByLabel(t['password.new']!, { exact: true }).fill(STRONG_PASSWORD);
        await page.getByLabel(t['password.confirm']!).fill(`${STRONG_PASSWORD}!`);
        await button(tab, 'invite.submit').click();
        await page.getByRole('alert').getByText(t['password.mismatch']!).waitFor();
        await page.getByLabel(t['password.new']!, { exact: true }).fill('aaaaaaaaaaaaaaaaaaaa');
        await page.getByLabel(t['password.confirm']!).fill('aaaaaaaaaaaaaaaaaaaa');
        await button(tab, 'invite.submit').click();
        await alert(tab, 'problem.password_too_weak').waitFor();
        await check(page, width, 'invitation with a weak password');
        await page.getByLabel(t['password.new']!, { exact: true }).fill(STRONG_PASSWORD);
        await page.getByLabel(t['password.confirm']!).fill(STRONG_PASSWORD);
        await button(tab, 'invite.submit').click();
        await heading(tab, 'signIn.title').waitFor();
        await page.getByText(t['invite.done']!).waitFor();
        await passwordStep(tab, email);
        await heading(tab, 'signIn.emailCodeTitle').waitFor();
        expect(tab.problems).toEqual([]);
      } finally {
        await tab.context.close();
      }
    }
  });

  it.each(['en', 'ja'] as const)('%s: a forced password change holds the sign-in on Security credentials, not back at the application', async (lang) => {
    const email = `forced-${lang}@example.com`;
    const user = await createTestUser(server, email);
    await createTestUser(server, `forcer-${lang}@example.com`, { role: 'admin' });
    const admin = await signIn(server, `forcer-${lang}@example.com`);
    await assignApp(server.clock, admin);
    expect((await admin.post(`/api/v1/admin/users/${user.id}/force-password-change`)).status).toBe(204);
    const tab = await open(lang, 1280);
    const { page, t } = tab;
    try {
      await page.goto(`${origin}${SAME_ORIGIN_PAGE}`);
      await page.goto(`${origin}/console/#/sign-in?rd=${encodeURIComponent(`${origin}/healthz`)}`);
      await passwordStep(tab, email);
      await heading(tab, 'signIn.emailCodeTitle').waitFor();
      await page.getByLabel(t['signIn.emailCode']!).fill(await server.lastCode(email));
      await button(tab, 'common.verify').click();
      await heading(tab, 'security.title').waitFor();
      expect(new URL(page.url()).hash).toBe('#/security');
      expect((await api(page, 'GET', '/api/v1/session')).body).toMatchObject({ passwordChangeRequired: true });
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
