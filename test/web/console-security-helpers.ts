/**
 * What the Security credentials tests (console-security*.test.ts) share: a browser profile at a
 * width, signed in through the API from inside the page (so the session is the browser's own,
 * with its User-Agent), and the checks that a phone-sized page neither scrolls sideways nor
 * breaks words one character per line.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { api } from '../helpers/browser.js';
import { heading, openConsole, type Lang, type Tab } from '../helpers/console.js';
import { STRONG_PASSWORD, type TestServer } from '../helpers/server.js';

export type Width = 1280 | 360;

/** A fresh profile in `lang` at `width` (360: a phone, 740 high). */
export async function openAt(browser: Browser, origin: string, lang: Lang, width: Width): Promise<Tab> {
  const tab = await openConsole(browser, origin, lang);
  if (width === 360) await tab.page.setViewportSize({ width: 360, height: 740 });
  return tab;
}

/** Password and the emailed code, posted from the page; then the console is loaded afresh at #/security. */
export async function signInHere(tab: Tab, server: TestServer, email: string): Promise<void> {
  const first = await api(tab.page, 'POST', '/api/v1/sign-in', { email, password: STRONG_PASSWORD });
  expect(first.status, JSON.stringify(first.body)).toBe(200);
  if (first.body.status === 'email_code_sent') {
    const second = await api(tab.page, 'POST', '/api/v1/sign-in/email-code', { code: await server.lastCode(email) });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
  }
  await reloadAt(tab, '/security');
}

/** Leaves the document, so the console reads the session again, and opens `path`. */
export async function reloadAt(tab: Tab, path: string): Promise<void> {
  const origin = new URL(tab.page.url()).origin;
  await tab.page.goto('about:blank');
  await tab.page.goto(`${origin}/console/#${path}`);
  await heading(tab, 'security.title').waitFor();
}

/** At 360 px nothing may scroll sideways, and no word may break into one character per line. */
export async function expectPhoneFit(page: Page, where: string): Promise<void> {
  const width = page.viewportSize()?.width ?? 0;
  if (width > 600) return;
  const found = await page.evaluate(() => {
    const wide = document.documentElement.scrollWidth;
    const broken: string[] = [];
    const visible = (el: Element) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    // A label, button or cell whose text has lines of a single character: 管/理 wrapped per glyph.
    for (const el of document.querySelectorAll('button, a, th, td, label, h1, h2, legend, p, li, .badge')) {
      if (!visible(el)) continue;
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const textNode = n as Text;
        const text = textNode.data.trim();
        if (text.length < 3) continue;
        const range = document.createRange();
        range.selectNodeContents(textNode);
        const lines = new Map<number, number>();
        for (const r of range.getClientRects()) if (r.width > 0) lines.set(Math.round(r.top), (lines.get(Math.round(r.top)) ?? 0) + r.width);
        const fontSize = parseFloat(getComputedStyle(textNode.parentElement!).fontSize);
        const narrow = [...lines.values()].filter((w) => w < fontSize * 1.6);
        if (lines.size > 1 && narrow.length > 0) broken.push(text);
      }
    }
    return { wide, broken };
  });
  expect(found.wide, `${where}: the page is wider than the screen`).toBeLessThanOrEqual(width);
  expect(found.broken, `${where}: words broken one character per line`).toEqual([]);
}

/** The dialog on top (a step-up opens over the wizard). */
export const topDialog = (page: Page): Locator => page.locator('dialog[open]').last();

/** The element that has focus, by its role's name as a person reads it. */
export const focusedText = (page: Page) => page.evaluate(() => (document.activeElement?.textContent ?? '').trim());

/** A panel of Security credentials, by its heading. */
export const panel = (tab: Tab, key: string) => tab.page.getByRole('region', { name: tab.t[key]!, exact: true });
