/**
 * The console with a factor it has never heard of: the fixed-code factor of the tests,
 * registered next to the built-in ones. Everything the console shows for it comes from
 * GET /api/v1/factors — the wizard's option, its fields, the device type's label and the sign-in
 * form — in English and in Japanese, driven through the UI in Debian's Chromium.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`) and the npm package playwright-core;
 * without either the suite is skipped with a message saying which. No browser is downloaded.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACTORS } from '../../src/methods/registry.js';
import { fixedCodeFactor } from '../fixtures/factors/fixed-code.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { button, heading, openConsole, passwordStep, type Lang } from '../helpers/console.js';
import { createTestUser, startServer, type TestServer } from '../helpers/server.js';
import { expectAccessible } from '../helpers/axe.js';

const skipReason = browserSkipReason;
if (skipReason) process.stderr.write(`[console-custom-factor] skipped: ${skipReason}\n`);

/** What the fixed-code factor says about itself (test/fixtures/factors/fixed-code.ts), per language. */
const FIXED = {
  en: { label: 'Fixed code', description: 'For tests only.', field: 'Code' },
  ja: { label: '固定コード', description: 'テスト専用。', field: 'コード' },
} as const;

describe.skipIf(skipReason !== null)('web console with a factor it has never heard of', () => {
  let server: TestServer;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    server = await startServer({ factors: [...FACTORS, fixedCodeFactor] });
    origin = server.config.publicUrl;
    await createTestUser(server, 'erin@example.com');
    await createTestUser(server, 'frank@example.com');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const open = (lang: Lang) => openConsole(browser, origin, lang);

  it.each([
    ['en', 'erin@example.com', '123456'],
    ['ja', 'frank@example.com', '654321'],
  ] as const)('%s: assigns a fixed-code device through the wizard, lists it, signs in with it, and steps up with it', async (lang, email, code) => {
    const tab = await open(lang);
    const { page, t } = tab;
    const fixed = FIXED[lang];
    try {
      // First sign-in: password and the emailed code (no MFA device yet).
      await passwordStep(tab, email);
      await heading(tab, 'signIn.emailCodeTitle').waitFor();
      await page.getByLabel(t['signIn.emailCode']!).fill(await server.lastCode(email));
      await button(tab, 'common.verify').click();
      await heading(tab, 'security.title').waitFor();

      // The wizard: the name first, then the built-in kinds and the described one, with its label and description.
      await button(tab, 'mfa.assign').click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel(t['mfa.deviceName']!).fill('Test code');
      await button(tab, 'common.next').click();
      await dialog.getByRole('radio', { name: t['assign.passkey']!, exact: true }).waitFor();
      await dialog.getByRole('radio', { name: t['assign.app']!, exact: true }).waitFor();
      await dialog.getByRole('radio', { name: t['assign.hardware']!, exact: true }).waitFor();
      const described = dialog.getByRole('radio', { name: fixed.label, exact: true });
      await dialog.getByText(fixed.description, { exact: true }).waitFor();
      expect(await described.getAttribute('aria-describedby')).toBe(await dialog.getByText(fixed.description, { exact: true }).getAttribute('id'));
      await described.check();
      await button(tab, 'common.next').click();

      // Its set-up step, drawn from the assignment's fields.
      await page.getByRole('heading', { name: t['assign.genericTitle']!.replace('{method}', fixed.label), level: 2, exact: true }).waitFor();
      await dialog.getByText(fixed.description, { exact: true }).waitFor();
      const field = dialog.getByLabel(fixed.field, { exact: true });
      expect(await field.getAttribute('autocomplete')).toBe('one-time-code');
      expect(await field.evaluate((el) => el === document.activeElement)).toBe(true);
      await expectAccessible(page, `described assignment step (${lang})`);
      await field.fill(code);
      await button(tab, 'assign.add').click();

      // The first device: recovery codes, once.
      await heading(tab, 'recovery.saveTitle', 2).waitFor();
      expect(await page.locator('ol.codes code').allTextContents()).toHaveLength(10);
      await page.getByLabel(t['recovery.saved']!).check();
      await button(tab, 'common.done').click();
      await page.locator('dialog').waitFor({ state: 'detached' });

      // Listed with the type's label from the description.
      await page.getByRole('rowheader', { name: 'Test code', exact: true }).waitFor();
      await page.getByRole('cell', { name: fixed.label, exact: true }).waitFor();
      expect(await page.getByText(t['security.noMfaTitle']!).count()).toBe(0);
      // Recent activity names the described type and the device, at once.
      const activity = page.getByRole('region', { name: t['activity.title']!, exact: true });
      await activity.getByRole('cell', { name: `${fixed.label} Test code` }).first().waitFor();

      // Sign out; sign in with the password and the fixed code, through the generic second step.
      await button(tab, 'nav.signOut').first().click();
      await page.getByText(t['signOut.done']!).waitFor();
      await passwordStep(tab, email);
      await heading(tab, 'signIn.mfaTitle').waitFor();
      await page.getByText(fixed.label, { exact: true }).waitFor();
      await button(tab, 'mfa.useRecoveryCode').waitFor();

      // A wrong code is refused in the user's language, and the field is emptied for the next try.
      const proof = page.getByLabel(fixed.field, { exact: true });
      await proof.fill('000000');
      await proof.press('Enter');
      await page.getByRole('alert').getByText(t['problem.invalid_code']!).waitFor();
      expect(await proof.inputValue()).toBe('');

      await proof.fill(code);
      await proof.press('Enter');
      await heading(tab, 'security.title').waitFor();
      await page.getByRole('rowheader', { name: 'Test code', exact: true }).waitFor();

      // Past the step-up window, removing the device asks for the fixed code again, in the step-up dialog.
      server.clock.advance(16 * 60_000);
      await page.getByRole('button', { name: t['mfa.removeNamed']!.replace('{name}', 'Test code'), exact: true }).click();
      await button(tab, 'mfa.remove').click();
      await heading(tab, 'stepUp.title', 2).waitFor();
      const again = page.getByLabel(fixed.field, { exact: true });
      await again.fill(code);
      await again.press('Enter');
      await page.getByText(t['mfa.none']!).waitFor();
      expect(await page.locator('dialog').count()).toBe(0);
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
