/**
 * Where a change came from, as security mails show it: the IP address and the browser, the
 * latter summarised from its User-Agent ("Chrome 126 on Windows"). A full User-Agent string is
 * noise to most readers, and it is attacker-chosen text; the summary names only what it
 * recognises and falls back to the cleaned, shortened original.
 */
import { clean } from './document.js';
import type { Locale, Origin } from './messages.js';

// Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux".
const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\b(?:OPR|Opera)\/(\d+)/, 'Opera'],
  [/\bSamsungBrowser\/(\d+)/, 'Samsung Internet'],
  [/\bFirefox\/(\d+)/, 'Firefox'],
  [/\bFxiOS\/(\d+)/, 'Firefox'],
  [/\bCriOS\/(\d+)/, 'Chrome'],
  [/\bChrom(?:e|ium)\/(\d+)/, 'Chrome'],
  [/\bVersion\/(\d+)[.\d]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
  [/\bcurl\/(\d+)/, 'curl'],
];

const SYSTEMS: Array<[RegExp, string]> = [
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

const MAX_RAW_CHARS = 80;

/** "Chrome 126 on Windows" (en) or "Chrome 126（Windows）" (ja); the cleaned original when unrecognised. */
export function summarizeUserAgent(ua: string, locale: Locale): string {
  const raw = clean(ua);
  let browser: string | undefined;
  for (const [re, name] of BROWSERS) {
    const m = re.exec(raw);
    if (m) {
      browser = `${name} ${m[1]}`;
      break;
    }
  }
  const system = SYSTEMS.find(([re]) => re.test(raw))?.[1];
  if (browser && system) return locale === 'ja' ? `${browser}（${system}）` : `${browser} on ${system}`;
  if (browser) return browser;
  const chars = Array.from(raw);
  return chars.length > MAX_RAW_CHARS ? chars.slice(0, MAX_RAW_CHARS - 1).join('') + '…' : raw;
}

/** The fact rows "IP address" and "Browser" for what the origin holds. */
export function originRows(o: Origin, locale: Locale): Array<readonly [string, string]> {
  const rows: Array<readonly [string, string]> = [];
  if (o.ip !== undefined) rows.push([locale === 'ja' ? 'IPアドレス' : 'IP address', clean(o.ip)]);
  if (o.userAgent !== undefined) rows.push([locale === 'ja' ? 'ブラウザー' : 'Browser', summarizeUserAgent(o.userAgent, locale)]);
  return rows;
}
