import path from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { STRONG_PASSWORD } from './server.js';

export type Lang = 'en' | 'ja';

/** Every messages.json of the console (each holds `{en, ja}`), with its path. */
export function catalogFiles(): { file: string; catalog: Record<Lang, Record<string, string>> }[] {
  const root = path.resolve(import.meta.dirname, '../../src/web/console');
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else if (e.name === 'messages.json' || (dir.endsWith('i18n') && e.name.endsWith('.json'))) found.push(path.join(dir, e.name));
    }
  };
  walk(root);
  return found.sort().map((file) => ({ file, catalog: JSON.parse(readFileSync(file, 'utf8')) as Record<Lang, Record<string, string>> }));
}

/** The console's own catalogs, so the tests find buttons and headings by the words a person reads. */
export const dict: Record<Lang, Record<string, string>> = { en: {}, ja: {} };
for (const { catalog } of catalogFiles()) for (const l of ['en', 'ja'] as const) Object.assign(dict[l], catalog[l]);

/** A browser profile on the console, with what went wrong in its page collected in `problems`. */
export interface Tab {
  context: BrowserContext;
  page: Page;
  problems: string[];
  t: Record<string, string>;
}

/** A fresh browser profile whose language is `lang`, on the console at `origin`. */
export async function openConsole(browser: Browser, origin: string, lang: Lang, init?: string): Promise<Tab> {
  const context = await browser.newContext({ locale: lang === 'ja' ? 'ja-JP' : 'en-US', viewport: { width: 1280, height: 900 } });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    // Chromium logs every 4xx answer itself (the 401 of GET /api/v1/session while signed out,
    // say); what counts here are script errors and CSP refusals.
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${origin}/`);
  return { context, page, problems, t: dict[lang] };
}

/** `openConsole` at a screen `width` (1280 px or a phone's), once the first page is drawn and its redirect done. */
export async function openConsoleAt(browser: Browser, origin: string, lang: Lang, width: number): Promise<Tab> {
  const tab = await openConsole(browser, origin, lang);
  await tab.page.locator('main h1').waitFor();
  if (width !== 1280) await tab.page.setViewportSize({ width, height: 740 });
  return tab;
}

export const heading = (tab: Tab, key: string, level = 1) => tab.page.getByRole('heading', { name: tab.t[key]!, level, exact: true });
export const button = (tab: Tab, key: string) => tab.page.getByRole('button', { name: tab.t[key]!, exact: true });

/** The sign-in form's first step, as a person does it: email, password, Enter. */
export async function passwordStep(tab: Tab, email: string, password = STRONG_PASSWORD): Promise<void> {
  await heading(tab, 'signIn.title').waitFor();
  await tab.page.getByLabel(tab.t['field.email']!).fill(email);
  const field = tab.page.getByLabel(tab.t['field.password']!, { exact: true });
  await field.fill(password);
  await field.press('Enter'); // the keyboard submits the form
}

/**
 * Whether a browser walk runs in `lang` at `width` in this run. By default every flow runs
 * twice, English at 1280 px and Japanese at 360 px, so each flow meets both languages and both
 * widths while the suite stays within its time on two cores. MAMORI_CONSOLE_ALL=1 runs all four
 * combinations, and so does MAMORI_SCREENSHOTS=1, which writes every screen in all four.
 */
export function inSuite(lang: Lang, width: number): boolean {
  if (process.env.MAMORI_CONSOLE_ALL === '1' || process.env.MAMORI_SCREENSHOTS === '1') return true;
  return (lang === 'en' && width === 1280) || (lang === 'ja' && width === 360);
}
