/**
 * A user's page in Administration (#/admin/user?id=…) in Chromium, in English and Japanese, at
 * 1280 and 360 px: details, a resent invitation (the mail read from the outbox, the old link
 * void), devices deactivated one and all, groups, role, disable and enable, sessions and recent
 * activity, every panel showing each act at once; and the prompt for a second factor when the
 * session has none.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, screenshot } from '../helpers/axe.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { adminAtAal2, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import type { Client } from '../helpers/client.js';
import { COMBOS, consoleAs, expectNoSideScroll, expectOnScreen, fill, invitationToken, rowOf, signInWithApp } from './console-admin-users.helpers.js';

if (browserSkipReason) process.stderr.write(`[console-admin-users-page] skipped: ${browserSkipReason}\n`);

describe.skipIf(browserSkipReason !== null)("console: a user's page in Administration (Chromium)", () => {
  let server: TestServer;
  let browser: Browser;
  let boss: Client;
  let bossSecret = '';

  beforeAll(async () => {
    server = await startServer();
    const admin = await adminAtAal2(server, 'boss@example.com');
    boss = admin.client;
    bossSecret = admin.app.secret;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(COMBOS)('details, invitation, devices, groups, role, disable, sessions and activity (%s, %i px)', async (lang, width) => {
    const tag = `${lang}${width}`;
    const ann = `ann.${tag}@example.com`;
    const cy = `cy.${tag}@example.com`;
    await createTestUser(server, ann);
    const annClient = await signIn(server, ann);
    for (const name of ['Phone', 'Tablet', 'Laptop']) await assignApp(server.clock, annClient, name);
    expect((await boss.post('/api/v1/admin/users', { email: cy, name: 'Cy' })).status).toBe(201);
    const firstLink = await invitationToken(server, cy);

    const tab = await consoleAs(browser, server, await signInWithApp(server, 'boss@example.com', bossSecret), lang, width, `/admin/users?q=${tag}`);
    const { page, t } = tab;
    try {
      await page.getByRole('link', { name: ann, exact: true }).click();
      const details = page.getByRole('region', { name: ann, exact: true });
      const devices = page.getByRole('region', { name: t['mfa.title']!, exact: true });
      const sessions = page.getByRole('region', { name: t['sessions.title']!, exact: true });
      const activity = page.getByRole('region', { name: t['activity.title']!, exact: true });
      await details.getByText(fill(t['admin.mfaCount']!, { n: 3 }), { exact: true }).waitFor();
      for (const name of ['Phone', 'Tablet', 'Laptop']) await rowOf(tab, name).waitFor();
      await sessions.getByRole('rowheader').first().waitFor();
      await activity.getByText(t['event.mfa_device_assigned']!, { exact: true }).first().waitFor();
      await expectAccessible(page, `user's page (${tag})`);
      await screenshot(page, 'admin-user', lang);
      const deactivatePhone = page.getByRole('button', { name: fill(t['admin.deactivateDeviceNamed']!, { name: 'Phone', email: ann }), exact: true });
      if (width === 360) {
        await expectNoSideScroll(tab, width, "user's page");
        await expectOnScreen(deactivatePhone, width);
      }

      // One device: asked, done, and the devices, the details and the activity say so at once.
      await deactivatePhone.click();
      const confirm = page.getByRole('dialog', { name: t['admin.deactivateTitle']! });
      await confirm.getByText(fill(t['admin.deactivateOneConfirm']!, { name: 'Phone', email: ann }), { exact: true }).waitFor();
      await expectAccessible(page, `deactivate one device (${tag})`);
      await confirm.getByRole('button', { name: t['admin.deactivateDevice']!, exact: true }).click();
      await page.getByText(fill(t['admin.deactivated']!, { email: ann }), { exact: true }).waitFor();
      await rowOf(tab, 'Phone').waitFor({ state: 'detached' });
      await details.getByText(fill(t['admin.mfaCount']!, { n: 2 }), { exact: true }).waitFor();
      await activity.getByText(t['event.mfa_device_deactivated']!, { exact: true }).waitFor();
      const annId = (await server.services.users.findByEmail(ann))!.id;
      expect((await server.services.devices.listActive(annId)).map((d) => d.name).sort()).toEqual(['Laptop', 'Tablet']);

      // Every device at once.
      await page.getByRole('button', { name: fill(t['admin.deactivateAllNamed']!, { email: ann }), exact: true }).click();
      const all = page.getByRole('dialog', { name: t['admin.deactivateAll']! });
      await all.getByText(fill(t['admin.deactivateAllConfirm']!, { email: ann, n: 2 }), { exact: true }).waitFor();
      await all.getByRole('button', { name: t['admin.deactivateAll']!, exact: true }).click();
      await page.getByText(fill(t['admin.deactivatedAll']!, { email: ann }), { exact: true }).waitFor();
      await devices.getByText(t['admin.devicesNone']!, { exact: true }).waitFor();
      await details.getByText(t['admin.mfaNone']!, { exact: true }).waitFor();
      expect(await server.services.devices.listActive(annId)).toHaveLength(0);

      // Groups: focus comes back to the button that opened the dialog.
      const editGroups = page.getByRole('button', { name: fill(t['admin.editGroupsNamed']!, { email: ann }), exact: true });
      await editGroups.click();
      const groups = page.getByRole('dialog', { name: fill(t['admin.groupsTitle']!, { email: ann }) });
      await groups.getByLabel(t['admin.col.groups']!).fill('ops, dev');
      await expectAccessible(page, `groups dialog (${tag})`);
      await groups.getByRole('button', { name: t['common.save']!, exact: true }).click();
      await groups.waitFor({ state: 'detached' });
      await details.getByText('ops', { exact: true }).waitFor();
      await expect.poll(() => editGroups.evaluate((el) => el === document.activeElement)).toBe(true);
      expect(await server.services.groups.of(annId)).toEqual(['dev', 'ops']);

      // Role: an administrator, then a user again.
      for (const role of ['admin', 'user'] as const) {
        await page.getByRole('button', { name: fill(t['admin.changeRoleNamed']!, { email: ann }), exact: true }).click();
        const dialog = page.getByRole('dialog', { name: fill(t['admin.roleTitle']!, { email: ann }) });
        // The radio's name is its title and its explanation: it starts with the role.
        await dialog.getByRole('radio', { name: new RegExp(`^${t[`admin.role.${role}`]!} `) }).check();
        if (role === 'admin') await expectAccessible(page, `role dialog (${tag})`);
        await dialog.getByRole('button', { name: t['common.save']!, exact: true }).click();
        await page.getByText(fill(t['admin.roleSaved']!, { email: ann, role: t[`admin.role.${role}`]! }), { exact: true }).waitFor();
        expect((await server.services.users.findById(annId))!.role).toBe(role);
      }

      // Disable: signed out everywhere (the sessions panel empties at once); then enabled again.
      await page.getByRole('button', { name: fill(t['admin.disableNamed']!, { email: ann }), exact: true }).click();
      await page.getByRole('dialog', { name: t['admin.disableTitle']! }).getByRole('button', { name: t['admin.disable']!, exact: true }).click();
      await details.getByText(t['admin.status.disabled']!, { exact: true }).waitFor();
      await sessions.getByText(t['admin.sessionsNone']!, { exact: true }).waitFor();
      expect((await annClient.get('/api/v1/session')).status).toBe(401);
      await page.getByRole('button', { name: fill(t['admin.enableNamed']!, { email: ann }), exact: true }).click();
      await page.getByRole('dialog', { name: t['admin.enableTitle']! }).getByRole('button', { name: t['admin.enable']!, exact: true }).click();
      await details.getByText(t['admin.status.active']!, { exact: true }).waitFor();
      await activity.getByText(t['event.user_updated']!, { exact: true }).first().waitFor();
      expect((await server.services.users.findById(annId))!.disabled).toBe(0);

      // Back to the list, the search kept; then the invited user's page: still invited, a new link resent.
      await page.goBack();
      await rowOf(tab, cy).waitFor();
      expect(await page.getByLabel(t['admin.search']!).inputValue()).toBe(tag);
      await page.getByRole('link', { name: cy, exact: true }).click();
      const cyPanel = page.getByRole('region', { name: cy, exact: true });
      await cyPanel.getByText(t['admin.status.invited']!, { exact: true }).waitFor();
      await expectAccessible(page, `invited user's page (${tag})`);
      await page.getByRole('button', { name: fill(t['admin.resendInvitationNamed']!, { email: cy }), exact: true }).click();
      await page.getByText(new RegExp(`^${fill(t['admin.invitationResent']!, { email: cy, date: 'DATE' }).replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('DATE', '.+')}$`)).waitFor();
      const secondLink = await invitationToken(server, cy);
      expect(secondLink).not.toBe(firstLink);
      expect((await server.client().post('/api/v1/invitations/accept', { token: firstLink, password: STRONG_PASSWORD })).body).toMatchObject({ code: 'invalid_code' });
      expect((await server.client().post('/api/v1/invitations/accept', { token: secondLink, password: STRONG_PASSWORD })).status).toBe(204);
      // She chose her password: the list calls her active.
      await page.getByRole('link', { name: t['admin.backToUsers']!, exact: true }).click();
      await rowOf(tab, cy).getByText(t['admin.status.active']!, { exact: true }).waitFor();

      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  it.each(COMBOS)('asks an administrator without a second factor in the session to give one (%s, %i px)', async (lang, width) => {
    const email = `lea.${lang}${width}@example.com`;
    await createTestUser(server, email, { role: 'admin' });
    const tab = await consoleAs(browser, server, await signIn(server, email), lang, width, '/admin/users');
    const { page, t } = tab;
    try {
      const gate = page.getByRole('status').filter({ hasText: t['admin.stepUpTitle']! });
      await gate.getByText(t['admin.stepUpText']!, { exact: true }).waitFor();
      await expectAccessible(page, `step-up needed (${lang}, ${width})`);
      await gate.getByRole('button', { name: t['admin.stepUpButton']!, exact: true }).click();
      // She has no MFA device yet: the dialog says so and leads to assigning one.
      const dialog = page.getByRole('dialog', { name: t['stepUp.title']! });
      await dialog.getByText(t['stepUp.noDevice']!, { exact: true }).waitFor();
      await expectAccessible(page, `step-up without a device (${lang}, ${width})`);
      if (width === 360) await expectNoSideScroll(tab, width, 'step-up needed');
      await dialog.getByRole('button', { name: t['common.close']!, exact: true }).click();
      await dialog.waitFor({ state: 'detached' });
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
