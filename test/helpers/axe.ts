import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

declare global {
  interface Window {
    axe?: { run(ctx: Document, opts: unknown): Promise<{ violations: Violation[] }> };
  }
}

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * Runs axe-core (WCAG 2.0–2.2 A and AA rules) in the page as it is now and fails on any serious
 * or critical finding, naming the rule and the elements. `where` says which screen it was.
 */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  // Evaluated over the DevTools protocol: the console's CSP refuses an injected inline <script>.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE);
  // Checked as the page settles, not mid-transition: a toast fading in is drawn at part opacity,
  // and axe would measure that frame's contrast (a flake seen in CI, not what a reader sees).
  await page.evaluate(() => Promise.all(document.getAnimations().filter((a) => a.effect?.getTiming().iterations !== Infinity).map((a) => a.finished.catch(() => undefined))));
  const violations = await page.evaluate(async () => {
    const r = await window.axe!.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target) }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `${where}: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
}

const SHOTS = path.resolve(import.meta.dirname, '../../docs/screenshots');

/**
 * With MAMORI_SCREENSHOTS=1, saves the page as docs/screenshots/<name>-<lang>-<width>.png (the
 * README shows the main ones); otherwise does nothing, so the suite stays quick.
 */
export async function screenshot(page: Page, name: string, lang: string): Promise<void> {
  if (process.env.MAMORI_SCREENSHOTS !== '1') return;
  mkdirSync(SHOTS, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  // With a modal dialog open, the screen as it is seen: a full-page capture leaves the page below the first screen unshaded behind the dialog.
  const modal = (await page.locator('dialog[open]').count()) > 0;
  await page.screenshot({ path: path.join(SHOTS, `${name}-${lang}-${width}.png`), fullPage: !modal, animations: 'disabled' });
}
