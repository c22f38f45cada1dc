/**
 * Security credentials when the organization requires MFA (MAMORI_REQUIRE_MFA), in Chromium, in
 * both languages: a session that may only assign a device sees why and nothing else; once the
 * wizard assigned one, the whole page is there without a reload; the last device cannot be
 * removed (409 last_device, in words). With a grace period (MAMORI_MFA_GRACE_DAYS), the banner
 * names the date.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/axe.js';
import { api, browserSkipReason, launchChromium } from '../helpers/browser.js';
import { button, type Lang } from '../helpers/console.js';
import { appCode } from '../helpers/otp.js';
import { createTestUser, startServer, type TestServer } from '../helpers/server.js';
import { expectPhoneFit, openAt, panel, signInHere, topDialog, type Width } from './console-security-helpers.js';

if (browserSkipReason) process.stderr.write(`[console-security-required] skipped: ${browserSkipReason}\n`);

const CASES: [Lang, Width][] = [
  ['en', 1280],
  ['ja', 360],
];

describe.skipIf(browserSkipReason !== null)('Security credentials under required MFA (Chromium)', () => {
  let server: TestServer;
  let grace: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer({ env: { MAMORI_REQUIRE_MFA: 'true' } });
    grace = await startServer({ env: { MAMORI_REQUIRE_MFA: 'true', MAMORI_MFA_GRACE_DAYS: '14' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await grace?.close();
  });

  it.each(CASES)('%s at %i px: only the assignment first, the whole page after it, the last device kept', async (lang, width) => {
    const email = `required.${lang}@example.com`;
    await createTestUser(server, email);
    const tab = await openAt(browser, server.config.publicUrl, lang, width);
    const { page, t } = tab;
    try {
      await signInHere(tab, server, email);
      await page.getByText(t['security.mfaRequiredTitle']!, { exact: true }).waitFor();
      await page.getByText(t['security.mfaRequired']!, { exact: true }).waitFor();
      await page.getByText(t['security.setupOnlyRest']!, { exact: true }).waitFor();
      // Nothing but the MFA panel: the other panels would only be refused.
      expect(await page.getByRole('region').count()).toBe(1);
      expect(await button(tab, 'mfa.assign').count()).toBe(1);
      await expectAccessible(page, `setup only ${lang} ${width}`);
      await expectPhoneFit(page, 'setup only');

      await button(tab, 'mfa.assign').click();
      const wizard = topDialog(page);
      await wizard.getByLabel(t['mfa.deviceName']!).fill('Phone');
      await button(tab, 'common.next').click();
      await wizard.getByRole('radio', { name: t['assign.app']!, exact: true }).check();
      await button(tab, 'common.next').click();
      await button(tab, 'assign.showSecret').click();
      const secret = (await wizard.locator('.secret code').textContent())!.replace(/\s+/g, '');
      await button(tab, 'common.next').click();
      const now = server.clock.now();
      await wizard.getByLabel(t['mfa.code1']!, { exact: true }).fill(appCode(secret, now));
      await wizard.getByLabel(t['mfa.code2']!, { exact: true }).fill(appCode(secret, now, 1));
      await button(tab, 'assign.add').click();
      await wizard.getByRole('heading', { name: t['recovery.saveTitle']!, level: 2 }).waitFor();
      // Behind the codes the page is already whole: the session is a full one now.
      await panel(tab, 'sessions.title').getByText(t['sessions.aal2']!, { exact: true }).waitFor();
      await page.getByLabel(t['recovery.saved']!, { exact: true }).check();
      await button(tab, 'common.done').click();
      await page.locator('dialog').waitFor({ state: 'detached' });
      expect(await page.getByText(t['security.setupOnlyRest']!).count()).toBe(0);
      expect(await page.getByText(t['security.mfaRequiredTitle']!).count()).toBe(0);
      await panel(tab, 'recovery.title').getByText(t['recovery.remaining']!.replace('{n}', '10'), { exact: true }).waitFor();
      await panel(tab, 'activity.title').getByText(t['event.mfa_device_assigned']!, { exact: true }).first().waitFor();
      expect((await api(page, 'GET', '/api/v1/session')).body.mfaSetupRequired).toBe(false);

      // The last device stays while MFA is required: said in words, in the dialog.
      await page.getByRole('button', { name: t['mfa.removeNamed']!.replace('{name}', 'Phone'), exact: true }).click();
      const confirm = topDialog(page);
      await confirm.getByRole('button', { name: t['mfa.remove']!, exact: true }).click();
      await confirm.getByRole('alert').getByText(t['problem.last_device']!, { exact: true }).waitFor();
      await expectAccessible(page, `last device refused ${lang} ${width}`);
      await confirm.getByRole('button', { name: t['common.cancel']!, exact: true }).click();
      await page.getByRole('rowheader', { name: 'Phone', exact: true }).waitFor();
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  it.each(CASES)('%s at %i px: the grace period’s date in the banner', async (lang, width) => {
    const email = `grace.${lang}@example.com`;
    await createTestUser(grace, email);
    const tab = await openAt(browser, grace.config.publicUrl, lang, width);
    const { page, t } = tab;
    try {
      await signInHere(tab, grace, email);
      const deadline = String((await api(page, 'GET', '/api/v1/session')).body.mfaSetupDeadline);
      const date = new Intl.DateTimeFormat(lang === 'ja' ? 'ja-JP' : 'en', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(deadline));
      await page.getByText(t['security.mfaDeadlineTitle']!.replace('{date}', date), { exact: true }).waitFor();
      await page.getByText(t['security.mfaDeadline']!.replace('{date}', date), { exact: true }).waitFor();
      // Meanwhile the whole page is open.
      await panel(tab, 'sessions.title').waitFor();
      expect(await page.getByText(t['security.setupOnlyRest']!).count()).toBe(0);
      await expectAccessible(page, `grace ${lang} ${width}`);
      await expectPhoneFit(page, 'grace');
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
