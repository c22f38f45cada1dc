/**
 * Security credentials in Chromium, in English and Japanese, at 1280 px and at 360 px: assigning
 * an authenticator app through the wizard (a name, the kind, the QR code and its secret, two
 * consecutive codes computed here), the recovery codes shown once (copy, download, print), every
 * panel showing the new state without a reload, then rename, resync, and remove with a step-up.
 * axe-core on every state; screenshots with MAMORI_SCREENSHOTS=1.
 *
 * Needs /usr/bin/chromium and the npm package playwright-core; skipped, with the reason, without.
 */
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, screenshot } from '../helpers/axe.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { button, heading, type Lang, inSuite } from '../helpers/console.js';
import { appCode } from '../helpers/otp.js';
import { createTestUser, startServer, type TestServer } from '../helpers/server.js';
import { expectPhoneFit, focusedText, openAt, panel, signInHere, topDialog, type Width } from './console-security-helpers.js';

if (browserSkipReason) process.stderr.write(`[console-security] skipped: ${browserSkipReason}\n`);

const ALL_CASES: [Lang, Width][] = [
  ['en', 1280],
  ['ja', 1280],
  ['en', 360],
  ['ja', 360],
];
const CASES = ALL_CASES.filter(([lang, width]) => inSuite(lang, width));

describe.skipIf(browserSkipReason !== null)('Security credentials: an authenticator app from assignment to removal (Chromium)', () => {
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

  it.each(CASES)('%s at %i px', async (lang, width) => {
    const email = `security.${lang}.${width}@example.com`;
    await createTestUser(server, email);
    const tab = await openAt(browser, origin, lang, width);
    const { page, t } = tab;
    await tab.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const named = (key: string, name: string) => page.getByRole('button', { name: t[key]!.replace('{name}', name), exact: true });
    const check = async (where: string) => {
      await expectAccessible(page, where);
      await expectPhoneFit(page, where);
    };
    try {
      await signInHere(tab, server, email);

      // No device yet: the nudge away from emailed codes, one Assign button, this session at "Password".
      await page.getByText(t['security.noMfaTitle']!, { exact: true }).waitFor();
      await page.getByText(t['security.noMfa']!, { exact: true }).waitFor();
      await page.getByText(t['mfa.none']!, { exact: true }).waitFor();
      expect(await button(tab, 'mfa.assign').count()).toBe(1);
      const sessions = panel(tab, 'sessions.title');
      await sessions.getByText(t['sessions.current']!, { exact: true }).waitFor();
      await sessions.getByText(t['sessions.aal1']!, { exact: true }).waitFor();
      const activity = panel(tab, 'activity.title');
      await activity.getByText(t['event.sign_in_succeeded']!, { exact: true }).first().waitFor();
      expect(await activity.getByText(t['event.mfa_device_assigned']!, { exact: true }).count()).toBe(0);
      await check('security, no device');

      // ① The name.
      await button(tab, 'mfa.assign').click();
      const wizard = topDialog(page);
      await wizard.getByRole('heading', { name: t['assign.title']!, level: 2 }).waitFor();
      await wizard.getByText(t['assign.step']!.replace('{n}', '1').replace('{total}', '3')).waitFor();
      const name = wizard.getByLabel(t['mfa.deviceName']!);
      expect(await name.evaluate((el) => el === document.activeElement)).toBe(true);
      await check('assign: name');
      await screenshot(page, 'assign-name', lang);
      await name.fill('Work phone');
      await name.press('Enter');

      // ② The kind: three options, each with its explanation; the passkey first and chosen.
      await wizard.getByRole('heading', { name: t['assign.chooseTitle']!, level: 2 }).waitFor();
      for (const [label, text] of [
        ['assign.passkey', 'assign.passkeyText'],
        ['assign.app', 'assign.appText'],
        ['assign.hardware', 'assign.hardwareText'],
      ] as const) {
        const radio = wizard.getByRole('radio', { name: t[label]!, exact: true });
        expect(await radio.getAttribute('aria-describedby')).toBeTruthy();
        await wizard.getByText(t[text]!, { exact: true }).waitFor();
      }
      expect(await wizard.getByRole('radio').count()).toBe(3);
      expect(await wizard.getByRole('radio', { name: t['assign.passkey']!, exact: true }).isChecked()).toBe(true);
      await check('assign: choose');
      await screenshot(page, 'assign-choose', lang);
      await wizard.getByRole('radio', { name: t['assign.app']!, exact: true }).check();
      await button(tab, 'common.next').click();

      // ③ The app: the QR code as an image, the secret on request, the otpauth:// link.
      await wizard.getByRole('heading', { name: t['assign.appTitle']!, level: 2 }).waitFor();
      await wizard.getByText(t['assign.step']!.replace('{n}', '3').replace('{total}', '4')).waitFor();
      const qr = wizard.getByRole('img', { name: t['assign.qrAlt']!, exact: true });
      expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
      expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
      const link = wizard.getByRole('link', { name: t['assign.openApp']!, exact: true });
      const otpauth = (await link.getAttribute('href'))!;
      expect(otpauth).toMatch(/^otpauth:\/\/totp\//);
      expect(decodeURIComponent(otpauth)).toContain(email);
      const toggle = wizard.getByRole('button', { name: t['assign.showSecret']!, exact: true });
      expect(await toggle.getAttribute('aria-expanded')).toBe('false');
      expect(await wizard.locator('.secret').isVisible()).toBe(false);
      await toggle.click();
      expect(await wizard.getByRole('button', { name: t['assign.hideSecret']!, exact: true }).getAttribute('aria-expanded')).toBe('true');
      const secret = (await wizard.locator('.secret code').textContent())!.replace(/\s+/g, '');
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(new URL(otpauth).searchParams.get('secret')).toBe(secret);
      await check('assign: authenticator app');
      await screenshot(page, 'assign-app', lang);
      await button(tab, 'common.next').click();

      // ④ Two consecutive codes; the same code twice is refused in words before the server is asked.
      await wizard.getByText(t['assign.step']!.replace('{n}', '4').replace('{total}', '4')).waitFor();
      await wizard.getByText(t['mfa.twoCodesHint']!, { exact: true }).waitFor();
      const code1 = wizard.getByLabel(t['mfa.code1']!, { exact: true });
      const code2 = wizard.getByLabel(t['mfa.code2']!, { exact: true });
      expect(await code1.evaluate((el) => el === document.activeElement)).toBe(true);
      expect(await code1.getAttribute('autocomplete')).toBe('one-time-code');
      const now = server.clock.now();
      await code1.fill(appCode(secret, now));
      await code2.fill(appCode(secret, now, 1));
      await check('assign: codes');
      await screenshot(page, 'assign-codes', lang);
      await code2.fill(appCode(secret, now));
      await button(tab, 'assign.add').click();
      await wizard.getByRole('alert').getByText(t['mfa.codesEqual']!, { exact: true }).waitFor();
      await check('assign: the same code twice');
      await code2.fill(appCode(secret, now, 1));
      await button(tab, 'assign.add').click();

      // The recovery codes, once: no way out before "I have saved these".
      await wizard.getByRole('heading', { name: t['recovery.saveTitle']!, level: 2 }).waitFor();
      const codes = await wizard.locator('ol.codes code').allTextContents();
      expect(codes).toHaveLength(10);
      expect(await wizard.getByRole('button', { name: t['common.close']! }).count()).toBe(0);
      await page.keyboard.press('Escape');
      expect(await wizard.isVisible()).toBe(true);
      const done = button(tab, 'common.done');
      expect(await done.isDisabled()).toBe(true);
      await check('recovery codes');
      await screenshot(page, 'recovery-codes', lang);

      await button(tab, 'recovery.copy').click();
      await wizard.getByText(t['recovery.copied']!, { exact: true }).waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(codes.join('\n'));
      const download = page.waitForEvent('download');
      await button(tab, 'recovery.download').click();
      const file = await download;
      expect(file.suggestedFilename()).toBe('mamori-recovery-codes.txt');
      const saved = readFileSync((await file.path())!, 'utf8');
      for (const c of codes) expect(saved).toContain(c);
      expect(saved).toContain(email);
      await page.evaluate(() => {
        (window as Window & { printed?: number }).printed = 0;
        window.print = () => void ((window as Window & { printed?: number }).printed! += 1);
      });
      await button(tab, 'recovery.print').click();
      expect(await page.evaluate(() => (window as Window & { printed?: number }).printed)).toBe(1);
      // The print stylesheet: only the codes.
      await page.emulateMedia({ media: 'print' });
      expect(await page.locator('#app').isVisible()).toBe(false);
      const sheet = page.locator('.print-sheet');
      expect(await sheet.isVisible()).toBe(true);
      expect(await sheet.locator('code').allTextContents()).toEqual(codes);
      await page.emulateMedia({ media: 'screen' });

      await page.getByLabel(t['recovery.saved']!, { exact: true }).check();
      await done.click();
      await page.locator('dialog').waitFor({ state: 'detached' });
      await page.locator('.print-sheet').waitFor({ state: 'detached' });
      expect(await page.evaluate(() => document.documentElement.classList.contains('print-codes'))).toBe(false);
      // Focus back on the button that opened the wizard.
      await page.waitForFunction((label) => document.activeElement?.textContent?.trim() === label, t['mfa.assign']!);
      expect(await focusedText(page)).toBe(t['mfa.assign']);

      // Every panel shows the new state without a reload.
      await page.getByRole('rowheader', { name: 'Work phone', exact: true }).waitFor();
      // As a card (360 px) a cell's name starts with its column's label.
      await panel(tab, 'mfa.title').getByRole('cell', { name: new RegExp(`${t['mfa.type.totp']!}$`) }).waitFor();
      await page.getByText(t['mfa.count']!.replace('{n}', '1').replace('{limit}', '8'), { exact: true }).waitFor();
      await panel(tab, 'recovery.title').getByText(t['recovery.remaining']!.replace('{n}', '10'), { exact: true }).waitFor();
      await sessions.getByText(t['sessions.aal2']!, { exact: true }).waitFor();
      expect(await sessions.getByText(t['sessions.aal1']!, { exact: true }).count()).toBe(0);
      await activity.getByText(t['event.mfa_device_assigned']!, { exact: true }).first().waitFor();
      expect(await page.getByText(t['security.noMfaTitle']!).count()).toBe(0);
      await page.getByRole('status').getByText(t['assign.done']!.replace('{name}', 'Work phone'), { exact: true }).waitFor();
      await check('security, one device');
      await screenshot(page, 'security', lang);

      // Rename.
      await named('mfa.renameNamed', 'Work phone').click();
      const rename = topDialog(page);
      await rename.getByRole('heading', { name: t['mfa.renameTitle']!, level: 2 }).waitFor();
      await check('rename dialog');
      await rename.getByLabel(t['mfa.deviceName']!).fill('Personal phone');
      await button(tab, 'common.save').click();
      await page.getByRole('rowheader', { name: 'Personal phone', exact: true }).waitFor();
      await activity.getByText(t['event.mfa_device_renamed']!, { exact: true }).first().waitFor();

      // Resync: two consecutive codes from a clock three steps ahead.
      await named('mfa.resyncNamed', 'Personal phone').click();
      const resync = topDialog(page);
      await resync.getByText(t['mfa.resyncIntro']!.replace('{name}', 'Personal phone'), { exact: true }).waitFor();
      await check('resync dialog');
      await resync.getByLabel(t['mfa.code1']!, { exact: true }).fill(appCode(secret, server.clock.now(), 3));
      await resync.getByLabel(t['mfa.code2']!, { exact: true }).fill(appCode(secret, server.clock.now(), 4));
      await resync.getByRole('button', { name: t['mfa.resync']!, exact: true }).click();
      await activity.getByText(t['event.mfa_device_resynced']!, { exact: true }).first().waitFor();
      expect(await page.locator('dialog').count()).toBe(0);

      // Remove: past the step-up window, the step-up dialog asks for the (resynchronized) app's code.
      server.clock.advance(16 * 60_000);
      await named('mfa.removeNamed', 'Personal phone').click();
      const confirm = topDialog(page);
      await confirm.getByText(t['mfa.removeLast']!, { exact: true }).waitFor();
      await check('remove dialog');
      await confirm.getByRole('button', { name: t['mfa.remove']!, exact: true }).click();
      const stepUp = topDialog(page);
      await stepUp.getByRole('heading', { name: t['stepUp.title']!, level: 2 }).waitFor();
      await check('step-up dialog');
      const stepUpCode = stepUp.getByLabel(t['mfa.code']!, { exact: true });
      await stepUpCode.fill(appCode(secret, server.clock.now(), 4));
      await stepUpCode.press('Enter');
      await page.getByText(t['mfa.none']!, { exact: true }).waitFor();
      expect(await page.locator('dialog').count()).toBe(0);
      await page.getByText(t['security.noMfaTitle']!, { exact: true }).waitFor();
      await activity.getByText(t['event.mfa_device_removed']!, { exact: true }).first().waitFor();
      await activity.getByText(t['event.step_up_verified']!, { exact: true }).first().waitFor();
      await check('security, device removed');
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
