/**
 * forward-auth's return address in the console, in Chromium, in English and Japanese at 1280 and
 * 360 px: Mamori at id.mamori.test, an application at app.mamori.test (MAMORI_COOKIE_DOMAIN
 * mamori.test, both resolved to 127.0.0.1 by Chromium). After a sign-in the console goes back
 * once GET /api/v1/return-to approves the address; signed in already at the level asked for, it
 * stays (going back would only loop); below it, the step-up comes first and says what is missing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/axe.js';
import { browserSkipReason, launchChromium, SAME_ORIGIN_PAGE } from '../helpers/browser.js';
import { button, heading, openConsoleAt, passwordStep, type Lang, type Tab, inSuite } from '../helpers/console.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

if (browserSkipReason) process.stderr.write(`[console-sign-in-forward] skipped: ${browserSkipReason}\n`);

/** Chromium's own note on plain-http origins other than localhost (this test's hosts) is not the console's problem. */
const real = (problems: string[]) => problems.filter((p) => !p.includes('Cross-Origin-Opener-Policy header has been ignored'));

const COMBOS = (['en', 'ja'] as const).flatMap((lang) => [1280, 360].map((width) => ({ lang, width }))).filter(({ lang, width }) => inSuite(lang, width));

describe.skipIf(browserSkipReason !== null)('console: forward-auth returns (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let app: Server;
  let origin = '';
  let appUrl = '';

  beforeAll(async () => {
    server = await startServer({ env: { MAMORI_PUBLIC_URL: 'http://id.mamori.test', MAMORI_COOKIE_DOMAIN: 'mamori.test' } });
    // The port is known only now, as for the tests' localhost address.
    origin = `http://id.mamori.test:${new URL(server.url).port}`;
    server.services.config.publicUrl = origin;
    app = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('back at the application'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    appUrl = `http://app.mamori.test:${(app.address() as AddressInfo).port}/dashboard?tab=1`;
    browser = await launchChromium(['--host-resolver-rules=MAP *.mamori.test 127.0.0.1']);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => app?.close(r));
    await server?.close();
  });

  const open = (lang: Lang, width: number): Promise<Tab> => openConsoleAt(browser, origin, lang, width);
  const signInAt = (aal: '2' | 'phr') => `${origin}/console/#/sign-in?rd=${encodeURIComponent(appUrl)}&aal=${aal}`;

  for (const { lang, width } of COMBOS) {
    it(`${lang} ${width}px: back to the application after signing in; signed in already, a step-up for what is missing`, async () => {
      const email = `fwd-${lang}-${width}@example.com`;
      await createTestUser(server, email);
      const { secret } = await assignApp(server.clock, await signIn(server, email));
      const tab = await open(lang, width);
      const { page, t } = tab;
      try {
        await page.goto(signInAt('2'));
        await heading(tab, 'signIn.title').waitFor();
        // Plain http on a host other than localhost is no secure context: no passkeys, so none offered.
        expect(await page.evaluate(() => typeof PublicKeyCredential)).toBe('undefined');
        expect(await button(tab, 'signIn.passkey').count()).toBe(0);
        await passwordStep(tab, email);
        await heading(tab, 'signIn.mfaTitle').waitFor();
        server.clock.advance(61_000);
        const code = page.getByLabel(t['mfa.code']!, { exact: true });
        await code.fill(appCode(secret, server.clock.now()));
        await code.press('Enter');
        await page.waitForURL(appUrl);
        expect(await page.textContent('body')).toContain('back at the application');

        // At the level already: the console stays rather than send the browser round again.
        await page.goto(signInAt('2'));
        await heading(tab, 'security.title').waitFor();
        expect(new URL(page.url()).hash).toBe('#/security');

        // A passkey asked for, and this user has none: the step-up says so and leads to assigning one.
        await page.goto(`${origin}${SAME_ORIGIN_PAGE}`);
        await page.goto(signInAt('phr'));
        const dialog = page.getByRole('dialog');
        await dialog.getByText(t['stepUp.needKey']!).waitFor();
        await dialog.getByRole('link', { name: t['mfa.assign']!, exact: true }).waitFor();
        await expectAccessible(page, `step-up without a passkey at ${width} px`);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
        await page.keyboard.press('Escape');
        await heading(tab, 'security.title').waitFor();
        expect(real(tab.problems)).toEqual([]);
      } finally {
        await tab.context.close();
      }
    });
  }

  it.each(['en', 'ja'] as const)('%s: an account without MFA, signed in with the emailed code, is told it needs a device first', async (lang) => {
    const email = `fwd-nomfa-${lang}@example.com`;
    await createTestUser(server, email);
    const tab = await open(lang, 1280);
    const { page, t } = tab;
    try {
      await page.goto(signInAt('2'));
      await passwordStep(tab, email);
      await heading(tab, 'signIn.emailCodeTitle').waitFor();
      await page.getByLabel(t['signIn.emailCode']!).fill(await server.lastCode(email));
      await button(tab, 'common.verify').click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText(t['stepUp.noDevice']!).waitFor();
      await expectAccessible(page, 'step-up without a device');
      await dialog.getByRole('link', { name: t['mfa.assign']!, exact: true }).click();
      await dialog.waitFor({ state: 'detached' });
      await heading(tab, 'security.title').waitFor();
      expect(real(tab.problems)).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
