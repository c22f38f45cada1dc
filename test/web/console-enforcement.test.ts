/**
 * The console under MAMORI_REQUIRE_MFA with a grace period, in Chromium: the reminder a user sees
 * while the grace runs, in English and Japanese, and the deadline in the administrators' user list.
 * Skipped, with the reason, where /usr/bin/chromium or playwright-core is missing.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { button, heading, openConsole, passwordStep, type Lang } from '../helpers/console.js';
import { assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, startServer, type TestServer } from '../helpers/server.js';

if (browserSkipReason) process.stderr.write(`[console-enforcement] skipped: ${browserSkipReason}\n`);

/** The date as the console prints it (fmtDate in app.js): the same Intl options, this machine's time zone. */
const printed = (iso: string, lang: Lang) => new Intl.DateTimeFormat(lang === 'ja' ? 'ja-JP' : 'en', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));

describe.skipIf(browserSkipReason !== null)('console reminder of the MFA deadline (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let origin: string;
  beforeAll(async () => {
    server = await startServer({ env: { MAMORI_REQUIRE_MFA: 'true', MAMORI_MFA_GRACE_DAYS: '14' } });
    origin = server.config.publicUrl;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(['en', 'ja'] as const)('reminds a user in the grace to assign a device by the deadline (%s)', async (lang) => {
    const email = `grace.${lang}@example.com`;
    await createTestUser(server, email);
    const tab = await openConsole(browser, origin, lang);
    try {
      await passwordStep(tab, email);
      await heading(tab, 'signIn.emailCodeTitle').waitFor();
      await tab.page.getByLabel(tab.t['signIn.emailCode']!).fill(await server.lastCode(email));
      await button(tab, 'common.verify').click();
      await heading(tab, 'security.title').waitFor();
      const session = await tab.page.evaluate(async () => (await fetch('/api/v1/session')).json() as Promise<{ mfaSetupDeadline: string }>);
      const date = printed(session.mfaSetupDeadline, lang);
      const title = tab.t['security.mfaDeadlineTitle']!.replace('{date}', date);
      await tab.page.getByText(title, { exact: true }).waitFor();
      await tab.page.getByText(tab.t['security.mfaDeadline']!.replace('{date}', date), { exact: true }).waitFor();
      // The whole service is open meanwhile: the other panels are there, not the enrollment-only note.
      expect(await tab.page.getByText(tab.t['security.setupOnlyRest']!).count()).toBe(0);
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  it('shows the deadline under "Not assigned" in the users list', async () => {
    await createTestUser(server, 'boss@example.com', { role: 'admin' });
    const c = server.client();
    await c.post('/api/v1/sign-in', { email: 'boss@example.com', password: STRONG_PASSWORD });
    await c.post('/api/v1/sign-in/email-code', { code: await server.lastCode('boss@example.com') });
    await assignApp(server.clock, c);
    const users = (await c.get<{ users: Array<{ email: string; mfaSetupDeadline: string | null }> }>('/api/v1/admin/users')).body.users;
    const deadline = users.find((u) => u.email === 'grace.en@example.com')!.mfaSetupDeadline!;

    const tab = await openConsole(browser, origin, 'en');
    try {
      await tab.context.addCookies([{ name: 'mamori_session', value: c.cookies.get('mamori_session')!, url: origin }]);
      // The console read GET /session once, signed out, when the tab opened (and went to #/sign-in):
      // leave the document, so the console loads afresh with the cookie, straight at #/admin.
      await tab.page.goto('about:blank');
      await tab.page.goto(`${origin}/console/#/admin`);
      const row = tab.page.getByRole('row').filter({ hasText: 'grace.en@example.com' });
      await row.getByText(tab.t['admin.mfaDeadline']!.replace('{date}', printed(deadline, 'en')), { exact: true }).waitFor();
      // An administrator with a device has no deadline to show.
      expect(await tab.page.getByRole('row').filter({ hasText: 'boss@example.com' }).getByText(/^Due by /).count()).toBe(0);
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
