// The console's words: every catalog holds the same keys in English and Japanese, every key is
// used by some source, every key a source asks for exists, and every error code the server can
// answer with has words of its own (so the server's English detail is never what a person reads).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROBLEM_CODES } from '../../src/errors.js';
import { catalogFiles, dict } from '../helpers/console.js';

const CONSOLE = path.resolve(import.meta.dirname, '../../src/web/console');

function sources(dir = CONSOLE): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(full));
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push({ file: full, text: readFileSync(full, 'utf8') });
  }
  return out;
}

/** Keys made at run time from a prefix, and where their suffixes come from. */
const DYNAMIC: Record<string, (suffix: string) => boolean> = {
  'problem.': (s) => {
    const [code, reason] = s.split('.');
    return PROBLEM_CODES.includes(code as (typeof PROBLEM_CODES)[number]) || ['status', 'unexpected', 'network_error', 'retryAfter'].includes(s) || (reason !== undefined && PROBLEM_CODES.includes(code as (typeof PROBLEM_CODES)[number]));
  },
  // Audit event types: each must be a type the server writes somewhere (a string literal in src/).
  'event.': (s) => serverSource.includes(`'${s}'`) || serverSource.includes(`\`${s}`) || serverSource.includes(`'${s.replace(/_[a-z]+$/, '_')}`),
  'consent.scope.': (s) => ['openid', 'profile', 'email', 'groups', 'offline_access'].includes(s),
  'webauthn.': (s) => ['unsupported', 'NotAllowedError', 'InvalidStateError', 'SecurityError', 'NotSupportedError', 'AbortError', 'ConstraintError', 'UnknownError'].includes(s),
  'lang.': (s) => ['en', 'ja', 'label'].includes(s),
};

const serverSource = (function read(dir: string): string {
  let all = '';
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (full !== CONSOLE) all += read(full);
    } else if (e.name.endsWith('.ts')) all += readFileSync(full, 'utf8');
  }
  return all;
})(path.resolve(import.meta.dirname, '../../src'));

describe('console catalogs', () => {
  const files = catalogFiles();

  it.each(files.map((f) => [path.relative(CONSOLE, f.file), f.catalog] as const))('%s: the same keys in en and ja, none empty, the same placeholders', (_name, catalog) => {
    const en = Object.keys(catalog.en).sort();
    const ja = Object.keys(catalog.ja).sort();
    expect(en.filter((k) => !ja.includes(k)), 'missing in ja').toEqual([]);
    expect(ja.filter((k) => !en.includes(k)), 'missing in en').toEqual([]);
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of en) {
      expect(catalog.en[k]!.trim(), `en ${k}`).not.toBe('');
      expect(catalog.ja[k]!.trim(), `ja ${k}`).not.toBe('');
      expect(holes(catalog.ja[k]!), k).toEqual(holes(catalog.en[k]!));
    }
  });

  it('holds each key in one catalog only', () => {
    const seen = new Map<string, string>();
    for (const { file, catalog } of files) {
      for (const k of Object.keys(catalog.en)) {
        expect(seen.get(k), `${k} in ${file}`).toBeUndefined();
        seen.set(k, file);
      }
    }
  });

  it('uses every key, and asks for none that is missing', () => {
    const text = sources().map((s) => s.text).join('\n');
    const literal = new Set([...text.matchAll(/['`]([a-zA-Z]+(?:\.[a-zA-Z0-9_]+)+)['`]/g)].map((m) => m[1]!));
    const unused: string[] = [];
    for (const key of Object.keys(dict.en)) {
      const base = key.endsWith('.one') ? key.slice(0, -4) : key;
      if (literal.has(key) || literal.has(base)) continue;
      const prefix = Object.keys(DYNAMIC).find((p) => key.startsWith(p));
      if (prefix && text.includes(`'${prefix}`) || (prefix && text.includes(`\`${prefix}`))) {
        if (DYNAMIC[prefix!]!(key.slice(prefix!.length))) continue;
      }
      unused.push(key);
    }
    expect(unused, 'keys no source uses').toEqual([]);
    // Every `t('…')` a source makes names a key (tsc checks it too; this covers strings built elsewhere).
    const asked = [...text.matchAll(/\bt\(\s*'([^']+)'/g)].map((m) => m[1]!);
    expect(asked.filter((k) => !(k in dict.en)), 'keys asked for but missing').toEqual([]);
  });

  it('has words for every error code the server answers with, in both languages', () => {
    const missing = PROBLEM_CODES.filter((c) => !(`problem.${c}` in dict.en) || !(`problem.${c}` in dict.ja));
    expect(missing).toEqual([]);
  });

  it('uses the IAM console terms in Japanese', () => {
    const all = Object.values(dict.ja).join('\n');
    for (const term of ['MFA デバイスの割り当て', 'セキュリティ認証情報', '認証アプリケーション', 'パスキーまたはセキュリティキー', 'ハードウェア TOTP トークン']) expect(all).toContain(term);
  });

  it('keeps the sources safe by construction and typed', () => {
    for (const { file, text } of sources()) {
      const name = path.relative(CONSOLE, file);
      // Text only through JSX (escaped), no inline style (the CSP forbids it), no HTML strings.
      expect(text, name).not.toMatch(/dangerouslySetInnerHTML|\.innerHTML\b|\bstyle=\{|insertAdjacentHTML/);
      expect(text, name).not.toMatch(/\bas unknown as\b|:\s*any\b|<any>|@ts-ignore|@ts-expect-error/);
      // One way to talk to the server: the typed client (api/client.ts holds the only fetch).
      if (!name.startsWith('api/')) expect(text, name).not.toMatch(/\bfetch\(/);
    }
  });

  it('keeps every console source file under 300 lines', () => {
    const long = sources()
      .concat(files.map((f) => ({ file: f.file, text: readFileSync(f.file, 'utf8') })))
      .filter((s) => s.text.split('\n').length > 300)
      .map((s) => path.relative(CONSOLE, s.file));
    expect(long).toEqual([]);
  });
});
