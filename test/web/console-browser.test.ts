/**
 * The console in a real browser: Debian's Chromium driven by playwright-core, through the UI
 * only (labels, roles and the keyboard), in English and in Japanese.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`) and the npm package playwright-core;
 * without either the suite is skipped with a message saying which. No browser is downloaded.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appCode } from '../helpers/otp.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { button, dict, heading, openConsole, passwordStep, type Lang, type Tab } from '../helpers/console.js';
import { createTestUser, startServer, type TestServer } from '../helpers/server.js';

const SCREENSHOT = '/tmp/console.png';
const skipReason = browserSkipReason;
if (skipReason) process.stderr.write(`[console-browser] skipped: ${skipReason}\n`);

const en = dict.en;

describe.skipIf(skipReason !== null)('web console in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  /** What the browser opens: the public origin (http://localhost:<port>), so POSTs pass the origin check. */
  let origin: string;

  beforeAll(async () => {
    server = await startServer();
    origin = server.config.publicUrl;
    await createTestUser(server, 'alice@example.com', { role: 'admin' });
    await createTestUser(server, 'bob@example.com');
    await createTestUser(server, 'carol@example.com');
    await createTestUser(server, 'dave@example.com');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const open = (lang: Lang, init?: string) => openConsole(browser, origin, lang, init);

  async function signInWithEmailCode(tab: Tab, email: string) {
    await passwordStep(tab, email);
    await heading(tab, 'signIn.emailCodeTitle').waitFor();
    // The warning that an emailed code is weak, and the nudge towards an MFA device.
    await tab.page.getByText(tab.t['signIn.emailCodeWeak']!).waitFor();
    await tab.page.getByText(tab.t['signIn.emailCodeNudge']!).waitFor();
    const code = tab.page.getByLabel(tab.t['signIn.emailCode']!);
    expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
    expect(await code.getAttribute('inputmode')).toBe('numeric');
    await code.fill(await server.lastCode(email));
    await button(tab, 'common.verify').click();
    await heading(tab, 'security.title').waitFor();
  }

  /** Recovery codes come once: Done stays disabled until "I have saved these" is ticked. */
  async function saveRecoveryCodes(tab: Tab): Promise<string[]> {
    await heading(tab, 'recovery.saveTitle', 2).waitFor();
    const codes = await tab.page.locator('ol.codes code').allTextContents();
    expect(codes).toHaveLength(10);
    const done = button(tab, 'common.done');
    expect(await done.isDisabled()).toBe(true);
    await tab.page.getByLabel(tab.t['recovery.saved']!).check();
    await done.click();
    await tab.page.locator('dialog').waitFor({ state: 'detached' });
    return codes;
  }

  /** Sign out is in the account menu at the top right, opened by the button that names the user. */
  async function signOut(tab: Tab, email: string) {
    await tab.page.getByRole('button', { name: email }).click();
    await tab.page.locator('.account-menu').getByRole('button', { name: tab.t['nav.signOut']!, exact: true }).click();
  }

  async function expectNothingStored(tab: Tab) {
    const stored = await tab.page.evaluate(() => ({ local: Object.keys(localStorage), session: Object.keys(sessionStorage), url: location.href }));
    expect(stored.session).toEqual([]);
    expect(stored.local.filter((k) => k !== 'mamori.lang')).toEqual([]);
    expect(stored.url).toMatch(/\/console\/#\/[a-z-]+$/);
  }

  it('English: wrong password, then password and emailed code; assigns an authenticator app; signs in again with it; administers', async () => {
    const tab = await open('en');
    const { page, t } = tab;
    try {
      // A wrong password shows the problem's message in the form.
      await heading(tab, 'signIn.title').waitFor();
      await page.getByLabel(t['field.email']!).fill('alice@example.com');
      await page.getByLabel(t['field.password']!, { exact: true }).fill('this is not the password at all');
      await button(tab, 'signIn.submit').click();
      await page.getByRole('alert').getByText(t['problem.invalid_credentials']!).waitFor();

      await signInWithEmailCode(tab, 'alice@example.com');
      expect(page.url()).toBe(`${origin}/console/#/security`);
      await page.getByText(t['security.noMfaTitle']!).waitFor();
      await page.getByText(t['mfa.none']!).waitFor();
      await page.getByText(t['sessions.current']!).first().waitFor();
      await page.getByRole('rowheader', { name: t['event.sign_in_succeeded']!, exact: true }).first().waitFor();

      // Assign MFA device: its name, then the kind (Authenticator app), then the QR code and the two codes.
      await button(tab, 'mfa.assign').first().click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel(t['mfa.deviceName']!).fill('Work phone');
      await button(tab, 'common.next').click();
      await dialog.getByRole('radio', { name: new RegExp(`^${t['assign.app']!}`) }).check();
      await button(tab, 'common.next').click();
      await heading(tab, 'assign.appTitle', 2).waitFor();
      const qr = dialog.getByRole('img', { name: t['assign.qrAlt']! });
      expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
      expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
      const toggle = button(tab, 'assign.showSecret');
      expect(await toggle.getAttribute('aria-expanded')).toBe('false');
      await toggle.click();
      const secret = (await dialog.locator('.secret code').textContent())!.replace(/\s+/g, '');
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      await button(tab, 'common.next').click();
      const now = server.clock.now();
      await dialog.getByLabel(t['mfa.code1']!).fill(appCode(secret, now));
      await dialog.getByLabel(t['mfa.code2']!).fill(appCode(secret, now, 1));
      await button(tab, 'assign.add').click();
      await saveRecoveryCodes(tab);
      await page.getByRole('rowheader', { name: 'Work phone', exact: true }).waitFor();
      await page.getByRole('cell', { name: t['mfa.type.totp']!, exact: true }).waitFor();
      await page.getByText(t['recovery.remaining']!.replace('{n}', '10')).waitFor();
      expect(await page.getByText(t['security.noMfaTitle']!).count()).toBe(0);

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      await expectNothingStored(tab);

      // Sign out from the account menu, then sign in with the password and the app's next code.
      await signOut(tab, 'alice@example.com');
      await page.getByText(t['signOut.done']!).waitFor();
      await passwordStep(tab, 'alice@example.com');
      await heading(tab, 'signIn.mfaTitle').waitFor();
      server.clock.advance(60_000); // past the two codes used to assign the device
      const mfaCode = page.getByLabel(t['mfa.code']!, { exact: true });
      expect(await mfaCode.getAttribute('autocomplete')).toBe('one-time-code');
      await mfaCode.fill(appCode(secret, server.clock.now()));
      await mfaCode.press('Enter');
      await heading(tab, 'security.title').waitFor();

      // Administration at aal 2, from the account menu: users, credential report, audit chain.
      await page.getByRole('button', { name: 'alice@example.com' }).click();
      await page.locator('.account-menu').getByRole('link', { name: t['nav.admin']!, exact: true }).click();
      await heading(tab, 'admin.title').waitFor();
      await page.getByRole('rowheader', { name: /bob@example\.com/ }).waitFor();
      const download = page.waitForEvent('download');
      await button(tab, 'admin.reportDownload').click();
      expect((await download).suggestedFilename()).toMatch(/^credential-report-\d{4}-\d{2}-\d{2}\.csv$/);
      await page.getByRole('link', { name: t['admin.audit']!, exact: true }).click();
      await button(tab, 'admin.auditVerify').click();
      await page.getByText(t['admin.auditValid']!.split(' (')[0]!).waitFor();

      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  it('Japanese: signs in with password and emailed code; the switcher remembers English', async () => {
    const tab = await open('ja');
    const { page, t } = tab;
    try {
      await signInWithEmailCode(tab, 'bob@example.com');
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('ja');
      await page.getByText(t['security.noMfaTitle']!).waitFor();
      await button(tab, 'mfa.assign').first().waitFor();
      await page.getByRole('heading', { name: t['mfa.title']!, level: 2 }).waitFor();
      await page.screenshot({ path: SCREENSHOT.replace('.png', '-ja.png'), fullPage: true });

      await page.getByLabel(t['lang.label']!).selectOption('en');
      await page.getByRole('heading', { name: en['security.title']!, level: 1 }).waitFor();
      expect(await page.evaluate(() => localStorage.getItem('mamori.lang'))).toBe('en');
      await page.goto(`${origin}/console/`);
      await page.getByRole('heading', { name: en['security.title']!, level: 1 }).waitFor();
      await expectNothingStored(tab);

      await page.getByRole('button', { name: 'bob@example.com' }).click();
      await page.locator('.account-menu').getByRole('button', { name: en['nav.signOut']!, exact: true }).click();
      await page.getByRole('heading', { name: en['signIn.title']!, level: 1 }).waitFor();
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  // The browser's own JSON helpers, and the console's fallback for browsers without them.
  const WITHOUT_JSON_HELPERS = `
    delete PublicKeyCredential.parseCreationOptionsFromJSON;
    delete PublicKeyCredential.parseRequestOptionsFromJSON;
    delete PublicKeyCredential.prototype.toJSON;`;
  it.each([
    ['carol@example.com', 'native JSON helpers', undefined],
    ['dave@example.com', 'the console’s base64url fallback', WITHOUT_JSON_HELPERS],
  ])('assigns a passkey through the wizard and signs in with it (%s, %s)', async (email, _how, init) => {
    const tab = await open('en', init);
    const { page, t } = tab;
    try {
      const cdp = await tab.context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      });
      await signInWithEmailCode(tab, email);
      await button(tab, 'mfa.assign').first().click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel(t['mfa.deviceName']!).fill('Laptop');
      await button(tab, 'common.next').click();
      await dialog.getByRole('radio', { name: new RegExp(`^${t['assign.passkey']!}`) }).check();
      await button(tab, 'common.next').click();
      await button(tab, 'assign.createPasskey').click();
      await saveRecoveryCodes(tab);
      await page.getByRole('rowheader', { name: 'Laptop', exact: true }).waitFor();
      await page.getByRole('cell', { name: t['mfa.type.webauthn']!, exact: true }).waitFor();

      await signOut(tab, email);
      await button(tab, 'signIn.passkey').click();
      await heading(tab, 'security.title').waitFor();
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
