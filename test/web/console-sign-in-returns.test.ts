/**
 * The way back to an application after signing in, in Chromium, in English and Japanese at 1280
 * and 360 px: a same-origin `rd` (as OpenID Connect's interaction sends) asking for a level the
 * session lacks gets a step-up first (a passkey for `aal=phr`, through the CDP virtual
 * authenticator), right after the sign-in and when the page opens signed in already; a
 * cancelled step-up stays on Security credentials; `reauth=1` asks for the password again.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/axe.js';
import { api, browserSkipReason, createCredential, launchChromium, SAME_ORIGIN_PAGE } from '../helpers/browser.js';
import { button, heading, openConsoleAt, passwordStep, type Lang, type Tab, inSuite } from '../helpers/console.js';
import { appCode } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, startServer, type TestServer } from '../helpers/server.js';

if (browserSkipReason) process.stderr.write(`[console-sign-in-returns] skipped: ${browserSkipReason}\n`);

const COMBOS = (['en', 'ja'] as const).flatMap((lang) => [1280, 360].map((width) => ({ lang, width }))).filter(({ lang, width }) => inSuite(lang, width));

describe.skipIf(browserSkipReason !== null)('console: back to the application after signing in (Chromium)', () => {
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

  /** A tab with a virtual passkey authenticator, at `width`. */
  async function open(lang: Lang, width: number): Promise<Tab> {
    const tab = await openConsoleAt(browser, origin, lang, width);
    const cdp = await tab.context.newCDPSession(tab.page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return tab;
  }

  /** A user with an authenticator app and a passkey of this browser; signed out again. Returns the app's secret. */
  async function enrol(page: Page, email: string): Promise<string> {
    await createTestUser(server, email);
    expect((await api(page, 'POST', '/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body.status).toBe('email_code_sent');
    expect((await api(page, 'POST', '/api/v1/sign-in/email-code', { code: await server.lastCode(email) })).status).toBe(200);
    const app = await api(page, 'POST', '/api/v1/me/mfa-devices/totp', { name: 'Phone' });
    const secret = String(app.body.secret);
    const now = server.clock.now();
    expect((await api(page, 'POST', `/api/v1/me/mfa-devices/${String(app.body.id)}/activate`, { code1: appCode(secret, now), code2: appCode(secret, now, 1) })).status).toBe(200);
    const options = await api(page, 'POST', '/api/v1/me/mfa-devices/webauthn-options', {});
    expect((await api(page, 'POST', '/api/v1/me/mfa-devices/webauthn', { name: 'Laptop', credential: await createCredential(page, options.body) })).status).toBe(201);
    await api(page, 'POST', '/api/v1/sign-out');
    return secret;
  }

  /** The second step with the app's code: a session at aal 2, not phishing-resistant. */
  async function withAppCode(tab: Tab, secret: string) {
    await heading(tab, 'signIn.mfaTitle').waitFor();
    const code = tab.page.getByLabel(tab.t['mfa.code']!, { exact: true });
    // The step opens with the device used last: the passkey, or the app once it was used.
    if ((await code.count()) === 0) await button(tab, 'mfa.useCode').click();
    server.clock.advance(61_000);
    await code.fill(appCode(secret, server.clock.now()));
    await code.press('Enter');
  }

  /**
   * Opens a console address as an application's redirect does: a new page load (a change of the
   * hash alone would keep the console's page, which read its return address when it started).
   */
  async function arrive(page: Page, hash: string) {
    await page.goto(`${origin}${SAME_ORIGIN_PAGE}`);
    await page.goto(`${origin}/console/${hash}`);
  }

  const back = () => encodeURIComponent(`${origin}${SAME_ORIGIN_PAGE}`);
  const check = async (page: Page, width: number, where: string) => {
    await expectAccessible(page, `${where} at ${width} px`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), where).toBeLessThanOrEqual(width);
  };

  for (const { lang, width } of COMBOS) {
    it(`${lang} ${width}px: an application asking for a passkey gets a step-up first, after sign-in and when already signed in`, async () => {
      const email = `phr-${lang}-${width}@example.com`;
      const tab = await open(lang, width);
      const { page, t } = tab;
      const host = new URL(origin).host;
      try {
        await page.goto(`${origin}${SAME_ORIGIN_PAGE}`);
        const secret = await enrol(page, email);

        // Signed out: sign in with the app's code; the passkey is asked for before going back.
        await arrive(page, `#/sign-in?rd=${back()}&aal=phr`);
        await passwordStep(tab, email);
        await withAppCode(tab, secret);
        const dialog = page.getByRole('dialog');
        await dialog.getByRole('heading', { name: t['stepUp.title']!, level: 2 }).waitFor();
        await dialog.getByText(t['stepUp.forAppKey']!.replace('{host}', host)).waitFor();
        // Only a passkey will do: no code field, no other method.
        expect(await dialog.getByLabel(t['mfa.code']!, { exact: true }).count()).toBe(0);
        await check(page, width, 'step-up for an application');
        await dialog.getByRole('button', { name: t['mfa.usePasskey']!, exact: true }).click();
        await page.waitForURL(`${origin}${SAME_ORIGIN_PAGE}`);
        expect((await api(page, 'GET', '/api/v1/session')).body.acr).toBe('urn:mamori:phr');

        // Signed in at aal 2 only (a new sign-in with the code), then the application's link: the step-up at once.
        await api(page, 'POST', '/api/v1/sign-out');
        await page.goto(`${origin}/console/#/sign-in`);
        await passwordStep(tab, email);
        await withAppCode(tab, secret);
        await heading(tab, 'security.title').waitFor();
        await arrive(page, `#/sign-in?rd=${back()}&aal=phr`);
        await dialog.getByText(t['stepUp.forAppKey']!.replace('{host}', host)).waitFor();
        // Closed: the user stays on Security credentials.
        await page.keyboard.press('Escape');
        await dialog.waitFor({ state: 'detached' });
        await heading(tab, 'security.title').waitFor();
        expect(page.url()).toBe(`${origin}/console/#/security`);
        await arrive(page, `#/sign-in?rd=${back()}&aal=phr`);
        await dialog.getByRole('button', { name: t['mfa.usePasskey']!, exact: true }).click();
        await page.waitForURL(`${origin}${SAME_ORIGIN_PAGE}`);
        expect(tab.problems).toEqual([]);
      } finally {
        await tab.context.close();
      }
    });
  }

  it.each(COMBOS)('$lang $width px: reauth=1 asks for the password again, and an address elsewhere is not followed', async ({ lang, width }) => {
    const email = `reauth-${lang}-${width}@example.com`;
    const tab = await open(lang, width);
    const { page, t } = tab;
    try {
      await page.goto(`${origin}${SAME_ORIGIN_PAGE}`);
      const secret = await enrol(page, email);
      await page.goto(`${origin}/console/#/sign-in`);
      await passwordStep(tab, email);
      await withAppCode(tab, secret);
      await heading(tab, 'security.title').waitFor();

      // Signed in, yet the application asks for a new sign-in: the form, with a word on why.
      await arrive(page, `#/sign-in?rd=${back()}&reauth=1`);
      await heading(tab, 'signIn.title').waitFor();
      await page.getByText(t['signIn.reauth']!).waitFor();
      await check(page, width, 'sign-in again for an application');
      await passwordStep(tab, email);
      await withAppCode(tab, secret);
      await page.waitForURL(`${origin}${SAME_ORIGIN_PAGE}`);

      // An address the server does not approve (no MAMORI_COOKIE_DOMAIN: only this origin): Security credentials.
      await api(page, 'POST', '/api/v1/sign-out');
      await arrive(page, `#/sign-in?rd=${encodeURIComponent('https://elsewhere.example/')}`);
      await passwordStep(tab, email);
      await heading(tab, 'signIn.mfaTitle').waitFor();
      // The app was used last: its code first, the passkey one link away.
      await button(tab, 'mfa.usePasskey').click();
      await page.getByText(t['mfa.passkeyPrompt']!).waitFor();
      await button(tab, 'mfa.usePasskey').click();
      await heading(tab, 'security.title').waitFor();
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
