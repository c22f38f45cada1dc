/**
 * The other panels of Security credentials in Chromium, in both languages at 1280 and 360 px: an
 * account recovery under way and its cancel, the recovery codes left and a new set behind a
 * step-up, sessions on other browsers and signing one out, remembered browsers forgotten one by
 * one and all at once, and a new password behind a step-up that ends the other sessions; Recent
 * activity shows each change as it happens, without a reload.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/axe.js';
import { api, browserSkipReason, launchChromium } from '../helpers/browser.js';
import { button, type Lang, type Tab, inSuite } from '../helpers/console.js';
import { appCode } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, startServer, type TestServer } from '../helpers/server.js';
import { expectPhoneFit, openAt, panel, reloadAt, signInHere, topDialog, type Width } from './console-security-helpers.js';

if (browserSkipReason) process.stderr.write(`[console-security-panels] skipped: ${browserSkipReason}\n`);

/** Three other browsers, told apart in the lists by their User-Agent. */
const BROWSERS = [
  { ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', name: 'Safari', os: 'iOS' },
  { ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36', name: 'Chrome', os: 'Android' },
  { ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0', name: 'Firefox', os: 'Windows' },
] as const;

const ALL_CASES: [Lang, Width][] = [
  ['en', 1280],
  ['ja', 360],
  ['ja', 1280],
  ['en', 360],
];
const CASES = ALL_CASES.filter(([lang, width]) => inSuite(lang, width));

describe.skipIf(browserSkipReason !== null)('Security credentials: recovery, sessions, remembered browsers, password (Chromium)', () => {
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

  /** An authenticator app assigned from the page (its session rises to aal 2): the secret and the recovery codes. */
  async function assignFromPage(tab: Tab): Promise<{ secret: string; codes: string[] }> {
    const made = await api(tab.page, 'POST', '/api/v1/me/mfa-devices/totp', { name: 'Phone' });
    const secret = String(made.body.secret);
    const now = server.clock.now();
    const done = await api(tab.page, 'POST', `/api/v1/me/mfa-devices/${String(made.body.id)}/activate`, { code1: appCode(secret, now), code2: appCode(secret, now, 1) });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    return { secret, codes: done.body.recoveryCodes as string[] };
  }

  /** A sign-in on another browser, remembered there; the last one with a recovery code. */
  async function signInElsewhere(email: string, ua: string, proof: { method: 'totp' | 'recovery_code'; code: string }) {
    const c = server.client();
    const headers = { 'user-agent': ua };
    expect((await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD }, headers)).body.status).toBe('mfa_required');
    const r = await c.post('/api/v1/sign-in/mfa', { ...proof, rememberBrowser: true }, headers);
    expect(r.status, r.text).toBe(200);
  }

  it.each(CASES)('%s at %i px', async (lang, width) => {
    const email = `panels.${lang}.${width}@example.com`;
    await createTestUser(server, email);
    const tab = await openAt(browser, origin, lang, width);
    const { page, t } = tab;
    const agent = (i: number) => t['ua.on']!.replace('{browser}', BROWSERS[i]!.name).replace('{os}', BROWSERS[i]!.os);
    const named = (key: string, i: number) => t[key]!.replace('{device}', agent(i)).replace('{ip}', '127.0.0.1');
    const check = async (where: string) => {
      await expectAccessible(page, `${where} (${lang} ${width})`);
      await expectPhoneFit(page, where);
    };
    /** The step-up dialog, answered with the app's code of now. */
    const stepUpWith = async (secret: string) => {
      const dialog = topDialog(page);
      await dialog.getByRole('heading', { name: t['stepUp.title']!, level: 2 }).waitFor();
      await check('step-up');
      const field = dialog.getByLabel(t['mfa.code']!, { exact: true });
      await field.fill(appCode(secret, server.clock.now()));
      await field.press('Enter');
    };
    try {
      await signInHere(tab, server, email);
      const { secret, codes } = await assignFromPage(tab);
      for (const [i, b] of BROWSERS.entries()) {
        server.clock.advance(60_000); // past the codes already used: each code works once
        await signInElsewhere(email, b.ua, i < 2 ? { method: 'totp', code: appCode(secret, server.clock.now()) } : { method: 'recovery_code', code: codes[0]! });
      }
      // Someone asks to recover the account without its devices.
      expect((await server.client().post('/api/v1/sign-in/lost-devices', { email })).status).toBe(202);
      await reloadAt(tab, '/security');
      const activity = panel(tab, 'activity.title');

      // The recovery under way, and its cancel.
      await page.getByText(t['recovery.bannerTitle']!, { exact: true }).waitFor();
      await page.getByText(t['recovery.notYou']!, { exact: true }).waitFor();
      await panel(tab, 'recovery.title').getByText(t['recovery.remaining']!.replace('{n}', '9'), { exact: true }).waitFor();
      const sessions = panel(tab, 'sessions.title');
      await sessions.getByRole('rowheader', { name: agent(0) }).waitFor();
      expect(await sessions.getByRole('row').count()).toBe(5); // the header and four sessions
      const remembered = panel(tab, 'remembered.title');
      await remembered.getByText(t['remembered.recoveryCode']!).waitFor();
      await check('security with other browsers and a recovery');
      await button(tab, 'recovery.cancel').click();
      await page.getByText(t['recovery.bannerTitle']!, { exact: true }).waitFor({ state: 'detached' });
      await activity.getByText(t['event.recovery_cancelled']!, { exact: true }).first().waitFor();

      // Sign out one other session.
      await sessions.getByRole('button', { name: named('sessions.revokeNamed', 0), exact: true }).click();
      await sessions.getByRole('rowheader', { name: agent(0) }).waitFor({ state: 'detached' });
      expect(await sessions.getByRole('row').count()).toBe(4);
      await activity.getByText(t['event.session_revoked']!, { exact: true }).first().waitFor();

      // Forget one remembered browser, then the rest at once.
      expect(await remembered.getByRole('row').count()).toBe(4);
      await remembered.getByRole('button', { name: named('remembered.forgetNamed', 1), exact: true }).click();
      await remembered.getByRole('rowheader', { name: agent(1) }).waitFor({ state: 'detached' });
      await activity.getByText(t['event.remembered_browser_revoked']!, { exact: true }).first().waitFor();
      await button(tab, 'remembered.forgetAll').click();
      await remembered.getByText(t['remembered.none']!, { exact: true }).waitFor();
      expect(await button(tab, 'remembered.forgetAll').count()).toBe(0);

      // New recovery codes: asked first, then a step-up, then shown once.
      server.clock.advance(16 * 60_000);
      await button(tab, 'recovery.regenerate').click();
      const regenerate = topDialog(page);
      await regenerate.getByText(t['recovery.regenerateConfirm']!, { exact: true }).waitFor();
      await check('regenerate dialog');
      await regenerate.getByRole('button', { name: t['recovery.regenerate']!, exact: true }).click();
      await stepUpWith(secret);
      await topDialog(page).getByRole('heading', { name: t['recovery.saveTitle']!, level: 2 }).waitFor();
      const fresh = await page.locator('ol.codes code').allTextContents();
      expect(fresh).toHaveLength(10);
      expect(fresh).not.toContain(codes[1]);
      await check('new recovery codes');
      await page.getByLabel(t['recovery.saved']!, { exact: true }).check();
      await button(tab, 'common.done').click();
      await page.locator('dialog').waitFor({ state: 'detached' });
      await panel(tab, 'recovery.title').getByText(t['recovery.remaining']!.replace('{n}', '10'), { exact: true }).waitFor();
      await activity.getByText(t['event.recovery_codes_regenerated']!, { exact: true }).first().waitFor();

      // A new password: the two new ones must match; then a step-up; the other sessions end.
      const password = panel(tab, 'password.title');
      await password.getByLabel(t['password.current']!, { exact: true }).fill(STRONG_PASSWORD);
      await password.getByLabel(t['password.new']!, { exact: true }).fill('a rather different passphrase for today');
      await password.getByLabel(t['password.confirm']!, { exact: true }).fill('a rather different passphrase for tomorrow');
      await button(tab, 'password.submit').click();
      await password.getByRole('alert').getByText(t['password.mismatch']!, { exact: true }).waitFor();
      await password.getByLabel(t['password.confirm']!, { exact: true }).fill('a rather different passphrase for today');
      server.clock.advance(16 * 60_000);
      await button(tab, 'password.submit').click();
      await stepUpWith(secret);
      await page.getByRole('status').getByText(t['password.changed']!, { exact: true }).waitFor();
      expect(await password.getByLabel(t['password.current']!, { exact: true }).inputValue()).toBe('');
      await activity.getByText(t['event.password_changed']!, { exact: true }).first().waitFor();
      await sessions.getByRole('rowheader', { name: agent(2) }).waitFor({ state: 'detached' });
      expect(await sessions.getByRole('row').count()).toBe(2);
      await check('security after the changes');
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
