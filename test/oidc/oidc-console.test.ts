import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, screenshot } from '../helpers/axe.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { button, heading, openConsole, passwordStep, type Lang, type Tab, inSuite } from '../helpers/console.js';
import { exchange, registerRp, startAuthorization } from '../helpers/oidc.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

/** The console's parts of OpenID Connect, in Chromium: Administration → Applications, and consent. */
describe.skipIf(browserSkipReason !== null)('OpenID Connect in the console', () => {
  let server: TestServer;
  let browser: Browser;
  let appServer: Server;
  let appOrigin = '';
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    server = await startServer();
    browser = await launchChromium();
    appServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('back at the application'));
    await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', r));
    appOrigin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
    for (const email of ['admin-en@example.com', 'admin-ja@example.com']) {
      await createTestUser(server, email, { role: 'admin' });
      secrets.set(email, (await assignApp(server.clock, await signIn(server, email))).secret);
    }
    await createTestUser(server, 'yui@example.com');
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => appServer?.close(r));
    await server?.close();
  });

  async function signInAdmin(lang: Lang, email: string): Promise<Tab> {
    const tab = await openConsole(browser, server.config.publicUrl, lang);
    await passwordStep(tab, email);
    await heading(tab, 'signIn.mfaTitle').waitFor();
    server.clock.advance(60_000);
    const code = tab.page.getByLabel(tab.t['mfa.code']!, { exact: true });
    await code.fill(appCode(secrets.get(email)!, server.clock.now()));
    await code.press('Enter');
    await heading(tab, 'security.title').waitFor();
    await tab.page.getByRole('link', { name: tab.t['nav.admin']!, exact: true }).click();
    await heading(tab, 'admin.title').waitFor();
    return tab;
  }

  for (const lang of ['en', 'ja'] as const) {
    it(`${lang}: an administrator adds an application, sees its secret once, and deletes it`, async () => {
      const tab = await signInAdmin(lang, `admin-${lang}@example.com`);
      const { page, t } = tab;
      await page.getByRole('link', { name: t['admin.clients']!, exact: true }).click();
      await page.getByRole('heading', { name: t['admin.clients']!, level: 2 }).waitFor();
      const name = lang === 'en' ? 'Grafana' : '請求コンソール';
      await button(tab, 'admin.clientCreate').click();
      const dialog = page.getByRole('dialog', { name: t['admin.clientCreate']! });
      await dialog.getByLabel(t['admin.clientName']!, { exact: true }).fill(name);
      await dialog.getByLabel(t['admin.clientRedirectUris']!, { exact: true }).fill('https://grafana.example.com/login/generic_oauth\nhttps://grafana.example.com/cb2');
      await dialog.getByLabel(t['admin.clientLevel']!).selectOption('urn:mamori:aal2');
      await dialog.getByLabel(t['admin.clientGroups']!).fill('ops, sre');
      await dialog.getByRole('button', { name: t['admin.clientAdd']!, exact: true }).click();
      const made = page.getByRole('dialog', { name: t['admin.clientCreated']! });
      const secret = (await made.locator('code.secret').textContent())!;
      expect(secret.length).toBeGreaterThanOrEqual(43);
      const [client] = (await server.services.oidcClients.list()).filter((c) => c.name === name);
      expect(client).toBeDefined();
      expect(JSON.parse(client!.redirect_uris)).toEqual(['https://grafana.example.com/login/generic_oauth', 'https://grafana.example.com/cb2']);
      expect(client!.min_acr).toBe('urn:mamori:aal2');
      expect(JSON.parse(client!.allowed_groups)).toEqual(['ops', 'sre']);
      await made.getByText(client!.id, { exact: true }).waitFor();
      await made.getByRole('button', { name: t['common.done']!, exact: true }).click();
      const rows = () => page.getByRole('table', { name: t['admin.clientsList']! }).getByRole('row').filter({ hasText: name });
      const row = rows();
      await row.getByText(t['admin.clientLevel.aal2']!).waitFor();
      // The secret is not in the list, and not there after a reload.
      expect(await page.content()).not.toContain(secret);
      await page.reload();
      await heading(tab, 'admin.title').waitFor();
      await rows().waitFor();
      expect(await page.content()).not.toContain(secret);

      await page.getByRole('button', { name: t['admin.clientDeleteNamed']!.replace('{name}', name), exact: true }).click();
      await page.getByRole('dialog', { name: t['admin.clientDeleteTitle']!.replace('{name}', name) }).getByRole('button', { name: t['admin.clientDelete']!, exact: true }).click();
      await rows().waitFor({ state: 'detached' });
      expect(await server.services.oidcClients.find(client!.id)).toBeUndefined();
      expect(tab.problems).toEqual([]);
      await tab.context.close();
    });
  }

  it('a third-party application: the console asks for consent in words; Allow returns a code, Deny an error (en, ja; 1280, 360 px)', async () => {
    const rp = await registerRp(server, { thirdParty: true, name: 'Partner portal', redirectUris: [`${appOrigin}/cb`] });
    for (const lang of ['en', 'ja'] as const) {
      for (const width of [1280, 360].filter((w) => inSuite(lang, w))) {
        const email = `consent-${lang}-${width}@example.com`;
        await createTestUser(server, email);
        const tab = await openConsole(browser, server.config.publicUrl, lang);
        if (width !== 1280) await tab.page.setViewportSize({ width, height: 740 });
        const { page, t } = tab;
        try {
          const started = await startAuthorization(rp);
          await page.goto(started.url.href);
          // Not signed in: the sign-in screen first, then consent.
          await passwordStep(tab, email);
          await heading(tab, 'signIn.emailCodeTitle').waitFor();
          await page.getByLabel(t['signIn.emailCode']!).fill(await server.lastCode(email));
          await button(tab, 'common.verify').click();
          await heading(tab, 'consent.title').waitFor();
          await page.getByText(t['consent.lead']!.replace('{client}', 'Partner portal')).waitFor();
          // Each scope in words; `openid` is the sign-in itself (and the provider keeps offline_access out of this request).
          const scopes = await page.locator('.consent-scopes li').allTextContents();
          expect(scopes).toEqual(['email', 'profile', 'groups'].map((sc) => t[`consent.scope.${sc}`]!));
          await expectAccessible(page, `consent ${lang} ${width}`);
          expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
          await screenshot(page, 'consent', lang);
          const allow = width === 1280;
          await button(tab, allow ? 'consent.allow' : 'consent.deny').click();
          await page.waitForURL((u) => u.origin === appOrigin);
          if (allow) {
            const claims = (await exchange(rp, started, { kind: 'callback', url: new URL(page.url()) })).claims()!;
            expect(claims.email).toBe(email);
          } else {
            expect(new URL(page.url()).searchParams.get('error')).toBe('access_denied');
          }
          // A request that is gone: the page says so instead of asking.
          await page.goto(`${server.config.publicUrl}/console/#/consent?uid=gone-${lang}${width}`);
          await page.getByRole('alert').getByText(t['consent.expired']!).waitFor();
          await expectAccessible(page, `consent expired ${lang} ${width}`);
          expect(tab.problems).toEqual([]);
        } finally {
          await tab.context.close();
        }
      }
    }
  });
});
