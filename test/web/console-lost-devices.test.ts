/**
 * Issue 10 in the console, in Chromium, through the UI only and in both languages: "I lost my
 * MFA devices" on the MFA step, the mailed link's page (#/recover), the cancel link's page
 * (#/recover/cancel), the banner in Security credentials with its Cancel button, and the warning
 * on the emailed-code step that completes a recovery.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { expectAccessible } from '../helpers/axe.js';
import { browserSkipReason, launchChromium, SAME_ORIGIN_PAGE } from '../helpers/browser.js';
import { button, heading, openConsole, passwordStep, type Lang, type Tab, inSuite } from '../helpers/console.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

describe.skipIf(browserSkipReason !== null)('lost MFA devices in the console', () => {
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

  /** The newest mail of `kind` to `email` in the development outbox (the link mail goes out after the answer). */
  async function mailed(email: string, kind: string, after = 0): Promise<string> {
    for (let i = 0; i < 200; i++) {
      const mails = (await server.outbox()).filter((m) => m.to === email && m.kind === kind);
      if (mails.length > after) return mails.at(-1)!.text;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no ${kind} mail to ${email}`);
  }
  const tokenIn = (text: string, re: RegExp) => re.exec(text)![1]!;

  async function enrolled(email: string): Promise<string> {
    await createTestUser(server, email);
    const c = await signIn(server, email);
    return (await assignApp(server.clock, c)).secret;
  }

  async function signInWithApp(tab: Tab, email: string, secret: string) {
    await passwordStep(tab, email);
    await heading(tab, 'signIn.mfaTitle').waitFor();
    server.clock.advance(61_000);
    await tab.page.getByLabel(tab.t['mfa.code']!, { exact: true }).fill(appCode(secret, server.clock.now()));
    await button(tab, 'common.verify').click();
    await heading(tab, 'security.title').waitFor();
  }

  /** axe on the screen as it is, and at a phone's width nothing that scrolls sideways. */
  async function check(page: Page, width: number, where: string) {
    await expectAccessible(page, `${where} at ${width} px`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), where).toBeLessThanOrEqual(width);
  }

  const combos = (['en', 'ja'] as Lang[]).flatMap((lang) => [1280, 360].map((width) => ({ lang, width }))).filter(({ lang, width }) => inSuite(lang, width));
  for (const { lang, width } of combos) {
    it(`${lang} ${width}px: asks for the link from the MFA step, starts and cancels the recovery, and warns before it completes`, async () => {
      const email = `console-lost-${lang}-${width}@example.com`;
      const secret = await enrolled(email);
      const owner = await openConsole(browser, origin, lang);
      const tab = await openConsole(browser, origin, lang);
      if (width !== 1280) await tab.page.setViewportSize({ width, height: 740 });
      try {
        // The owner is signed in elsewhere (before anything is asked: an MFA sign-in voids a recovery).
        await owner.page.goto(`${origin}/console/#/sign-in`);
        await signInWithApp(owner, email, secret);

        // The MFA step offers the way out; the address is filled in already.
        await tab.page.goto(`${origin}/console/#/sign-in`);
        await passwordStep(tab, email);
        await heading(tab, 'signIn.mfaTitle').waitFor();
        await tab.page.getByRole('link', { name: tab.t['lost.link']!, exact: true }).click();
        await heading(tab, 'lost.title').waitFor();
        await tab.page.getByText(tab.t['lost.how']!).waitFor();
        expect(await tab.page.getByLabel(tab.t['field.email']!).inputValue()).toBe(email);
        await check(tab.page, width, 'lost devices');
        await button(tab, 'lost.submit').click();
        await tab.page.getByText(tab.t['lost.sent']!.replace('{email}', email)).waitFor();
        await check(tab.page, width, 'sign-in after the link was asked for');

        // The mailed link: a click starts the 24-hour wait, and the token leaves the address bar.
        const link = tokenIn(await mailed(email, 'lost_devices_link'), /#\/recover\?token=([A-Za-z0-9_-]+)/);
        await tab.page.goto(`${origin}/console/#/recover?token=${link}`);
        await heading(tab, 'recover.title').waitFor();
        expect(tab.page.url()).toMatch(/#\/recover$/);
        await check(tab.page, width, 'recovery link');
        await button(tab, 'recover.submit').click();
        await tab.page.getByText(tab.t['recover.started']!.split('{time}')[0]!.trim()).waitFor();
        await check(tab.page, width, 'recovery started');
        // The link works once.
        await tab.page.goto(`${origin}/console/#/recover?token=${link}`);
        await button(tab, 'recover.submit').click();
        await tab.page.getByRole('alert').getByText(tab.t['recover.invalid']!).waitFor();
        await check(tab.page, width, 'recovery link used already');

        // The owner's Security credentials show it, and Cancel ends it.
        await owner.page.reload();
        await owner.page.getByText(owner.t['recovery.bannerTitle']!).waitFor();
        await owner.page.getByText(owner.t['recovery.notYou']!).waitFor();
        await button(owner, 'recovery.cancel').click();
        await owner.page.getByText(owner.t['recovery.bannerTitle']!).waitFor({ state: 'detached' });
        expect((await server.outbox()).filter((m) => m.to === email && m.kind === 'recovery_cancelled')).toHaveLength(1);

        // Again, cancelled this time from the mail's cancel link.
        await tab.page.goto(`${origin}/console/#/lost-devices`);
        await heading(tab, 'lost.title').waitFor();
        await tab.page.getByLabel(tab.t['field.email']!).fill(email);
        await button(tab, 'lost.submit').click();
        await heading(tab, 'signIn.title').waitFor();
        const second = tokenIn(await mailed(email, 'lost_devices_link', 1), /#\/recover\?token=([A-Za-z0-9_-]+)/);
        await tab.page.goto(`${origin}/console/#/recover?token=${second}`);
        await button(tab, 'recover.submit').click();
        await tab.page.getByText(tab.t['recover.started']!.split('{time}')[0]!.trim()).waitFor();
        const cancel = tokenIn(await mailed(email, 'recovery_started', 1), /#\/recover\/cancel\?token=([A-Za-z0-9_-]+)/);
        await tab.page.goto(`${origin}/console/#/recover/cancel?token=${cancel}`);
        await heading(tab, 'recoverCancel.title').waitFor();
        expect(tab.page.url()).toMatch(/#\/recover-cancel$/);
        await check(tab.page, width, 'cancel link');
        await button(tab, 'recoverCancel.submit').click();
        await tab.page.getByText(tab.t['recoverCancel.done']!).waitFor();
        await check(tab.page, width, 'recovery cancelled');
        // Opened again without its token (a new page load): it says the link is incomplete.
        await tab.page.goto(`${origin}${SAME_ORIGIN_PAGE}`);
        await tab.page.goto(`${origin}/console/#/recover-cancel`);
        await tab.page.getByText(tab.t['recover.missing']!).waitFor();

        // A third time, left to run its 24 hours: the emailed-code step warns, then the session may only assign a device.
        await tab.page.goto(`${origin}/console/#/lost-devices`);
        await tab.page.getByLabel(tab.t['field.email']!).fill(email);
        await button(tab, 'lost.submit').click();
        await heading(tab, 'signIn.title').waitFor();
        const third = tokenIn(await mailed(email, 'lost_devices_link', 2), /#\/recover\?token=([A-Za-z0-9_-]+)/);
        await tab.page.goto(`${origin}/console/#/recover?token=${third}`);
        await button(tab, 'recover.submit').click();
        await tab.page.getByText(tab.t['recover.started']!.split('{time}')[0]!.trim()).waitFor();
        server.clock.advance(24 * 3_600_000 + 1000);
        await tab.page.goto(`${origin}/console/#/sign-in`);
        await passwordStep(tab, email);
        await heading(tab, 'signIn.emailCodeTitle').waitFor();
        await tab.page.getByText(tab.t['signIn.recoveryTitle']!).waitFor();
        await check(tab.page, width, 'emailed code that completes a recovery');
        // An owner who still holds the device may use it in this sign-in instead (the server then voids the recovery).
        await button(tab, 'signIn.recoveryUseDevice').click();
        await heading(tab, 'signIn.mfaTitle').waitFor();
        await check(tab.page, width, 'the device instead of the recovery code');
        // This one has not got it: back to the start, and the code this time.
        await button(tab, 'signIn.startOver').click();
        await passwordStep(tab, email);
        await tab.page.getByText(tab.t['signIn.recoveryTitle']!).waitFor();
        await tab.page.getByLabel(tab.t['signIn.emailCode']!).fill(await server.lastCode(email));
        await button(tab, 'common.verify').click();
        await heading(tab, 'security.title').waitFor();
        await tab.page.getByText(tab.t['security.mfaRequiredTitle']!).waitFor();
        expect(tab.problems).toEqual([]);
        expect(owner.problems).toEqual([]);
      } finally {
        await tab.context.close();
        await owner.context.close();
      }
    });
  }
});
