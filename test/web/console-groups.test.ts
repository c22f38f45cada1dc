/**
 * The console's users table shows each user's groups and lets an administrator change them, in a
 * real browser (Debian's Chromium through playwright-core; skipped with a message without it).
 * The administrator is an imported one: old bcrypt password, imported TOTP seed.
 */
import { randomBytes } from 'node:crypto';
import { hash as bcryptHash } from 'bcryptjs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importUsers } from '../../src/flows/user-import.js';
import { base32Encode } from '../../src/methods/totp/otpauth.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { button, heading, openConsole, passwordStep, type Lang, type Tab } from '../helpers/console.js';
import { appCode } from '../helpers/otp.js';
import { startServer, type TestServer } from '../helpers/server.js';

if (browserSkipReason) process.stderr.write(`[console-groups] skipped: ${browserSkipReason}\n`);

describe.skipIf(browserSkipReason !== null)('console: groups in the users table (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  const seed = base32Encode(randomBytes(20));

  beforeAll(async () => {
    server = await startServer();
    const hash = await bcryptHash('the old admin password', 4);
    const file = [
      { email: 'boss@example.com', role: 'admin', password: { format: 'bcrypt', hash }, totp: { secret: seed } },
      { email: 'bob@example.com', groups: ['staff'] },
    ];
    await importUsers(server.services, Buffer.from(file.map((l) => JSON.stringify(l)).join('\n')), 'test', { ip: null, userAgent: 'test' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function adminPage(lang: Lang): Promise<Tab> {
    const tab = await openConsole(browser, server.config.publicUrl, lang);
    await passwordStep(tab, 'boss@example.com', 'the old admin password');
    await heading(tab, 'signIn.mfaTitle').waitFor();
    server.clock.advance(30_000); // a step no earlier sign-in of this test used
    const code = tab.page.getByLabel(tab.t['mfa.code']!, { exact: true });
    await code.fill(appCode(seed, server.clock.now()));
    await code.press('Enter');
    await heading(tab, 'security.title').waitFor();
    await tab.page.getByRole('link', { name: tab.t['nav.admin']!, exact: true }).click();
    await heading(tab, 'admin.title').waitFor();
    return tab;
  }

  it('English: shows groups, refuses a bad name in the user\'s words, saves the new groups', async () => {
    const tab = await adminPage('en');
    const { page, t } = tab;
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /bob@example\.com/ }) });
    await page.getByRole('columnheader', { name: t['admin.col.groups']!, exact: true }).waitFor();
    await row.getByText('staff', { exact: true }).waitFor();
    await page.getByRole('button', { name: t['admin.editGroupsNamed']!.replace('{email}', 'bob@example.com'), exact: true }).click();
    const dialog = page.getByRole('dialog');
    // An optional field: its label reads "Groups (optional)".
    const input = dialog.getByLabel(t['admin.col.groups']!);
    expect(await input.inputValue()).toBe('staff');
    await input.fill('Ops Team');
    await button(tab, 'common.save').click();
    await dialog.getByText(t['admin.groupsInvalid']!).waitFor();
    await input.fill('ops, dev ,staff');
    await button(tab, 'common.save').click();
    await dialog.waitFor({ state: 'detached' });
    await row.getByText('ops', { exact: true }).waitFor();
    await row.getByText('dev', { exact: true }).waitFor();
    const id = (await server.services.users.findByEmail('bob@example.com'))!.id;
    expect(await server.services.groups.of(id)).toEqual(['dev', 'ops', 'staff']);
    expect(tab.problems).toEqual([]);
    await tab.context.close();
  });

  it('Japanese: the column, the button and "none" in Japanese', async () => {
    const tab = await adminPage('ja');
    const { page, t } = tab;
    await page.getByRole('columnheader', { name: t['admin.col.groups']!, exact: true }).waitFor();
    const bossRow = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /boss@example\.com/ }) });
    await bossRow.getByText(t['admin.groupsNone']!, { exact: true }).waitFor();
    await page.getByRole('button', { name: t['admin.editGroupsNamed']!.replace('{email}', 'boss@example.com'), exact: true }).waitFor();
    expect(tab.problems).toEqual([]);
    await tab.context.close();
  });
});
