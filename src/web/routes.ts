import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MamoriError } from '../errors.js';
import { sendProblem } from '../http/problem.js';
import type { Services } from '../services.js';

/**
 * Where the built console lives (`npm run build` runs Vite into dist/web/static): beside the
 * compiled module (dist/web/routes.js), one up from the bundle's chunk (dist/chunks/, see
 * scripts/build.mjs), or, when this module runs from src/ (the tests, tsx), in dist/.
 */
const STATIC_DIR = [new URL('./static/', import.meta.url), new URL('../web/static/', import.meta.url), new URL('../../dist/web/static/', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(`${dir}index.html`)) ?? fileURLToPath(new URL('./static/', import.meta.url));

/**
 * The only files served under /console/. Nothing from the request is ever joined onto a path:
 * a name is looked up here, and a name that is not here is a 404.
 */
const FILES: ReadonlyMap<string, string> = new Map([
  ['index.html', 'text/html; charset=utf-8'],
  ['app.js', 'text/javascript; charset=utf-8'],
  ['app.css', 'text/css; charset=utf-8'],
]);

/**
 * Page addresses that also answer with the console's HTML (the app maps them onto its hash
 * routes), so that links like `/console/setup` in the start-up log and `/console/sign-in` work.
 */
const PAGES: ReadonlySet<string> = new Set(['setup', 'sign-in', 'security', 'admin']);

async function sendFile(req: FastifyRequest, reply: FastifyReply, name: string): Promise<FastifyReply> {
  const type = FILES.get(name);
  if (type === undefined) return notFound(req, reply);
  let body: Buffer;
  try {
    body = await readFile(STATIC_DIR + name);
  } catch {
    return notFound(req, reply);
  }
  // `no-cache`: the browser may keep a copy but must ask first; the ETag makes that ask cheap.
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  reply.header('cache-control', 'no-cache').header('etag', etag).header('x-content-type-options', 'nosniff');
  if (req.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.code(200).type(type).send(body);
}

function notFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, new MamoriError('not_found', `No route for ${req.method} ${req.url.split('?')[0]?.slice(0, 100)}`));
}

/**
 * The console works only at the public URL: passkeys are bound to its origin, the cookies to its
 * host, and the cross-site check refuses any other origin, so a sign-in opened at the listening
 * address (http://127.0.0.1:8080) would fail with "came from another site". Such a request for a
 * page is sent to the same path at the public URL instead. Only the host name is compared: a
 * TLS-terminating proxy may forward neither the scheme nor the port (nginx's `Host $host`), and
 * comparing those would send such a request to the address it came from, in a loop. `req.host`
 * follows X-Forwarded-Host only from MAMORI_TRUSTED_PROXIES.
 */
function atPublicUrl(s: Services, req: FastifyRequest, path: string = req.url): string | null {
  const pub = new URL(s.config.publicUrl);
  let asked: string;
  try {
    asked = new URL(`http://${req.host}`).hostname;
  } catch {
    asked = '';
  }
  return asked === pub.hostname ? null : `${pub.origin}${path}`;
}

/** The console: a static single-page app under /console/. */
export function webRoutes(s: Services): FastifyPluginAsyncTypebox {
  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    const there = atPublicUrl(s, req);
    return there ? reply.redirect(there) : sendFile(req, reply, 'index.html');
  };
  return async (app) => {
    const home = async (req: FastifyRequest, reply: FastifyReply) => reply.redirect(atPublicUrl(s, req, '/console/') ?? '/console/');
    const document = { document: true };
    app.get('/', { schema: { hide: true }, config: document }, home);
    app.get('/console', { schema: { hide: true }, config: document }, home);
    app.get('/console/', { schema: { hide: true }, config: document }, page);
    app.get(
      '/console/:file',
      { schema: { hide: true, params: Type.Object({ file: Type.String() }) }, config: document },
      async (req, reply) => {
        const name = req.params.file;
        if (PAGES.has(name)) return page(req, reply);
        return sendFile(req, reply, name);
      },
    );
  };
}
