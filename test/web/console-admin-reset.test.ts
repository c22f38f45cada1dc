import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { heading, openConsole, passwordStep } from '../helpers/console.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

/** Administration: a user who lost every device gets them all deactivated in one act, from the console. */
describe.skipIf(browserSkipReason !== null)('console: deactivate all MFA devices of a user', () => {
  let server: TestServer;
  let browser: Browser;
  let adminSecret = '';
  beforeAll(async () => {
    server = await startServer();
    browser = await launchChromium();
    await createTestUser(server, 'boss@example.com', { role: 'admin' });
    adminSecret = (await assignApp(server.clock, await signIn(server, 'boss@example.com'))).secret;
    await createTestUser(server, 'mika@example.com');
    const c = await signIn(server, 'mika@example.com');
    await assignApp(server.clock, c, 'Phone');
    await assignApp(server.clock, c, 'Tablet');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('ja: one act, the devices gone, one audit event, one mail', async () => {
    const tab = await openConsole(browser, server.config.publicUrl, 'ja');
    const { page, t } = tab;
    await passwordStep(tab, 'boss@example.com');
    await heading(tab, 'signIn.mfaTitle').waitFor();
    server.clock.advance(60_000);
    const code = page.getByLabel(t['mfa.code']!, { exact: true });
    await code.fill(appCode(adminSecret, server.clock.now()));
    await code.press('Enter');
    await heading(tab, 'security.title').waitFor();
    await page.getByRole('link', { name: t['nav.admin']!, exact: true }).click();
    await heading(tab, 'admin.title').waitFor();
    await page.getByRole('button', { name: t['admin.deactivateNamed']!.replace('{email}', 'mika@example.com'), exact: true }).click();
    // The list's dialog offers her two devices, and all of them at once; that asks once more.
    const choose = page.getByRole('dialog', { name: t['admin.deactivateTitle']! });
    await choose.getByRole('radio', { name: /^Phone/ }).waitFor();
    await choose.getByRole('button', { name: t['admin.deactivateAll']!, exact: true }).click();
    const confirm = page.getByRole('dialog', { name: t['admin.deactivateAll']! });
    await confirm.getByText(t['admin.deactivateAllConfirm']!.replace('{email}', 'mika@example.com').replace('{n}', '2'), { exact: true }).waitFor();
    await confirm.getByRole('button', { name: t['admin.deactivateAll']!, exact: true }).click();
    await choose.waitFor({ state: 'detached' });
    await page.getByText(t['admin.deactivatedAll']!.replace('{email}', 'mika@example.com')).first().waitFor();
    const user = (await server.services.users.findByEmail('mika@example.com'))!;
    expect(await server.services.devices.listActive(user.id)).toHaveLength(0);
    const events = await server.services.store.db.selectFrom('audit_events').select('type').where('type', '=', 'mfa_devices_deactivated_all').execute();
    expect(events).toHaveLength(1);
    expect((await server.outbox()).filter((m) => m.to === 'mika@example.com' && m.kind === 'mfa_devices_reset')).toHaveLength(1);
    expect(tab.problems).toEqual([]);
    await tab.context.close();
  });
});
