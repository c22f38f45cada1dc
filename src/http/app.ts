import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { MamoriError } from '../errors.js';
import type { Services } from '../services.js';
import { answerClientError, errorHandler, sendProblem, toProblem } from './problem.js';
import { adminRoutes } from './routes/admin.js';
import { factorRoutes } from './routes/factors.js';
import { forwardAuthRoutes } from './routes/forward-auth.js';
import { healthRoutes } from './routes/health.js';
import { meRoutes } from './routes/me.js';
import { mfaDeviceRoutes } from './routes/mfa-devices.js';
import { setupRoutes } from './routes/setup.js';
import { signInRoutes } from './routes/sign-in.js';
import { recoveryRoutes } from './routes/recovery.js';
import { testClockRoutes } from './routes/test-clock.js';
import { webRoutes } from '../web/routes.js';
import { OidcProvider } from '../oidc/provider.js';
import { oidcProviderRoutes, oidcRoutes } from './routes/oidc.js';
import { oidcClientRoutes } from './routes/oidc-clients.js';
import { auditRoutes } from './routes/audit.js';
import { approvalRoutes } from './routes/approvals.js';
import { applySecurityHeaders, planSecurityHeaders } from './security-headers.js';
import { requestLogger } from './request-logger.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** JSON that is valid UTF-8 and carries no prototype-pollution keys, or a 400. */
function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new MamoriError('validation_failed', 'The body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) throw new MamoriError('validation_failed', `The key "${key}" is not allowed`);
      // PostgreSQL cannot store U+0000 in text (SQLite can): refused here for both, as bad input.
      if ((typeof v === 'string' && v.includes('\u0000')) || key.includes('\u0000')) throw new MamoriError('validation_failed', 'Text may not contain the character U+0000');
      return v;
    });
  } catch (err) {
    if (err instanceof MamoriError) throw err;
    throw new MamoriError('validation_failed', 'The body is not valid JSON');
  }
  return value;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route reads a raw body (a Buffer, e.g. a PSKC file) and checks it itself. */
    rawBody?: boolean;
    /** The route hands the raw request to another framework (the OpenID Connect library), untouched by Mamori's hooks and parsers. */
    foreign?: boolean;
    /** The route answers with the console's pages and files: they get the full set of a document's security headers. */
    document?: boolean;
  }
}

/** What a route without a body schema accepts: no body at all (an empty one), or an empty JSON object. */
function isNoBody(req: FastifyRequest): boolean {
  const body: unknown = req.body;
  if (body === undefined) return true;
  // An empty text/plain body parses to ''; the JSON document `""` does too, and is a body.
  if (body === '') return !(req.headers['content-type'] ?? '').toLowerCase().includes('json');
  return typeof body === 'object' && body !== null && Object.getPrototypeOf(body) === Object.prototype && Object.keys(body).length === 0;
}

export type App = Awaited<ReturnType<typeof buildApp>>;

export async function buildApp(s: Services) {
  // Worked out once (security-headers.ts), by helmet: two fixed sets, chosen per route.
  const https = s.config.publicUrl.startsWith('https:');
  // The console's pages: helmet's full set, with a policy that allows only the console's own files.
  const documentHeaders = planSecurityHeaders({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    strictTransportSecurity: https,
    crossOriginEmbedderPolicy: false,
    xFrameOptions: { action: 'deny' },
  });
  // Everything else (JSON, problem+json, forward-auth's empty answers, /metrics): what OWASP's REST
  // cheat sheet lists for an API. A document there may load nothing and be framed nowhere, and a
  // browser may not sniff it into one. The headers only browsers rendering a page act on are left
  // out: on forward-auth, checked before every proxied request, they were most of each answer.
  // Fails closed: a page served from a route not marked `document` loads no script or style.
  const apiHeaders = planSecurityHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    strictTransportSecurity: https,
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    xFrameOptions: { action: 'deny' },
  });

  const app = Fastify({
    loggerInstance: s.log,
    childLoggerFactory: requestLogger,
    bodyLimit: s.config.bodyLimitBytes,
    // Forwarded headers are believed only from the listed proxies (proxy-addr checks every hop).
    trustProxy: s.config.trustedProxies,
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
    // Node answers an HTTP/1.1 request without Host itself, with an empty 400; the hook below
    // refuses it instead, as problem+json like every other error.
    http: { requireHostHeader: false },
    routerOptions: { maxParamLength: 200 },
    // Bad URLs and over-long path parameters are answered by the router itself: as problem+json too.
    // Errors Fastify raises before routing (bad URL, oversize parameter) carry the same headers.
    frameworkErrors: (err, _req, reply) => {
      applySecurityHeaders(reply.raw, apiHeaders);
      void sendProblem(reply, toProblem(err));
    },
    ajv: {
      // The contract refuses unknown fields and wrong types instead of silently fixing them.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => sendProblem(reply, new MamoriError('not_found', `No route for ${req.method} ${req.url.split('?')[0]?.slice(0, 100)}`)));

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJson(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser(['application/pskc+xml', 'application/xml', 'text/xml'], { parseAs: 'buffer' }, (req, body, done) =>
    req.routeOptions.config.rawBody ? done(null, body) : done(new MamoriError('unsupported_media_type'), undefined),
  );
  // JSON lines (the user import): kept raw, so each line is decoded and reported on its own.
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'buffer' }, (req, body, done) =>
    req.routeOptions.config.rawBody ? done(null, body) : done(new MamoriError('unsupported_media_type'), undefined),
  );

  const oidc = new OidcProvider(s);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Mamori', version: '1', description: 'Sign-in and multi-factor authentication' },
    },
  });
  // Cookies are parsed when a route reads one (cookies.ts readCookie), not for every request:
  // /healthz, /metrics, the console's files and the OpenID Connect routes never look.
  await app.register(cookie, { hook: false });
  // One synchronous hook for every request (each hook is a step on the hot path): the route's
  // security headers, then the cross-site check of state-changing requests. The OpenID Connect library's
  // routes (`foreign`) keep their own headers and checks: its token endpoint is called cross-site
  // by design, and its pages carry their own CSP.
  app.addHook('onRequest', (req, reply, done) => {
    if (req.headers.host === undefined && req.raw.httpVersion === '1.1') {
      applySecurityHeaders(reply.raw, apiHeaders);
      return void sendProblem(reply, new MamoriError('validation_failed', 'An HTTP/1.1 request must name its Host'));
    }
    if (req.routeOptions.config.foreign) return done();
    applySecurityHeaders(reply.raw, req.routeOptions.config.document ? documentHeaders : apiHeaders);
    // A path parameter or query value holding U+0000, which PostgreSQL cannot compare as text.
    if (req.url.includes('%00')) return void sendProblem(reply, new MamoriError('validation_failed', 'The URL may not contain %00'));
    if (STATE_CHANGING.has(req.method)) {
      const origin = req.headers.origin;
      if ((origin !== undefined && origin !== s.config.publicUrl) || req.headers['sec-fetch-site'] === 'cross-site') {
        void sendProblem(reply, new MamoriError('forbidden_origin', 'The request came from another site'));
        return;
      }
    }
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    done();
  });
  // The contract refuses unknown input: on a route that takes no body, a body is unknown fields.
  // Attached only to the routes it concerns (state-changing, no body schema), not run for every GET.
  const refuseBody = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!isNoBody(req)) return sendProblem(reply, new MamoriError('validation_failed', 'This endpoint takes no request body'));
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.some((m) => STATE_CHANGING.has(m))) return;
    if (route.schema?.body !== undefined || route.config?.rawBody || route.config?.foreign) return;
    const own = route.preValidation;
    route.preValidation = own === undefined ? [refuseBody] : [refuseBody, ...(Array.isArray(own) ? own : [own])];
  });
  app.addHook('onResponse', (req, reply, done) => {
    s.metrics.observeHttp(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  await app.register(healthRoutes(s));
  await app.register(setupRoutes(s));
  await app.register(signInRoutes(s));
  await app.register(recoveryRoutes(s));
  await app.register(meRoutes(s));
  await app.register(mfaDeviceRoutes(s));
  await app.register(factorRoutes(s));
  await app.register(adminRoutes(s));
  await app.register(forwardAuthRoutes(s));
  await app.register(webRoutes(s));
  await app.register(oidcProviderRoutes(s, oidc));
  await app.register(oidcRoutes(s, oidc));
  await app.register(oidcClientRoutes(s));
  await app.register(auditRoutes(s));
  await app.register(approvalRoutes(s));
  if (s.config.testClock) await app.register(testClockRoutes(s));

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
