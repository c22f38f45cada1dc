// Shared by the Administration → Users and Approvals browser tests: an administrator's tab at a
// given language and width, signed in over HTTP (password, then a TOTP code computed here), and
// the checks every screen gets (no sideways scroll, no script error).
import type { Browser, Locator } from 'playwright-core';
import { expect } from 'vitest';
import { dict, inSuite, type Lang, type Tab } from '../helpers/console.js';
import type { Client } from '../helpers/client.js';
import { appCode } from '../helpers/otp.js';
import { STRONG_PASSWORD, type TestServer } from '../helpers/server.js';

export type Width = 1280 | 360;
/** Every walk runs in both languages, on a desktop and on a phone. */
export const COMBOS: readonly (readonly [Lang, Width])[] = (
  [
    ['en', 1280],
    ['ja', 1280],
    ['en', 360],
    ['ja', 360],
  ] as const
).filter(([lang, width]) => inSuite(lang, width));

/** Fills a catalog text's `{name}` holes. */
export const fill = (text: string, vars: Record<string, string | number>): string => text.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));

/** A code of the app two time steps on: past any step an earlier sign-in or activation (two steps) used. */
export function nextCode(server: TestServer, secret: string): string {
  server.clock.advance(60_000);
  return appCode(secret, server.clock.now());
}

/** Password and authenticator app over HTTP: a session at aal 2 with its second factor proved now. */
export async function signInWithApp(server: TestServer, email: string, secret: string, password = STRONG_PASSWORD): Promise<Client> {
  const c = server.client();
  const first = await c.post<{ status: string }>('/api/v1/sign-in', { email, password });
  expect(first.body.status, first.text).toBe('mfa_required');
  const second = await c.post<{ status: string }>('/api/v1/sign-in/mfa', { method: 'totp', code: nextCode(server, secret) });
  expect(second.body.status, second.text).toBe('signed_in');
  return c;
}

/** Ten wrong codes in a row (two sign-ins of five) lock the account's second factor: "Locked" in the list. */
export async function lockByWrongCodes(server: TestServer, email: string, secret: string): Promise<void> {
  const right = appCode(secret, server.clock.now());
  const wrong = right === '000000' ? '111111' : '000000';
  for (let n = 0; n < 2; n++) {
    const c = server.client();
    expect((await c.post<{ status: string }>('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body.status).toBe('mfa_required');
    for (let i = 0; i < 5; i++) await c.post('/api/v1/sign-in/mfa', { method: 'totp', code: wrong });
  }
  const user = (await server.services.users.findByEmail(email))!;
  expect((await server.services.regulator.lockedUsers()).has(user.id), `${email} is locked`).toBe(true);
}

/** A browser profile in `lang` at `width` with the session of `c`, on the console at `path`. */
export async function consoleAs(browser: Browser, server: TestServer, c: Client, lang: Lang, width: Width, path: string): Promise<Tab> {
  const context = await browser.newContext({ locale: lang === 'ja' ? 'ja-JP' : 'en-US', viewport: { width, height: width === 360 ? 740 : 900 }, acceptDownloads: true });
  const origin = server.config.publicUrl;
  await context.addCookies([{ name: 'mamori_session', value: c.cookies.get('mamori_session')!, url: origin }]);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${origin}/console/#${path}`);
  const tab = { context, page, problems, t: dict[lang] };
  await tab.page.getByRole('heading', { name: tab.t['admin.title']!, level: 1, exact: true }).waitFor();
  return tab;
}

/** At 360 px nothing may scroll sideways (a table turns into cards, buttons stay on screen). */
export async function expectNoSideScroll(tab: Tab, width: Width, where: string): Promise<void> {
  const wide = await tab.page.evaluate(() => document.documentElement.scrollWidth);
  expect(wide, `${where}: the page is ${wide} px wide`).toBeLessThanOrEqual(width);
}

/** A button (or its row's) is on screen, not pushed off to the right. */
export async function expectOnScreen(button: Locator, width: Width): Promise<void> {
  const box = await button.boundingBox();
  expect(box, 'the button is laid out').not.toBeNull();
  expect(box!.x + box!.width).toBeLessThanOrEqual(width);
}

/** The row of a table (or its card on a phone) whose header names `text`. */
export const rowOf = (tab: Tab, text: string | RegExp): Locator => tab.page.getByRole('row').filter({ has: tab.page.getByRole('rowheader', { name: text }) });

/** The token of the newest (or `nth`) invitation mailed to `email`, from the development outbox. */
export async function invitationToken(server: TestServer, email: string, nth = -1): Promise<string> {
  const mails = (await server.outbox()).filter((m) => m.to === email && m.kind === 'invitation');
  const mail = mails.at(nth);
  expect(mail, `an invitation to ${email}`).toBeDefined();
  return /#\/invite\/([A-Za-z0-9_-]+)/.exec(mail!.text)![1]!;
}
