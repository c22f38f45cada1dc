import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) process.stderr.write(`[mamori tests] ${CHROMIUM} is missing: the browser tests are skipped (apt-get install chromium).\n`);

/** Why the browser tests cannot run here, or null: Debian's chromium and the npm playwright-core are both needed (no browser is downloaded). */
export const browserSkipReason: string | null = !hasChromium
  ? `${CHROMIUM} is not installed (apt-get install -y chromium)`
  : await import('playwright-core').then(
      () => null,
      () => 'the npm package playwright-core is not installed',
    );

/** `extraArgs`: more Chromium switches, e.g. `--host-resolver-rules=MAP *.mamori.test 127.0.0.1` for host names of a test's own. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

export interface AuthenticatorPage {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

/**
 * A page of the service that scripts may run `fetch` from: the console's stylesheet, which is
 * served with the console's policy (connect-src 'self'). Not /healthz: an API answer shown as a
 * document may load nothing (default-src 'none'), so a fetch from it is refused.
 */
export const SAME_ORIGIN_PAGE = '/console/app.css';

/**
 * A browser tab at `origin` with a CDP virtual authenticator: `passkey` is a platform
 * authenticator with resident keys and user verification; `securityKey` a USB key without either.
 */
export async function pageWithAuthenticator(browser: Browser, origin: string, kind: 'passkey' | 'securityKey'): Promise<AuthenticatorPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}${SAME_ORIGIN_PAGE}`);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options:
      kind === 'passkey'
        ? { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true }
        : { protocol: 'ctap2', transport: 'usb', hasResidentKey: false, hasUserVerification: false, automaticPresenceSimulation: true },
  });
  return { context, page, cdp, authenticatorId };
}

export interface PageAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** fetch() from inside the page: same-origin cookies and the page's Origin header, as the console sends. */
export function api(page: Page, method: string, path: string, body?: unknown): Promise<PageAnswer> {
  return page.evaluate(
    async ([m, p, b]) => {
      const res = await fetch(p as string, {
        method: m as string,
        credentials: 'same-origin',
        headers: b === undefined ? {} : { 'content-type': 'application/json' },
        body: b === undefined ? undefined : JSON.stringify(b),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    [method, path, body] as const,
  );
}

/** navigator.credentials.create with server options; the credential as JSON. */
export function createCredential(page: Page, options: unknown): Promise<Record<string, unknown>> {
  return page.evaluate(async (o) => {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(o as PublicKeyCredentialCreationOptionsJSON);
    const cred = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential;
    return cred.toJSON() as unknown as Record<string, unknown>;
  }, options);
}

/** navigator.credentials.get with server options; the assertion as JSON. */
export function getAssertion(page: Page, options: unknown): Promise<Record<string, unknown>> {
  return page.evaluate(async (o) => {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(o as PublicKeyCredentialRequestOptionsJSON);
    const cred = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential;
    return cred.toJSON() as unknown as Record<string, unknown>;
  }, options);
}
