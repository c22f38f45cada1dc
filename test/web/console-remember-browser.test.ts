/**
 * "Remember this browser" in the console, in Chromium, in English and Japanese: the checkbox on
 * the MFA step when the server offers it, the next sign-in in that browser without the code, the
 * list under Security credentials and its Forget, after which the code is asked again. Skipped,
 * with the reason, where /usr/bin/chromium or playwright-core is missing.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { expectAccessible } from '../helpers/axe.js';
import { button, heading, openConsole, passwordStep, type Tab } from '../helpers/console.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, startServer, type TestServer } from '../helpers/server.js';

if (browserSkipReason) process.stderr.write(`[console-remember-browser] skipped: ${browserSkipReason}\n`);

describe.skipIf(browserSkipReason !== null)('console: remember this browser (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let origin: string;
  beforeAll(async () => {
    server = await startServer({ env: { MAMORI_REMEMBER_BROWSER_DAYS: '7' } });
    origin = server.config.publicUrl;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Sign out is in the account menu at the top right, opened by the button that names the user. */
  async function signOut(tab: Tab, email: string) {
    await tab.page.getByRole('button', { name: email }).click();
    await tab.page.locator('.account-menu').getByRole('button', { name: tab.t['nav.signOut']!, exact: true }).click();
  }

  it.each(['en', 'ja'] as const)('ticks it, signs in again without the code, forgets the browser from Security credentials (%s)', async (lang) => {
    const email = `remember.${lang}@example.com`;
    await createTestUser(server, email);
    const c = server.client();
    await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
    await c.post('/api/v1/sign-in/email-code', { code: await server.lastCode(email) });
    const { secret } = await assignApp(server.clock, c);

    const tab = await openConsole(browser, origin, lang);
    try {
      const label = tab.t['mfa.rememberBrowser']!.replace('{n}', '7');
      await passwordStep(tab, email);
      await heading(tab, 'signIn.mfaTitle').waitFor();
      const box = tab.page.getByRole('checkbox', { name: label, exact: true });
      expect(await box.isChecked()).toBe(false);
      await box.check();
      // The tick stays while the user looks at another method and comes back.
      await button(tab, 'mfa.useRecoveryCode').click();
      expect(await box.isChecked()).toBe(true);
      await button(tab, 'mfa.useCode').click();
      expect(await box.isChecked()).toBe(true);
      await expectAccessible(tab.page, 'MFA step with Remember this browser');
      server.clock.advance(60_000);
      await tab.page.getByLabel(tab.t['mfa.code']!, { exact: true }).fill(appCode(secret, server.clock.now()));
      await button(tab, 'common.verify').click();
      await heading(tab, 'security.title').waitFor();
      const panel = tab.page.getByRole('region', { name: tab.t['remembered.title']!, exact: true });
      // Its accessible name says which browser; its text is the one word.
      const forget = panel.getByRole('button').filter({ hasText: new RegExp(`^${tab.t['remembered.forget']!}$`) });
      await forget.waitFor();

      // Signed out and in again: no code asked in this browser.
      await signOut(tab, email);
      await passwordStep(tab, email);
      await heading(tab, 'security.title').waitFor();
      const session = await tab.page.evaluate(async () => (await fetch('/api/v1/session')).json() as Promise<{ aal: number; amr: string[]; mfaVerifiedAt: string | null }>);
      expect(session).toMatchObject({ aal: 2, amr: ['pwd', 'mfa', 'remembered'], mfaVerifiedAt: null });

      // Forget it: the list says none, and the next sign-in asks for the code again.
      await forget.click();
      await panel.getByText(tab.t['remembered.none']!, { exact: true }).waitFor();
      await signOut(tab, email);
      await passwordStep(tab, email);
      await heading(tab, 'signIn.mfaTitle').waitFor();
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  it('offers nothing when the service does not (the default)', async () => {
    const plain = await startServer();
    try {
      const email = 'plain@example.com';
      await createTestUser(plain, email);
      const c = plain.client();
      await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
      await c.post('/api/v1/sign-in/email-code', { code: await plain.lastCode(email) });
      await assignApp(plain.clock, c);
      const tab = await openConsole(browser, plain.config.publicUrl, 'en');
      try {
        await passwordStep(tab, email);
        await heading(tab, 'signIn.mfaTitle').waitFor();
        expect(await tab.page.getByRole('checkbox').count()).toBe(0);
        expect(tab.problems).toEqual([]);
      } finally {
        await tab.context.close();
      }
    } finally {
      await plain.close();
    }
  });
});
