import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('web console', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());
  /** A client at the public URL, where the console answers (another origin is redirected there). */
  const atPublic = () => new Client(server.config.publicUrl);

  it('redirects / to /console/', async () => {
    const r = await atPublic().get('/');
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/console/');
  });

  it('sends a page asked for at another origin than the public URL to the public URL', async () => {
    // server.url is the listening address (127.0.0.1), the public URL is http://localhost:<port>.
    const pub = new URL(server.config.publicUrl);
    for (const [path, to] of [
      ['/', `${pub.origin}/console/`],
      ['/console/', `${pub.origin}/console/`],
      ['/console/sign-in?rd=%2Foidc%2Fauth', `${pub.origin}/console/sign-in?rd=%2Foidc%2Fauth`],
    ] as const) {
      const r = await server.client().get(path);
      expect(r.status, path).toBe(302);
      expect(r.headers.get('location'), path).toBe(to);
    }
    // A proxy that forwards the host name without the port (nginx's `Host $host`) is at the public
    // URL still: redirecting it would send the browser back through the proxy, in a loop.
    expect((await rawGet(server.url, '/console/', { host: pub.hostname })).status).toBe(200);
    // Through a trusted proxy (loopback is one by default) the forwarded host is the one compared.
    expect((await rawGet(server.url, '/console/', { 'x-forwarded-host': pub.host })).status).toBe(200);
    const other = await rawGet(server.url, '/console/', { host: pub.host, 'x-forwarded-host': 'mamori.internal:8080' });
    expect(other.status).toBe(302);
    expect(other.location).toBe(`${pub.origin}/console/`);
    // The script and stylesheet are served wherever they are asked for: they carry no origin.
    expect((await server.client().get('/console/app.js')).status).toBe(200);
  });

  it('serves the page with its script, stylesheet and a strict CSP', async () => {
    const r = await atPublic().get('/console/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.text).toMatch(/<script type="module" crossorigin src="\/console\/app\.js"><\/script>/);
    expect(r.text).toMatch(/<link rel="stylesheet" crossorigin href="\/console\/app\.css">/);
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
    ['/console/app.css', 'text/css; charset=utf-8'],
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
      const r = await atPublic().get(`/console/${page}`);
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

  it('ships its script under 80 kB gzipped, with no inline style or script and no eval', async () => {
    const js = (await server.client().get('/console/app.js')).text;
    const size = gzipSync(js).length;
    expect(size).toBeLessThan(80 * 1024);
    expect(js).not.toMatch(/\bnew Function\(|\beval\(/);
  });
});

/** A GET with the path sent byte for byte (no URL normalisation on the client side). */
async function rawGet(base: string, pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; location?: string }> {
  const { request } = await import('node:http');
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'GET', path: pathname, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end();
  });
}
