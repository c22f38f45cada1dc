import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

type Dictionary = Record<'en' | 'ja', Record<string, string>>;

/** The console's dictionary, imported as the browser imports it (a plain ES module). */
async function loadDictionary(): Promise<Dictionary> {
  const file = pathToFileURL(path.resolve(import.meta.dirname, '../../src/web/static/i18n.js')).href;
  const mod = (await import(file)) as { dict: Dictionary };
  return mod.dict;
}

describe('web console', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it('redirects / to /console/', async () => {
    const r = await server.client().get('/');
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/console/');
  });

  it('serves the page with its script, stylesheet and a strict CSP', async () => {
    const r = await server.client().get('/console/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.text).toContain('<script type="module" src="/console/app.js"></script>');
    expect(r.text).toContain('<link rel="stylesheet" href="/console/console.css">');
    // Nothing inline that the CSP would refuse.
    expect(r.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(r.text).not.toMatch(/\sstyle=/);
    expect(r.text).not.toMatch(/\son[a-z]+=/);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
  });

  it.each([
    ['/console/app.js', 'text/javascript; charset=utf-8'],
    ['/console/i18n.js', 'text/javascript; charset=utf-8'],
    ['/console/console.css', 'text/css; charset=utf-8'],
  ])('serves %s as %s, not cached without asking', async (url, type) => {
    const r = await server.client().get(url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(type);
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.text.length).toBeGreaterThan(100);
    const etag = r.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await server.client().get(url, { 'if-none-match': etag! });
    expect(again.status).toBe(304);
  });

  it('answers the page addresses (/console/sign-in …) with the same page', async () => {
    for (const page of ['setup', 'sign-in', 'security', 'admin']) {
      const r = await server.client().get(`/console/${page}`);
      expect(r.status, page).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(r.text).toContain('/console/app.js');
    }
  });

  it('answers an unknown file with a 404 problem', async () => {
    for (const url of ['/console/nope.js', '/console/routes.ts', '/console/__proto__', '/console/constructor', '/console/index.html.bak']) {
      const r = await server.client().get(url);
      expect(r.status, url).toBe(404);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('refuses ../ traversal, plain or encoded', async () => {
    const urls = [
      '/console/../package.json',
      '/console/..%2Fpackage.json',
      '/console/..%2F..%2Fpackage.json',
      '/console/%2e%2e%2froutes.ts',
      '/console/..%5Croutes.ts',
      '/console/static/../routes.ts',
      '/console/%2e%2e/%2e%2e/package.json',
    ];
    for (const url of urls) {
      // fetch() normalises a plain "../" away before sending; rawGet below sends the path as written.
      const r = await fetch(server.url + url, { redirect: 'manual' }).catch(() => null);
      if (r) {
        expect([400, 404], url).toContain(r.status);
        const text = await r.text();
        expect(text, url).not.toContain('"dependencies"');
        expect(text, url).not.toContain('webRoutes');
      }
      const raw = await rawGet(server.url, url);
      expect([400, 404], url).toContain(raw.status);
      expect(raw.body, url).not.toContain('"dependencies"');
      expect(raw.body, url).not.toContain('webRoutes');
    }
  });

  it('keeps the console out of the OpenAPI document', async () => {
    const r = await server.client().get<{ paths: Record<string, unknown> }>('/openapi.json');
    expect(r.status).toBe(200);
    const paths = Object.keys(r.body.paths ?? {});
    expect(paths.some((p) => p === '/' || p.startsWith('/console'))).toBe(false);
  });

  it('has the same keys in the English and Japanese dictionaries, none empty', async () => {
    const dict = await loadDictionary();
    const en = Object.keys(dict.en).sort();
    const ja = Object.keys(dict.ja).sort();
    expect(en.filter((k) => !ja.includes(k)), 'keys missing in ja').toEqual([]);
    expect(ja.filter((k) => !en.includes(k)), 'keys missing in en').toEqual([]);
    expect(en.length).toBeGreaterThan(100);
    for (const lang of ['en', 'ja'] as const) {
      for (const [k, v] of Object.entries(dict[lang])) expect(v.trim(), `${lang}.${k}`).not.toBe('');
    }
    // Placeholders must match, or a translation would print "{name}" or lose a value.
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of en) expect(holes(dict.ja[k]!), k).toEqual(holes(dict.en[k]!));
  });

  it('uses the IAM console terms in Japanese', async () => {
    const { ja } = await loadDictionary();
    const all = Object.values(ja).join('\n');
    for (const term of ['MFA デバイスの割り当て', 'セキュリティ認証情報', '認証アプリケーション', 'パスキーまたはセキュリティキー', 'ハードウェア TOTP トークン']) {
      expect(all).toContain(term);
    }
  });

  it('uses every key it asks for, and asks for no key the dictionary lacks', async () => {
    const dict = await loadDictionary();
    const { readFile } = await import('node:fs/promises');
    const app = await readFile(path.resolve(import.meta.dirname, '../../src/web/static/app.js'), 'utf8');
    const used = new Set([...app.matchAll(/'([a-zA-Z]+\.[a-zA-Z0-9_.]+)'/g)].map((m) => m[1]!));
    used.delete('mamori.lang'); // the localStorage key, not a text
    expect([...used].filter((k) => !(k in dict.en))).toEqual([]);
  });
});

/** A GET with the path sent byte for byte (no URL normalisation on the client side). */
async function rawGet(base: string, pathname: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'GET', path: pathname }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
