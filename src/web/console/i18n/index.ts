// Words, numbers and dates in the user's language. The language is a signal: a component that
// calls `t` re-renders when it changes.
import { signal } from '@preact/signals';
import { CATALOGS, LANGS, type Lang, type MessageKey } from './catalogs';

export { LANGS, type Lang, type MessageKey };

const dict: Record<Lang, Map<string, string>> = { en: new Map(), ja: new Map() };
for (const catalog of CATALOGS) {
  for (const l of LANGS) for (const [k, v] of Object.entries(catalog[l])) dict[l].set(k, v);
}

const SAVED = 'mamori.lang';

/** The saved choice, else the browser's languages in order (Accept-Language is the same list). */
function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(SAVED);
    if (saved === 'en' || saved === 'ja') return saved;
  } catch {
    // storage may be off
  }
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'ja' || base === 'en') return base;
  }
  return 'en';
}

export const lang = signal<Lang>(initialLang());

/** Switches the language (and remembers only that choice, nothing else, in storage). */
export function setLang(next: Lang, remember = true): void {
  lang.value = next;
  document.documentElement.lang = next;
  if (!remember) return;
  try {
    localStorage.setItem(SAVED, next);
  } catch {
    // the choice then lasts for this page
  }
}

export type Vars = Readonly<Record<string, string | number>>;

function fill(text: string, vars?: Vars): string {
  return vars ? text.replace(/\{(\w+)\}/g, (m, k: string) => (Object.hasOwn(vars, k) ? String(vars[k]) : m)) : text;
}

/** The text of `key` in the current language, `{name}` placeholders filled in. */
export function t(key: MessageKey, vars?: Vars): string {
  return fill(dict[lang.value].get(key) ?? key, vars);
}

/** Whether a key made at run time (`problem.<code>`, `event.<type>`) has words. */
export function has(key: string): boolean {
  return dict[lang.value].has(key);
}

/**
 * The text of a key made at run time from a prefix the catalogs test knows (`problem.`,
 * `event.`, `consent.scope.`, `webauthn.`, `lang.`), or `fallback` when it has none.
 */
export function tKnown(key: string, fallback: string, vars?: Vars): string {
  const text = dict[lang.value].get(key);
  return text === undefined ? fallback : fill(text, vars);
}

/** `t` for a count: `<key>.one` where the language has a singular and the catalog that form. */
export function tn(key: MessageKey, n: number, vars?: Vars): string {
  const one = `${key}.one`;
  const text = new Intl.PluralRules(locale()).select(n) === 'one' ? dict[lang.value].get(one) : undefined;
  return fill(text ?? dict[lang.value].get(key) ?? key, { ...vars, n: new Intl.NumberFormat(locale()).format(n) });
}

export function locale(): string {
  return lang.value === 'ja' ? 'ja-JP' : 'en';
}

/** A moment as the user's language writes it, or "Never" for none. */
export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return t('common.never');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** A wait ("5 minutes", "5 分") for Retry-After and expiries, rounded up. */
export function fmtWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  const [n, unit] = s < 60 ? [s, 'second'] : s < 7200 ? [Math.ceil(s / 60), 'minute'] : [Math.ceil(s / 3600), 'hour'];
  return new Intl.NumberFormat(locale(), { style: 'unit', unit, unitDisplay: 'long' }).format(n);
}
