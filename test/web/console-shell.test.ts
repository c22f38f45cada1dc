/**
 * The console's shell in Chromium: the account menu at the top right (Security credentials,
 * Administration, sign-out; Escape closes it and gives focus back), the language switch (kept
 * in the browser and as the user's language), the skip link, and a header that fits a phone.
 * The sign-in is done through the API from inside the page: the sign-in screens have tests of
 * their own.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, screenshot } from '../helpers/axe.js';
import { api, browserSkipReason, launchChromium } from '../helpers/browser.js';
import { dict, type Lang, inSuite } from '../helpers/console.js';
import { createTestUser, startServer, STRONG_PASSWORD, type TestServer } from '../helpers/server.js';

const skip = browserSkipReason;

describe.skipIf(skip !== null)('console shell in Chromium', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer();
    await createTestUser(server, 'root@example.com', { role: 'admin' });
    await createTestUser(server, 'user@example.com');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A browser signed in as `email` (password + emailed code through the API), on #/security. */
  async function signedIn(email: string, lang: Lang, width: number) {
    const context = await browser.newContext({ locale: lang === 'ja' ? 'ja-JP' : 'en-US', viewport: { width, height: 800 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${server.config.publicUrl}/console/`);
    await page.getByRole('heading', { level: 1, name: dict[lang]['signIn.title']! }).waitFor();
    expect((await api(page, 'POST', '/api/v1/sign-in', { email, password: STRONG_PASSWORD })).status).toBe(200);
    expect((await api(page, 'POST', '/api/v1/sign-in/email-code', { code: await server.lastCode(email) })).status).toBe(200);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: dict[lang]['security.title']! }).waitFor();
    return { context, page, problems, t: dict[lang] };
  }

  for (const lang of ['en', 'ja'] as const) {
    for (const width of [1280, 360].filter((w) => inSuite(lang, w))) {
      it(`${lang} at ${width} px: the account menu opens, names the user, leads to each page, and closes with Escape`, async () => {
        const { context, page, problems, t } = await signedIn('root@example.com', lang, width);
        const account = page.getByRole('button', { name: 'root@example.com' });
        expect(await account.getAttribute('aria-expanded')).toBe('false');
        await account.click();
        expect(await account.getAttribute('aria-expanded')).toBe('true');
        await page.getByRole('link', { name: t['nav.security']!, exact: true }).waitFor();
        await expectAccessible(page, `account menu ${lang} ${width}`);
        await screenshot(page, 'account-menu', lang);
        await page.keyboard.press('Escape');
        expect(await account.getAttribute('aria-expanded')).toBe('false');
        expect(await page.evaluate(() => document.activeElement?.classList.contains('account-button'))).toBe(true);
        // Administration from the menu, for an administrator.
        await account.click();
        await page.locator('.account-menu').getByRole('link', { name: t['nav.admin']!, exact: true }).click();
        await page.waitForURL(/#\/admin\/users$/);
        // The header fits: nothing scrolls sideways.
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
        // Sign out from the menu.
        await account.click();
        await page.getByRole('button', { name: t['nav.signOut']!, exact: true }).click();
        await page.getByRole('heading', { level: 1, name: t['signIn.title']! }).waitFor();
        await page.getByText(t['signOut.done']!).waitFor();
        expect((await api(page, 'GET', '/api/v1/session')).status).toBe(401);
        expect(problems).toEqual([]);
        await context.close();
      });
    }
  }

  it('a user sees no Administration; the language switch is kept in the browser and becomes the user’s language', async () => {
    const { context, page } = await signedIn('user@example.com', 'en', 1280);
    expect(await page.getByRole('link', { name: dict.en['nav.admin']!, exact: true }).count()).toBe(0);
    await page.getByRole('button', { name: 'user@example.com' }).click();
    expect(await page.locator('.account-menu').getByRole('link', { name: dict.en['nav.admin']!, exact: true }).count()).toBe(0);
    await page.keyboard.press('Escape');
    await page.getByLabel(dict.en['lang.label']!).selectOption('ja');
    await page.getByRole('heading', { level: 1, name: dict.ja['security.title']! }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ja');
    // The mails follow: the user's language is now Japanese on the server.
    await expect.poll(async () => (await server.services.users.findByEmail('user@example.com'))?.locale).toBe('ja');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: dict.ja['security.title']! }).waitFor();
    // The skip link moves focus to the page's heading without touching the route.
    // It is the first thing a keyboard reaches.
    expect(await page.evaluate(() => document.querySelector('a[href], button, input, select')?.className)).toBe('skip-link');
    await page.locator('.skip-link').focus();
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    expect(page.url()).toMatch(/#\/security$/);
    await context.close();
  });
});
