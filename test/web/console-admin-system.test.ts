/**
 * Administration → Applications, Hardware TOTP tokens and Audit log in Chromium, in English and
 * Japanese, at 1280 and 360 px: the step-up an administrator whose session has no second factor
 * proved in it is asked for; an application added (its secret shown once, copied, gone after), refused in words,
 * and deleted; encrypted PSKC files imported with their pre-shared key and passphrase, wrong keys
 * refused in the page's language, the inventory; the audit log newest first with its details in
 * words, filters, more pages, the JSON-lines export, and "Verify chain" on an intact and an
 * altered log. axe on every state. The sign-in is done over HTTP: its screens have tests of their own.
 */
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, screenshot } from '../helpers/axe.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import type { Tab } from '../helpers/console.js';
import { assignApp } from '../helpers/otp.js';
import { encryptedPskc } from '../helpers/pskc-file.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import { COMBOS, consoleAs, expectNoSideScroll, fill, nextCode, rowOf, signInWithApp, type Width } from './console-admin-users.helpers.js';

const PSK = 'a0b1c2d3e4f5061728394a5b6c7d8e9f';
const WRONG_PSK = 'ffeeddccbbaa99887766554433221100';
const PASSPHRASE = { en: 'correct-token-passphrase', ja: '合言葉はやまびこ' } as const;

describe.skipIf(browserSkipReason !== null)('Administration → Applications, Hardware tokens, Audit log in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    server = await startServer();
    browser = await launchChromium();
    for (const lang of ['en', 'ja']) {
      const email = `admin-${lang}@example.com`;
      await createTestUser(server, email, { role: 'admin' });
      secrets.set(email, (await assignApp(server.clock, await signIn(server, email))).secret);
    }
    await createTestUser(server, 'yui@example.com');
    // Enough events for a second page of the log (50 a page): Yui signs out of 60 sessions.
    const yui = (await server.services.users.findByEmail('yui@example.com'))!;
    for (let i = 0; i < 60; i++) await server.services.audit.append({ type: 'signed_out', userId: yui.id, ip: '198.51.100.7', detail: { sessionId: `s${i}` } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /**
   * An administrator's session at aal 2 whose second factor is not proved in it (administrators
   * are never remembered, so the state is made in the database: a session from before the rule,
   * say). Administration asks for a fresh one before it shows anything.
   */
  async function unprovedSession(email: string) {
    const c = await signInWithApp(server, email, secrets.get(email)!);
    const user = (await server.services.users.findByEmail(email))!;
    await server.services.store.db.updateTable('sessions').set({ mfa_verified_at: null }).where('user_id', '=', user.id).execute();
    expect((await c.get('/api/v1/admin/oidc-clients')).body).toMatchObject({ code: 'step_up_required' });
    return c;
  }

  /** Before a screenshot: the last confirmation has faded and no field has focus. */
  async function settled(tab: Tab) {
    if (process.env.MAMORI_SCREENSHOTS !== '1') return;
    await expect.poll(() => tab.page.locator('.toast').textContent(), { timeout: 10_000 }).toBe('');
    await tab.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  }

  /** The step-up: the panel says what is missing; its button asks for the code, which passes. */
  async function stepUp(tab: Tab, email: string, width: Width) {
    const { page, t } = tab;
    await page.getByText(t['admin.stepUpText']!).waitFor();
    await page.getByRole('button', { name: t['admin.stepUpButton']!, exact: true }).click();
    const dialog = page.getByRole('dialog', { name: t['stepUp.title']! });
    await dialog.waitFor();
    await expectAccessible(page, `step-up ${width}`);
    await dialog.getByLabel(t['mfa.code']!, { exact: true }).fill(nextCode(server, secrets.get(email)!));
    await dialog.getByRole('button', { name: t['common.verify']!, exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
  }

  async function applications(tab: Tab, lang: 'en' | 'ja', width: Width) {
    const { page, t } = tab;
    const name = `${lang === 'en' ? 'Grafana' : '請求コンソール'} ${width}`;
    await page.getByRole('heading', { name: t['admin.clients']!, level: 2 }).waitFor();
    const add = page.getByRole('button', { name: t['admin.clientCreate']!, exact: true });
    await add.click();
    const dialog = page.getByRole('dialog', { name: t['admin.clientCreate']! });
    await dialog.waitFor();
    await expectAccessible(page, `add application ${lang} ${width}`);
    await dialog.getByLabel(t['admin.clientName']!, { exact: true }).fill(name);
    const uris = dialog.getByLabel(t['admin.clientRedirectUris']!, { exact: true });
    // A mistake is named in the page's language, with the address that is wrong.
    await uris.fill('ftp://grafana.example.com/cb');
    await dialog.getByRole('button', { name: t['admin.clientAdd']!, exact: true }).click();
    await dialog.getByRole('alert').getByText(fill(t['admin.clientUriHttps']!, { uri: 'ftp://grafana.example.com/cb' })).waitFor();
    await expectAccessible(page, `add application refused ${lang} ${width}`);
    await uris.fill('https://grafana.example.com/login/generic_oauth\nhttps://grafana.example.com/cb2');
    await dialog.getByLabel(t['admin.clientLevel']!, { exact: true }).selectOption('urn:mamori:aal2');
    await dialog.getByLabel(t['admin.clientGroups']!).fill('ops, sre');
    await dialog.getByLabel(t['admin.clientThirdParty']!).check();
    await dialog.getByRole('button', { name: t['admin.clientAdd']!, exact: true }).click();
    const made = page.getByRole('dialog', { name: t['admin.clientCreated']! });
    await made.waitFor();
    const secret = (await made.locator('code.secret').textContent())!;
    expect(secret.length).toBeGreaterThanOrEqual(43);
    const client = (await server.services.oidcClients.list()).find((c) => c.name === name)!;
    expect(JSON.parse(client.redirect_uris)).toEqual(['https://grafana.example.com/login/generic_oauth', 'https://grafana.example.com/cb2']);
    expect([client.min_acr, JSON.parse(client.allowed_groups), client.third_party]).toEqual(['urn:mamori:aal2', ['ops', 'sre'], 1]);
    await made.getByText(client.id, { exact: true }).waitFor();
    await made.getByText(server.config.publicUrl, { exact: true }).waitFor();
    // Copy puts the secret itself on the clipboard.
    await made.getByRole('button', { name: t['admin.copySecret']!, exact: true }).click();
    await made.getByText(t['admin.copied']!).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await expectAccessible(page, `application added ${lang} ${width}`);
    await expectNoSideScroll(tab, width, 'the new secret');
    // Shown once: Escape does not lose it; Done closes it and focus is back on the opener.
    await page.keyboard.press('Escape');
    await made.waitFor();
    await made.getByRole('button', { name: t['common.done']!, exact: true }).click();
    await made.waitFor({ state: 'detached' });
    await expect.poll(() => add.evaluate((el) => el === document.activeElement)).toBe(true);
    const row = rowOf(tab, new RegExp(name));
    await row.getByText(t['admin.clientLevel.aal2']!).waitFor();
    await row.getByText('ops, sre').waitFor();
    await row.getByText(t['admin.clientKind.thirdParty']!).waitFor();
    expect(await page.content()).not.toContain(secret);
    await expectAccessible(page, `applications ${lang} ${width}`);
    await expectNoSideScroll(tab, width, 'applications');
    await settled(tab);
    await screenshot(page, 'admin-applications', lang);
    // Deleting asks first, in a dialog that names the application.
    await row.getByRole('button', { name: fill(t['admin.clientDeleteNamed']!, { name }), exact: true }).click();
    const confirm = page.getByRole('dialog', { name: fill(t['admin.clientDeleteTitle']!, { name }) });
    await confirm.waitFor();
    await expectAccessible(page, `delete application ${lang} ${width}`);
    await confirm.getByRole('button', { name: t['admin.clientDelete']!, exact: true }).click();
    await confirm.waitFor({ state: 'detached' });
    await row.waitFor({ state: 'detached' });
    await page.getByRole('status').getByText(fill(t['admin.clientDeleted']!, { name })).waitFor();
    expect(await server.services.oidcClients.find(client.id)).toBeUndefined();
    return client.id;
  }

  /** Submits one file with the fields given (the caller waits for the answer it expects). */
  async function importFile(tab: Tab, file: { name: string; xml: string }, keys: { key?: string; passphrase?: string }) {
    const { page, t } = tab;
    await page.getByLabel(t['admin.tokensFile']!).setInputFiles({ name: file.name, mimeType: 'application/pskc+xml', buffer: Buffer.from(file.xml) });
    await page.getByLabel(t['admin.tokensKey']!).fill(keys.key ?? '');
    await page.getByLabel(t['admin.tokensPassphrase']!).fill(keys.passphrase ?? '');
    await page.getByRole('button', { name: t['admin.tokensImport']!, exact: true }).click();
  }

  async function tokens(tab: Tab, lang: 'en' | 'ja', width: Width) {
    const { page, t } = tab;
    await page.getByRole('link', { name: t['admin.tokens']!, exact: true }).click();
    await page.getByRole('heading', { name: t['admin.tokensImportTitle']!, level: 2 }).waitFor();
    await expectAccessible(page, `tokens ${lang} ${width}`);
    const serial = (n: number) => `${lang.toUpperCase()}${width}-${n}`;
    const byKey = { name: 'vendor-psk.pskc', xml: encryptedPskc([{ serial: serial(1) }], { psk: Buffer.from(PSK, 'hex') }) };
    const alert = page.getByRole('alert');
    // No key for an encrypted file, a key that is not hex, a wrong key: each refused in words.
    await importFile(tab, byKey, {});
    await alert.getByText(t['problem.validation_failed.pskc_key_required']!).waitFor();
    await expectAccessible(page, `tokens: key required ${lang} ${width}`);
    await importFile(tab, byKey, { key: 'not a key' });
    await alert.getByText(t['admin.tokensKeyInvalid']!).waitFor();
    await importFile(tab, byKey, { key: WRONG_PSK });
    await alert.getByText(new RegExp(`${t['problem.validation_failed.pskc_decrypt_failed']}|${t['problem.validation_failed.pskc_mac_mismatch']}`)).waitFor();
    expect(await page.locator('main').textContent()).not.toMatch(/The PSKC file was refused|pskc_/);
    await expectAccessible(page, `tokens: wrong key ${lang} ${width}`);
    // The right key, written as vendors print it.
    await importFile(tab, byKey, { key: PSK.replace(/(..)(?!$)/g, '$1:').toUpperCase() });
    await page.getByText(fill(t['admin.tokensImported.one']!, { n: 1, skipped: 0 })).waitFor();
    // A passphrase file, its second serial already imported: the wrong passphrase, then the right one.
    const passphrase = PASSPHRASE[lang];
    const byPassphrase = { name: 'vendor-pbkdf2.xml', xml: encryptedPskc([{ serial: serial(2), digits: 8, period: 60 }, { serial: serial(1) }], { passphrase }) };
    await importFile(tab, byPassphrase, { passphrase: `${passphrase}!` });
    await alert.getByText(new RegExp(`${t['problem.validation_failed.pskc_decrypt_failed']}|${t['problem.validation_failed.pskc_mac_mismatch']}`)).waitFor();
    await importFile(tab, byPassphrase, { passphrase });
    await page.getByText(fill(t['admin.tokensImported.one']!, { n: 1, skipped: 1 })).waitFor();
    const skipped = page.getByRole('table', { name: t['admin.tokensSkipped']! });
    await rowOf(tab, serial(1)).filter({ has: page.getByText(t['admin.skip.duplicate_serial']!) }).waitFor();
    expect(await skipped.getByRole('row').count()).toBe(2);
    // The form forgets the passphrase once it is used.
    expect(await page.getByLabel(t['admin.tokensPassphrase']!).inputValue()).toBe('');
    // The inventory, refreshed: the two tokens with what they compute, not assigned.
    const inventory = page.getByRole('table', { name: t['admin.tokensInventory']! });
    const second = inventory.getByRole('row').filter({ has: page.getByRole('rowheader', { name: serial(2) }) });
    await second.getByText(t['admin.tokensKind.totp']!).waitFor();
    await second.getByText('HMAC-SHA-1').waitFor();
    // (On a phone a cell's name also holds its column's label, drawn before it.)
    await second.getByRole('cell').filter({ hasText: /^8$/ }).waitFor();
    await second.getByText(lang === 'en' ? '60 seconds' : '60 秒').waitFor();
    await second.getByText(t['admin.tokensUnassigned']!).waitFor();
    await page.getByLabel(t['admin.tokensSearch']!).fill(serial(2));
    await expect.poll(() => inventory.getByRole('row').count()).toBe(2);
    await page.getByLabel(t['admin.tokensSearch']!).fill('');
    await expectAccessible(page, `tokens imported ${lang} ${width}`);
    await expectNoSideScroll(tab, width, 'tokens');
    await settled(tab);
    await screenshot(page, 'admin-tokens', lang);
    const stored = await server.services.hardwareTokens.list();
    expect(stored.filter((x) => x.serial.startsWith(`${lang.toUpperCase()}${width}-`)).map((x) => [x.serial, x.digits, x.period])).toEqual(
      expect.arrayContaining([
        [serial(1), 6, 30],
        [serial(2), 8, 60],
      ]),
    );
  }

  async function audit(tab: Tab, lang: 'en' | 'ja', width: Width, clientId: string) {
    const { page, t } = tab;
    await page.getByRole('link', { name: t['admin.audit']!, exact: true }).click();
    const table = page.getByRole('table', { name: t['admin.audit']! });
    const rows = table.locator('tbody tr');
    await rows.first().waitFor();
    // Newest first: the import that just succeeded, its numbers in words.
    const newest = rows.first();
    await newest.getByRole('rowheader', { name: t['event.hardware_tokens_imported']! }).waitFor();
    await newest.locator('dt', { hasText: t['admin.auditField.imported']! }).waitFor();
    await newest.locator('dt', { hasText: t['admin.auditField.skipped']! }).waitFor();
    await newest.getByText(fill(t['admin.actorAdmin']!, { who: `admin-${lang}@example.com` })).waitFor();
    expect(await rows.count()).toBe(50);
    // Every event in words, never a raw type or JSON.
    for (const text of await table.locator('tbody th').allTextContents()) expect(text).not.toMatch(/^[a-z0-9_]+$/);
    expect(await table.textContent()).not.toMatch(/[{}"]/);
    await expectAccessible(page, `audit ${lang} ${width}`);
    await expectNoSideScroll(tab, width, 'audit');

    // The application's deletion names it; its creation, its level in words.
    const created = rows.filter({ has: page.getByRole('rowheader', { name: t['event.oidc_client_created']! }) }).filter({ hasText: clientId });
    await created.getByText(t['admin.clientLevel.aal2']!).waitFor();

    // Filter by event type: the refused imports, each reason in words.
    await page.getByLabel(t['admin.auditType']!).selectOption('hardware_tokens_import_failed');
    await page.getByRole('button', { name: t['admin.auditApply']!, exact: true }).click();
    await page.waitForURL(/type=hardware_tokens_import_failed/);
    const events = () => table.locator('tbody th').allTextContents();
    await expect.poll(async () => new Set(await events())).toEqual(new Set([t['event.hardware_tokens_import_failed']]));
    expect((await events()).length).toBeGreaterThanOrEqual(3);
    await rows.filter({ hasText: t['problem.validation_failed.pskc_key_required']! }).first().waitFor();
    // The chain checked as it stands (an altered one further on).
    const verify = page.getByRole('button', { name: t['admin.auditVerify']!, exact: true });
    const valid = page.getByRole('status').filter({ hasText: t['admin.auditValid']!.split('(')[0]!.trim() });
    await verify.click();
    await valid.waitFor();
    await expectAccessible(page, `audit filtered by type, chain intact ${lang} ${width}`);
    await expectNoSideScroll(tab, width, 'audit filtered');
    await settled(tab);
    await screenshot(page, 'admin-audit', lang);

    // Filter by user (by email), and load the older page.
    await page.getByLabel(t['admin.auditType']!).selectOption('');
    await page.getByLabel(t['admin.auditUser']!).fill('yui@example.com');
    await page.getByRole('button', { name: t['admin.auditApply']!, exact: true }).click();
    await page.waitForURL(/user=/);
    await expect.poll(() => rows.count()).toBe(50);
    await page.getByText(fill(t['admin.auditShownMore']!, { n: 50 })).waitFor();
    for (const text of await table.locator('tbody td:nth-child(3)').allTextContents()) expect(text).toBe('yui@example.com');
    await page.getByRole('button', { name: t['common.loadMore']!, exact: true }).click();
    await page.getByText(fill(t['admin.auditShown']!, { n: 61 })).waitFor();
    expect(await rows.count()).toBe(61);
    await expect.poll(() => page.evaluate(() => document.activeElement?.classList.contains('audit-count'))).toBe(true);
    await expectAccessible(page, `audit of a user, every page ${lang} ${width}`);

    // Export what the filter shows, as JSON lines (oldest first).
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: t['admin.auditExport']!, exact: true }).click()]);
    expect(download.suggestedFilename()).toMatch(/^audit-\d{4}-\d\d-\d\d\.jsonl$/);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; userId: string });
    expect(lines).toHaveLength(61);
    expect(lines[0]!.type).toBe('user_created');
    expect(new Set(lines.map((l) => l.userId)).size).toBe(1);

    // A time range after everything: nothing matches. Clearing shows the whole log again.
    await page.getByLabel(t['admin.auditUser']!).fill('');
    await page.getByLabel(t['admin.auditFrom']!).fill('2099-01-01T00:00');
    await page.getByRole('button', { name: t['admin.auditApply']!, exact: true }).click();
    await page.getByText(t['admin.auditNoMatch']!).waitFor();
    await page.getByLabel(t['admin.auditFrom']!).fill('2099-02-01T00:00');
    await page.getByLabel(t['admin.auditTo']!).fill('2099-01-01T00:00');
    await page.getByRole('button', { name: t['admin.auditApply']!, exact: true }).click();
    await page.getByRole('alert').getByText(t['admin.auditRangeBackwards']!).waitFor();
    await page.getByRole('button', { name: t['admin.auditClear']!, exact: true }).click();
    await expect.poll(() => rows.count()).toBe(50);

    // With one event altered in the database, the chain is broken at that event; put back, intact.
    const db = server.services.store.db;
    const victim = await db.selectFrom('audit_events').select(['id', 'detail']).where('type', '=', 'oidc_client_deleted').orderBy('id', 'desc').executeTakeFirstOrThrow();
    await db.updateTable('audit_events').set({ detail: JSON.stringify({ clientId: 'someone-else' }) }).where('id', '=', victim.id).execute();
    try {
      await verify.click();
      const broken = page.getByRole('alert').filter({ hasText: fill(t['admin.auditBroken']!, { id: victim.id, n: '' }).split('(')[0]!.trim() });
      await broken.waitFor();
      await broken.getByText(t['admin.auditBrokenAdvice']!).waitFor();
      await expectAccessible(page, `audit chain broken ${lang} ${width}`);
    } finally {
      await db.updateTable('audit_events').set({ detail: victim.detail }).where('id', '=', victim.id).execute();
    }
    await verify.click();
    await valid.waitFor();
  }

  for (const [lang, width] of COMBOS) {
    it(`${lang} at ${width} px: step-up, applications, hardware tokens and the audit log`, async () => {
      const email = `admin-${lang}@example.com`;
      const c = await unprovedSession(email);
      const tab = await consoleAs(browser, server, c, lang, width, '/admin/applications');
      await tab.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.config.publicUrl });
      await stepUp(tab, email, width);
      const clientId = await applications(tab, lang, width);
      await tokens(tab, lang, width);
      await audit(tab, lang, width, clientId);
      expect(tab.problems).toEqual([]);
      await tab.context.close();
    });
  }
});
