import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, browserSkipReason, createCredential, getAssertion, launchChromium, pageWithAuthenticator, SAME_ORIGIN_PAGE } from '../helpers/browser.js';
import { dict } from '../helpers/console.js';
import { createServer, type Server } from 'node:http';
import { databases } from '../helpers/db.js';
import type { AddressInfo } from 'node:net';
import { exchange, registerRp, startAuthorization, type Landing } from '../helpers/oidc.js';
import { appCode } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import { assignApp } from '../helpers/otp.js';
import type { Page } from 'playwright-core';

/**
 * A client whose minimum is `urn:mamori:phr` (phishing-resistant), in real Chromium with a CDP
 * virtual authenticator: the console is the sign-in screen of the OpenID Connect flow; a
 * TOTP-only user is refused, the same user with a passkey gets in.
 */
describe.skipIf(browserSkipReason !== null).each(databases)('OpenID Connect with a phishing-resistant minimum, in Chromium ($name)', ({ name, skip }) => {
  let server: TestServer;
  /** On PostgreSQL a second instance serves the application's token requests. */
  let second: TestServer | undefined;
  let browser: Browser;
  /** The application: a real HTTP server whose callback page the browser lands on. */
  let appServer: Server;
  const app = { origin: '' };

  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
    if (name === 'postgres') second = await startServer({ shareWith: server, env: { MAMORI_PUBLIC_URL: server.config.publicUrl } });
    browser = await launchChromium();
    appServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('back at the application'));
    await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', r));
    app.origin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => appServer?.close(r));
    await second?.close();
    await server?.close();
  });

  /** Navigates the page to `url` and reports where the browser ends up: the application's callback or a console screen. */
  async function navigate(page: Page, url: URL | string): Promise<Landing> {
    await page.goto(String(url));
    await page.waitForLoadState('networkidle');
    const u = new URL(page.url());
    if (u.origin === app.origin) return { kind: 'callback', url: u };
    const q = u.hash.indexOf('?');
    return { kind: 'console', route: u.hash.slice(1, q >= 0 ? q : undefined), params: new URLSearchParams(q >= 0 ? u.hash.slice(q + 1) : '') };
  }

  it.skipIf(skip)('refuses a TOTP-only user with unmet_authentication_requirements and accepts after a passkey', async () => {
    const t = dict.en;
    const rp = await registerRp(server, { minAcr: 'urn:mamori:phr', name: 'Billing console', redirectUris: [`${app.origin}/cb`] }, second ?? server);
    await createTestUser(server, 'hana@example.com');
    const setup = await signIn(server, 'hana@example.com');
    const phone = await assignApp(server.clock, setup);

    const tab = await pageWithAuthenticator(browser, server.config.publicUrl, 'passkey');
    const { page } = tab;
    await page.context().setExtraHTTPHeaders({ 'accept-language': 'en' });

    // No session: the console's sign-in screen, with the way back in rd.
    const started = await startAuthorization(rp);
    const toSignIn = await navigate(page, started.url);
    expect(toSignIn).toMatchObject({ kind: 'console', route: '/sign-in' });

    // Sign in through the console as a person would: password, then the authenticator app.
    await page.getByLabel(t['field.email']!).fill('hana@example.com');
    await page.getByLabel(t['field.password']!, { exact: true }).fill(STRONG_PASSWORD);
    server.clock.advance(60_000);
    // What the browser was answered, for the message when it does not come back.
    const seen: string[] = [];
    page.on('response', (r) => seen.push(`${r.status()} ${r.request().method()} ${r.url().replace(server.config.publicUrl, '')}`));
    await page.getByLabel(t['field.password']!, { exact: true }).press('Enter');
    const codeBox = page.getByLabel(t['mfa.code']!, { exact: true });
    await codeBox.waitFor();
    await codeBox.fill(appCode(phone.secret, server.clock.now()));
    await codeBox.press('Enter');
    await page.waitForURL((u) => u.origin === app.origin, { timeout: 10_000 }).catch((err: unknown) => {
      throw new Error(`${String(err).slice(0, 80)}; the browser saw ${seen.join(', ')}`);
    });
    const refused = new URL(page.url());
    expect(refused.searchParams.get('error')).toBe('unmet_authentication_requirements');
    expect(refused.searchParams.get('error_description')).toMatch(/passkey or security key/);
    expect(refused.searchParams.get('code')).toBeNull();

    // Back on Mamori, the user assigns a passkey (the assignment itself proves it, so the session is now phishing-resistant).
    await page.goto(`${server.config.publicUrl}${SAME_ORIGIN_PAGE}`);
    const options = await api(page, 'POST', '/api/v1/me/mfa-devices/webauthn-options', {});
    expect(options.status).toBe(200);
    const credential = await createCredential(page, options.body);
    const made = await api(page, 'POST', '/api/v1/me/mfa-devices/webauthn', { name: 'This laptop', credential });
    expect(made.status).toBe(201);
    expect((await api(page, 'GET', '/api/v1/session')).body.acr).toBe('urn:mamori:phr');

    const again = await startAuthorization(rp);
    const landing = await navigate(page, again.url);
    const claims = (await exchange(rp, again, landing)).claims()!;
    expect(claims.acr).toBe('urn:mamori:phr');
    expect(claims.amr).toEqual(expect.arrayContaining(['mfa']));
    expect((claims.amr as string[]).some((v) => v === 'hwk' || v === 'swk')).toBe(true);

    // A fresh sign-in with the passkey alone (passwordless) reaches phr too.
    await page.goto(`${server.config.publicUrl}${SAME_ORIGIN_PAGE}`);
    await api(page, 'POST', '/api/v1/sign-out');
    const passkeyOptions = await api(page, 'POST', '/api/v1/sign-in/passkey-options', {});
    const assertion = await getAssertion(page, passkeyOptions.body);
    expect((await api(page, 'POST', '/api/v1/sign-in/passkey', { credential: assertion })).status).toBe(200);
    const third = await startAuthorization(rp);
    expect((await exchange(rp, third, await navigate(page, third.url))).claims()!.acr).toBe('urn:mamori:phr');
    await tab.context.close();
  });
});
