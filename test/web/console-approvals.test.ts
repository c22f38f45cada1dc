/**
 * Administration → Approvals under the two-person rule (MAMORI_ADMIN_APPROVALS=2) in a real
 * browser (Debian's Chromium through playwright-core; skipped with a message without it), in
 * English and Japanese at 1280 and 360 px: one administrator disables a user and deactivates
 * another's device, and reads that both wait; a second one approves the first, the console asking
 * for a fresh second factor (hers is older than 15 minutes), and cancels the second.
 */
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importUsers } from '../../src/flows/user-import.js';
import { base32Encode } from '../../src/methods/totp/otpauth.js';
import { expectAccessible, screenshot } from '../helpers/axe.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import { COMBOS, consoleAs, expectNoSideScroll, expectOnScreen, fill, nextCode, rowOf, signInWithApp } from './console-admin-users.helpers.js';

if (browserSkipReason) process.stderr.write(`[console-approvals] skipped: ${browserSkipReason}\n`);

describe.skipIf(browserSkipReason !== null)('console: approvals under the two-person rule (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  const seeds = { boss: base32Encode(randomBytes(20)), kei: base32Encode(randomBytes(20)) };

  beforeAll(async () => {
    server = await startServer({ env: { MAMORI_ADMIN_APPROVALS: '2' } });
    const hash = await server.services.hasher.hash(STRONG_PASSWORD);
    const file = [
      { email: 'boss@example.com', role: 'admin', password: { format: 'argon2', hash }, totp: { secret: seeds.boss } },
      { email: 'kei@example.com', role: 'admin', password: { format: 'argon2', hash }, totp: { secret: seeds.kei } },
    ];
    // On the host, as `mamori user import` does: the HTTP import may not make administrators under the rule.
    await importUsers(server.services, Buffer.from(file.map((l) => JSON.stringify(l)).join('\n')), 'test', { ip: null, userAgent: 'test' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(COMBOS)('a disable and a device removal wait; a second administrator approves one with a fresh second factor and cancels the other (%s, %i px)', async (lang, width) => {
    const tag = `${lang}${width}`;
    const bob = await createTestUser(server, `bob.${tag}@example.com`);
    const carol = await createTestUser(server, `carol.${tag}@example.com`);
    await assignApp(server.clock, await signIn(server, carol.email), 'Phone');

    const bossClient = await signInWithApp(server, 'boss@example.com', seeds.boss);
    const boss = await consoleAs(browser, server, bossClient, lang, width, `/admin/users?q=${tag}`);
    try {
      const { page, t } = boss;
      await page.getByRole('button', { name: fill(t['admin.disableNamed']!, { email: bob.email }), exact: true }).click();
      await page.getByRole('dialog', { name: t['admin.disableTitle']! }).getByRole('button', { name: t['admin.disable']!, exact: true }).click();
      await page.getByText(t['admin.approvalWaiting']!, { exact: true }).waitFor();
      expect((await server.services.users.findById(bob.id))!.disabled).toBe(0);
      await rowOf(boss, bob.email).getByText(t['admin.status.active']!, { exact: true }).waitFor();

      // The device on carol's page: the request is named there, the device still listed.
      await page.getByRole('link', { name: carol.email, exact: true }).click();
      await page.getByRole('button', { name: fill(t['admin.deactivateDeviceNamed']!, { name: 'Phone', email: carol.email }), exact: true }).click();
      await page.getByRole('dialog', { name: t['admin.deactivateTitle']! }).getByRole('button', { name: t['admin.deactivateDevice']!, exact: true }).click();
      const deviceRequest = fill(t['admin.approval.remove_mfa_device']!, { email: carol.email, name: 'Phone' });
      const waiting = page.getByRole('status').filter({ hasText: t['admin.userWaiting']! });
      await waiting.getByText(deviceRequest, { exact: true }).waitFor();
      await rowOf(boss, 'Phone').waitFor();
      await expectAccessible(page, `a request waits on the user's page (${tag})`);

      // Approvals: hers to cancel, not to approve; the tab counts what waits.
      const tabs = page.getByRole('navigation', { name: t['admin.title']!, exact: true });
      // The last tab: it may go or gain its count once loaded, and must not move the others meanwhile.
      expect(await tabs.getByRole('link').last().textContent()).toMatch(new RegExp(`^${t['admin.approvals']!}`));
      await tabs.getByRole('link', { name: new RegExp(`^${t['admin.approvals']!}`) }).click();
      const disableRequest = fill(t['admin.approval.disable']!, { email: bob.email });
      const row = rowOf(boss, new RegExp(disableRequest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      await row.getByText(t['admin.approval.status.pending']!, { exact: true }).waitFor();
      await row.getByText(t['admin.approval.yours']!).waitFor();
      expect(await row.getByRole('button', { name: fill(t['admin.approveNamed']!, { request: disableRequest }), exact: true }).count()).toBe(0);
      await row.getByRole('button', { name: fill(t['admin.cancelRequestNamed']!, { request: disableRequest }), exact: true }).waitFor();
      const listed = await bossClient.get<{ approvals: { status: string }[] }>('/api/v1/admin/approvals');
      const pending = listed.body.approvals.filter((a) => a.status === 'pending').length;
      expect(pending).toBeGreaterThanOrEqual(2);
      await tabs.getByRole('link', { name: `${t['admin.approvals']!} ${fill(t['admin.approvalsPending']!, { n: pending })}`, exact: true }).waitFor();
      expect(boss.problems).toEqual([]);
    } finally {
      await boss.context.close();
    }

    const kei = await consoleAs(browser, server, await signInWithApp(server, 'kei@example.com', seeds.kei), lang, width, '/admin/approvals');
    try {
      const { page, t } = kei;
      const disableRequest = fill(t['admin.approval.disable']!, { email: bob.email });
      const deviceRequest = fill(t['admin.approval.remove_mfa_device']!, { email: carol.email, name: 'Phone' });
      const panel = page.getByRole('region', { name: t['admin.approvals']!, exact: true });
      const approveBob = panel.getByRole('button', { name: fill(t['admin.approveNamed']!, { request: disableRequest }), exact: true });
      await approveBob.waitFor();
      await expectAccessible(page, `approvals (${tag})`);
      await screenshot(page, 'admin-approvals', lang);
      if (width === 360) {
        await expectNoSideScroll(kei, width, 'approvals');
        await expectOnScreen(approveBob, width);
      }
      // Her second factor is from her sign-in, over 15 minutes ago by the time she approves.
      server.clock.advance(16 * 60_000);
      await approveBob.click();
      const confirm = page.getByRole('dialog', { name: t['admin.approveTitle']! });
      await confirm.getByText(fill(t['admin.approveConfirm']!, { request: disableRequest, email: 'boss@example.com' }), { exact: true }).waitFor();
      await expectAccessible(page, `approve? (${tag})`);
      await confirm.getByRole('button', { name: t['admin.approve']!, exact: true }).click();
      const stepUp = page.getByRole('dialog', { name: t['stepUp.title']! });
      const field = stepUp.getByLabel(t['mfa.code']!, { exact: true });
      await field.waitFor();
      await expectAccessible(page, `step-up before approving (${tag})`);
      await field.fill(nextCode(server, seeds.kei));
      await field.press('Enter');
      await page.getByText(fill(t['admin.approved']!, { request: disableRequest }), { exact: true }).waitFor();
      const done = rowOf(kei, new RegExp(disableRequest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      await done.getByText(t['admin.approval.status.executed']!, { exact: true }).waitFor();
      await done.getByText(new RegExp(`^${fill(t['admin.approval.approvedBy']!, { email: 'kei@example.com', date: 'X' }).split('X')[0]}`)).waitFor();
      expect((await server.services.users.findById(bob.id))!.disabled).toBe(1);

      // The device request: cancelled, nothing changed.
      await panel.getByRole('button', { name: fill(t['admin.cancelRequestNamed']!, { request: deviceRequest }), exact: true }).click();
      await page.getByRole('dialog', { name: t['admin.cancelRequestTitle']! }).getByRole('button', { name: t['admin.cancelRequest']!, exact: true }).click();
      await page.getByText(t['admin.requestCancelled']!, { exact: true }).waitFor();
      await rowOf(kei, deviceRequest).getByText(t['admin.approval.status.cancelled']!, { exact: true }).waitFor();
      expect(await server.services.devices.listActive(carol.id)).toHaveLength(1);
      await expectAccessible(page, `approvals after (${tag})`);
      expect(kei.problems).toEqual([]);
    } finally {
      await kei.context.close();
    }
  });
});
