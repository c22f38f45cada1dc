/**
 * Administration → Users and a user's page in Chromium, in English and Japanese, at 1280 and
 * 360 px: search and the MFA filter (no MFA first), statuses in words, adding a user with a
 * password and by invitation (the mail read from the outbox), resending an invitation, and a
 * user's page with their devices, sessions and activity, each act reflected at once everywhere.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, screenshot } from '../helpers/axe.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { adminAtAal2, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import { COMBOS, consoleAs, expectNoSideScroll, expectOnScreen, fill, invitationToken, lockByWrongCodes, rowOf, signInWithApp } from './console-admin-users.helpers.js';

if (browserSkipReason) process.stderr.write(`[console-admin-users] skipped: ${browserSkipReason}\n`);

describe.skipIf(browserSkipReason !== null)('console: Administration → Users (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let bossSecret = '';

  beforeAll(async () => {
    server = await startServer();
    bossSecret = (await adminAtAal2(server, 'boss@example.com')).app.secret;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(COMBOS)('the list: search, MFA filter, statuses, add and invite a user (%s, %i px)', async (lang, width) => {
    const tag = `${lang}${width}`;
    const ann = `ann.${tag}@example.com`;
    await createTestUser(server, ann);
    await assignApp(server.clock, await signIn(server, ann));
    await createTestUser(server, `bob.${tag}@example.com`);
    await createTestUser(server, `dan.${tag}@example.com`);
    await lockByWrongCodes(server, `dan.${tag}@example.com`, (await assignApp(server.clock, await signIn(server, `dan.${tag}@example.com`))).secret);

    const tab = await consoleAs(browser, server, await signInWithApp(server, 'boss@example.com', bossSecret), lang, width, '/admin/users');
    const { page, t } = tab;
    try {
      await rowOf(tab, ann).waitFor();
      await page.getByLabel(t['admin.search']!).fill(`.${tag}@`);
      await page.getByText(fill(t['admin.usersShown']!, { n: 3, total: (await server.services.users.list()).length }), { exact: true }).waitFor();
      // Users without an MFA device first, then by email; the search is in the address for Back.
      const order = await page.getByRole('rowheader').allInnerTexts();
      expect(order.map((s) => s.split('\n')[0])).toEqual([`bob.${tag}@example.com`, ann, `dan.${tag}@example.com`]);
      expect(decodeURIComponent(page.url())).toContain(`q=.${tag}@`);
      await page.getByRole('heading', { level: 1 }).focus();
      await screenshot(page, 'admin-users', lang);
      await rowOf(tab, `dan.${tag}@example.com`).getByText(t['admin.status.locked']!, { exact: true }).waitFor();
      await rowOf(tab, `bob.${tag}@example.com`).getByText(t['admin.status.active']!, { exact: true }).waitFor();
      await rowOf(tab, `bob.${tag}@example.com`).getByText(t['admin.mfaNone']!, { exact: true }).waitFor();
      await rowOf(tab, ann).getByText(fill(t['admin.mfaCount.one']!, { n: 1 }), { exact: true }).waitFor();

      const filter = page.getByLabel(t['admin.mfaFilter']!);
      await filter.selectOption('some');
      await page.getByText(fill(t['admin.usersShown']!, { n: 2, total: (await server.services.users.list()).length }), { exact: true }).waitFor();
      expect(await rowOf(tab, `bob.${tag}@example.com`).count()).toBe(0);
      await filter.selectOption('none');
      await rowOf(tab, `bob.${tag}@example.com`).waitFor();
      expect(await page.getByRole('rowheader').count()).toBe(1);
      await expectAccessible(page, `users list, filtered (${tag})`);
      await filter.selectOption('all');
      if (width === 360) {
        await expectNoSideScroll(tab, width, 'users list');
        await expectOnScreen(rowOf(tab, `dan.${tag}@example.com`).getByRole('button', { name: fill(t['admin.unlockNamed']!, { email: `dan.${tag}@example.com` }), exact: true }), width);
      }
      await page.getByLabel(t['admin.search']!).fill('');

      // Unlock from the list: the row says so at once.
      await page.getByRole('button', { name: fill(t['admin.unlockNamed']!, { email: `dan.${tag}@example.com` }), exact: true }).click();
      const unlock = page.getByRole('dialog', { name: t['admin.unlockTitle']! });
      await unlock.getByText(fill(t['admin.unlockConfirm']!, { email: `dan.${tag}@example.com` }), { exact: true }).waitFor();
      await expectAccessible(page, `unlock dialog (${tag})`);
      await unlock.getByRole('button', { name: t['admin.unlock']!, exact: true }).click();
      await page.getByText(fill(t['admin.unlocked']!, { email: `dan.${tag}@example.com` }), { exact: true }).waitFor();
      await rowOf(tab, `dan.${tag}@example.com`).getByText(t['admin.status.locked']!, { exact: true }).waitFor({ state: 'detached' });
      expect((await server.services.regulator.lockedUsers()).has((await server.services.users.findByEmail(`dan.${tag}@example.com`))!.id)).toBe(false);

      // Deactivate from the list: the user's devices to choose from; Escape closes, focus goes back.
      const deactivate = page.getByRole('button', { name: fill(t['admin.deactivateNamed']!, { email: ann }), exact: true });
      await deactivate.click();
      const choose = page.getByRole('dialog', { name: t['admin.deactivateTitle']! });
      await choose.getByRole('radio', { name: /^Phone/ }).waitFor();
      await expectAccessible(page, `deactivate dialog (${tag})`);
      await page.keyboard.press('Escape');
      await choose.waitFor({ state: 'detached' });
      await expect.poll(() => deactivate.evaluate((el) => el === document.activeElement)).toBe(true);

      // Add user, invited by email (the default): the invitation arrives, the row says "Invited".
      const add = page.getByRole('button', { name: t['admin.addUser']!, exact: true });
      await add.click();
      const dialog = page.getByRole('dialog', { name: t['admin.addUser']! });
      await dialog.getByLabel(t['field.email']!).fill(`cy.${tag}@example.com`);
      await dialog.getByLabel(t['field.name']!).fill('Cy Invited');
      await expectAccessible(page, `add user dialog (${tag})`);
      if (width === 360) await expectNoSideScroll(tab, width, 'add user dialog');
      await dialog.getByRole('button', { name: t['admin.addAndInvite']!, exact: true }).click();
      await page.getByText(fill(t['admin.userInvited']!, { email: `cy.${tag}@example.com` }), { exact: true }).waitFor();
      await dialog.waitFor({ state: 'detached' });
      await expect.poll(() => add.evaluate((el) => el === document.activeElement)).toBe(true);
      await rowOf(tab, `cy.${tag}@example.com`).getByText(t['admin.status.invited']!, { exact: true }).waitFor();
      await invitationToken(server, `cy.${tag}@example.com`);

      // Add user with a password set now: they can sign in with it at once.
      await add.click();
      await dialog.getByLabel(t['field.email']!).fill(`dee.${tag}@example.com`);
      await dialog.getByLabel(t['admin.passwordSet']!).check();
      const password = dialog.getByLabel(t['field.password']!, { exact: true });
      await password.fill('short');
      await dialog.getByRole('button', { name: t['admin.addUser']!, exact: true }).click();
      // The browser refuses a password under 15 characters, in the page's language.
      expect(await password.evaluate((el: HTMLInputElement) => el.validationMessage)).toBe(fill(t['validation.tooShort']!, { n: 15 }));
      await password.fill(STRONG_PASSWORD);
      await dialog.getByRole('button', { name: t['admin.addUser']!, exact: true }).click();
      await page.getByText(fill(t['admin.userAdded']!, { email: `dee.${tag}@example.com` }), { exact: true }).waitFor();
      await rowOf(tab, `dee.${tag}@example.com`).getByText(t['admin.status.active']!, { exact: true }).waitFor();
      expect((await server.client().post('/api/v1/sign-in', { email: `dee.${tag}@example.com`, password: STRONG_PASSWORD })).status).toBe(200);

      // The same address twice: refused in the reader's language, the dialog stays open.
      await add.click();
      await dialog.getByLabel(t['field.email']!).fill(`dee.${tag}@example.com`);
      await dialog.getByRole('button', { name: t['admin.addAndInvite']!, exact: true }).click();
      await dialog.getByRole('alert').getByText(t['problem.email_taken']!, { exact: true }).waitFor();
      await expectAccessible(page, `add user refused (${tag})`);
      await dialog.getByRole('button', { name: t['common.cancel']!, exact: true }).click();

      // The credential report: a CSV with a row for each user.
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: t['admin.reportDownload']!, exact: true }).click();
      const csv = await (await download).createReadStream().then(async (s) => {
        let text = '';
        for await (const chunk of s) text += String(chunk);
        return text;
      });
      expect(csv.split('\n')[0]).toMatch(/^email,/);
      expect(csv).toContain(`cy.${tag}@example.com`);
      await page.getByText(t['admin.reportSaved']!, { exact: true }).waitFor();

      // The two-person rule is off here: no Approvals tab, and its address says why it is empty.
      const tabs = page.getByRole('navigation', { name: t['admin.title']!, exact: true });
      expect(await tabs.getByRole('link', { name: t['admin.approvals']! }).count()).toBe(0);
      await page.goto(`${server.config.publicUrl}/console/#/admin/approvals`);
      await page.getByText(t['admin.approvalsOff']!, { exact: true }).waitFor();
      await page.getByText(t['admin.approvalsNone']!, { exact: true }).waitFor();
      await tabs.getByRole('link', { name: t['admin.approvals']!, exact: true }).waitFor();
      await expectAccessible(page, `approvals while the rule is off (${tag})`);
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
