/**
 * Administration → Approvals under the two-person rule (MAMORI_ADMIN_APPROVALS=2) in a real
 * browser (Debian's Chromium through playwright-core; skipped with a message without it): one
 * administrator disables a user in English and reads that it waits; a second one, in Japanese,
 * approves it, the console asking for a fresh second factor first (hers is older than 15 minutes).
 */
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importUsers } from '../../src/flows/user-import.js';
import { base32Encode } from '../../src/methods/totp/otpauth.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { heading, openConsole, passwordStep, type Lang, type Tab } from '../helpers/console.js';
import { appCode } from '../helpers/otp.js';
import { STRONG_PASSWORD, startServer, type TestServer } from '../helpers/server.js';

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
      { email: 'bob@example.com', password: { format: 'argon2', hash } },
    ];
    // On the host, as `mamori user import` does: the HTTP import may not make administrators under the rule.
    await importUsers(server.services, Buffer.from(file.map((l) => JSON.stringify(l)).join('\n')), 'test', { ip: null, userAgent: 'test' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A code of the app in a time step no earlier sign-in used. */
  const code = (seed: string) => {
    server.clock.advance(30_000);
    return appCode(seed, server.clock.now());
  };

  async function adminPage(lang: Lang, who: keyof typeof seeds): Promise<Tab> {
    const tab = await openConsole(browser, server.config.publicUrl, lang);
    await passwordStep(tab, `${who}@example.com`);
    await heading(tab, 'signIn.mfaTitle').waitFor();
    const field = tab.page.getByLabel(tab.t['mfa.code']!, { exact: true });
    await field.fill(code(seeds[who]));
    await field.press('Enter');
    await heading(tab, 'security.title').waitFor();
    await tab.page.getByRole('link', { name: tab.t['nav.admin']!, exact: true }).click();
    await heading(tab, 'admin.title').waitFor();
    return tab;
  }

  it('a disable waits for a second administrator, who approves with a fresh second factor', async () => {
    const bob = (await server.services.users.findByEmail('bob@example.com'))!;
    const boss = await adminPage('en', 'boss');
    {
      const { page, t } = boss;
      await page.getByRole('button', { name: t['admin.disableNamed']!.replace('{email}', bob.email), exact: true }).click();
      await page.getByRole('dialog').getByRole('button', { name: t['admin.disable']!, exact: true }).click();
      await page.getByText(t['admin.approvalWaiting']!, { exact: true }).waitFor();
      expect((await server.services.users.findById(bob.id))!.disabled).toBe(0);
      const panel = page.getByRole('region', { name: t['admin.approvals']! });
      const request = t['admin.approval.disable']!.replace('{email}', bob.email);
      const row = panel.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(request) }) });
      await row.getByText(t['admin.approval.status.pending']!, { exact: true }).waitFor();
      await row.getByText(t['admin.approval.yours']!).waitFor();
      // Not hers to approve: no Approve button, only Cancel.
      expect(await row.getByRole('button', { name: t['admin.approveNamed']!.replace('{request}', request), exact: true }).count()).toBe(0);
      await row.getByRole('button', { name: t['admin.cancelRequestNamed']!.replace('{request}', request), exact: true }).waitFor();
      expect(boss.problems).toEqual([]);
    }

    const kei = await adminPage('ja', 'kei');
    const { page, t } = kei;
    const request = t['admin.approval.disable']!.replace('{email}', bob.email);
    const panel = page.getByRole('region', { name: t['admin.approvals']!, exact: true });
    await panel.getByRole('heading', { name: t['admin.approvals']!, exact: true }).waitFor();
    // Her second factor is from her sign-in, over 15 minutes ago by the time she approves.
    server.clock.advance(16 * 60_000);
    await panel.getByRole('button', { name: t['admin.approveNamed']!.replace('{request}', request), exact: true }).click();
    const confirm = page.getByRole('dialog', { name: t['admin.approveTitle']! });
    await confirm.getByRole('button', { name: t['admin.approve']!, exact: true }).click();
    const stepUp = page.getByRole('dialog', { name: t['stepUp.title']! });
    const field = stepUp.getByLabel(t['mfa.code']!, { exact: true });
    await field.fill(code(seeds.kei));
    await field.press('Enter');
    await page.getByText(t['admin.approved']!.replace('{request}', request), { exact: true }).waitFor();
    await panel.getByText(t['admin.approval.status.executed']!, { exact: true }).waitFor();
    expect((await server.services.users.findById(bob.id))!.disabled).toBe(1);
    expect(kei.problems).toEqual([]);
    await kei.context.close();
    await boss.context.close();
  });
});
