/**
 * The other two kinds of the "Assign MFA device" wizard in Chromium, each in both languages and at
 * both widths between them: a passkey created by the CDP virtual authenticator through the
 * browser's own prompt, and hardware TOTP tokens (one plaintext TOTP, one AES-encrypted HOTP)
 * imported from PSKC files through the administration API, then assigned by serial with two
 * consecutive codes computed here. axe-core on the wizard's set-up steps.
 */
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotp, timeStep } from '../../src/methods/totp/otp.js';
import { expectAccessible } from '../helpers/axe.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { button, type Lang, type Tab } from '../helpers/console.js';
import { adminAtAal2 } from '../helpers/otp.js';
import { createTestUser, startServer, type TestServer } from '../helpers/server.js';
import { expectPhoneFit, openAt, panel, signInHere, topDialog, type Width } from './console-security-helpers.js';

if (browserSkipReason) process.stderr.write(`[console-security-keys] skipped: ${browserSkipReason}\n`);

const fixture = (name: string) => readFileSync(new URL(`../fixtures/pskc/${name}`, import.meta.url), 'utf8');
/** Both fixtures carry RFC 4226's key, ASCII 12345678901234567890 (test/fixtures/README.md). */
const KEY = Buffer.from('12345678901234567890');
const code8 = (counter: bigint) => hotp(KEY, counter, { algorithm: 'SHA1', digits: 8 });

interface TokenCase {
  lang: Lang;
  width: Width;
  serial: string;
  /** Two consecutive codes the token shows now. */
  codes: (server: TestServer) => [string, string];
}

const TOKENS: TokenCase[] = [
  {
    lang: 'ja',
    width: 1280,
    serial: 'TT0000001', // totp-plaintext.pskc: 8-digit TOTP, 30 s
    codes: (server) => {
      const step = timeStep(server.clock.now(), 30);
      return [code8(step), code8(step + 1n)];
    },
  },
  { lang: 'en', width: 360, serial: '987654321', codes: () => [code8(0n), code8(1n)] }, // RFC 6030 figure 6: HOTP from counter 0
];

describe.skipIf(browserSkipReason !== null)('Security credentials: passkeys and hardware tokens (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let origin: string;
  beforeAll(async () => {
    server = await startServer();
    origin = server.config.publicUrl;
    browser = await launchChromium();
    const { client: admin } = await adminAtAal2(server, 'tokens.admin@example.com');
    for (const upload of [{ pskc: fixture('totp-plaintext.pskc') }, { pskc: fixture('rfc6030-figure6-aes128-psk.pskc'), key: '12345678901234567890123456789012' }]) {
      const r = await admin.post('/api/v1/admin/hardware-tokens', upload);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ imported: 1, skipped: [] });
    }
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Security credentials → Assign MFA device → the name → the kind; the set-up step is open. */
  async function startWizard(tab: Tab, name: string, kind: 'assign.passkey' | 'assign.hardware') {
    const { page, t } = tab;
    await button(tab, 'mfa.assign').click();
    const wizard = topDialog(page);
    await wizard.getByLabel(t['mfa.deviceName']!).fill(name);
    await button(tab, 'common.next').click();
    await wizard.getByRole('radio', { name: t[kind]!, exact: true }).check();
    await button(tab, 'common.next').click();
    return wizard;
  }

  async function saveCodes(tab: Tab) {
    const { page, t } = tab;
    await topDialog(page).getByRole('heading', { name: t['recovery.saveTitle']!, level: 2 }).waitFor();
    expect(await page.locator('ol.codes code').count()).toBe(10);
    await page.getByLabel(t['recovery.saved']!, { exact: true }).check();
    await button(tab, 'common.done').click();
    await page.locator('dialog').waitFor({ state: 'detached' });
  }

  it.each([
    ['en', 1280],
    ['ja', 360],
  ] as [Lang, Width][])('%s at %i px: a passkey through the browser’s prompt (CDP virtual authenticator)', async (lang, width) => {
    const email = `passkey.${lang}@example.com`;
    await createTestUser(server, email);
    const tab = await openAt(browser, origin, lang, width);
    const { page, t } = tab;
    try {
      const cdp = await tab.context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      });
      await signInHere(tab, server, email);
      const wizard = await startWizard(tab, 'Laptop', 'assign.passkey');
      await wizard.getByRole('heading', { name: t['assign.passkeyTitle']!, level: 2 }).waitFor();
      await wizard.getByText(t['assign.passkeyIntro']!, { exact: true }).waitFor();
      await expectAccessible(page, `passkey step ${lang} ${width}`);
      await expectPhoneFit(page, 'passkey step');
      await button(tab, 'assign.createPasskey').click();
      await saveCodes(tab);
      expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(1);

      await page.getByRole('rowheader', { name: 'Laptop', exact: true }).waitFor();
      await panel(tab, 'mfa.title').getByRole('cell', { name: new RegExp(`${t['mfa.type.webauthn']!}$`) }).waitFor();
      // This session was raised by the new key: in words, with the method.
      const sessions = panel(tab, 'sessions.title');
      await sessions.getByText(t['sessions.aal2']!, { exact: true }).waitFor();
      await sessions.getByText(new RegExp(t['sessions.method.key']!, 'i')).waitFor();
      const activity = panel(tab, 'activity.title');
      await activity.getByText(t['event.mfa_device_assigned']!, { exact: true }).first().waitFor();
      await activity.getByRole('cell', { name: new RegExp(`${t['mfa.type.webauthn']!}\\s*Laptop$`) }).first().waitFor();
      // A passkey has no codes to resynchronize.
      expect(await page.getByRole('button', { name: t['mfa.resyncNamed']!.replace('{name}', 'Laptop') }).count()).toBe(0);
      await expectAccessible(page, `security with a passkey ${lang} ${width}`);
      await expectPhoneFit(page, 'security with a passkey');
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });

  it.each(TOKENS)('$lang at $width px: hardware token $serial imported from PSKC, assigned by serial', async ({ lang, width, serial, codes }) => {
    const email = `token.${serial.toLowerCase()}@example.com`;
    await createTestUser(server, email);
    const tab = await openAt(browser, origin, lang, width);
    const { page, t } = tab;
    try {
      await signInHere(tab, server, email);
      const wizard = await startWizard(tab, 'Key fob', 'assign.hardware');
      await wizard.getByRole('heading', { name: t['assign.hardwareTitle']!, level: 2 }).waitFor();
      const serialField = wizard.getByLabel(t['assign.serial']!, { exact: true });
      expect(await serialField.evaluate((el) => el === document.activeElement)).toBe(true);
      await expectAccessible(page, `hardware step ${lang} ${width}`);
      await expectPhoneFit(page, 'hardware step');

      // Codes that are not the token's: refused in the user's words only, never the server's English detail.
      await serialField.fill(serial);
      await wizard.getByLabel(t['mfa.code1']!, { exact: true }).fill('11111111');
      await wizard.getByLabel(t['mfa.code2']!, { exact: true }).fill('22222222');
      await button(tab, 'assign.add').click();
      const alert = wizard.getByRole('alert');
      await alert.getByText(t['problem.invalid_code']!, { exact: true }).waitFor();
      expect(await alert.textContent()).toBe(t['problem.invalid_code']);
      await expectAccessible(page, `hardware step refused ${lang} ${width}`);

      const [code1, code2] = codes(server);
      await wizard.getByLabel(t['mfa.code1']!, { exact: true }).fill(code1);
      await wizard.getByLabel(t['mfa.code2']!, { exact: true }).fill(code2);
      await button(tab, 'assign.add').click();
      await saveCodes(tab);

      await page.getByRole('rowheader', { name: 'Key fob', exact: true }).waitFor();
      const devices = panel(tab, 'mfa.title');
      await devices.getByText(t['mfa.type.hardware_totp']!, { exact: true }).waitFor();
      await devices.getByText(t['mfa.serialValue']!.replace('{serial}', serial), { exact: true }).waitFor();
      await page.getByRole('button', { name: t['mfa.resyncNamed']!.replace('{name}', 'Key fob'), exact: true }).waitFor();
      await panel(tab, 'sessions.title').getByText(t['sessions.aal2']!, { exact: true }).waitFor();
      await expectAccessible(page, `security with a token ${lang} ${width}`);
      await expectPhoneFit(page, 'security with a token');
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
