import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MamoriError } from '../../errors.js';
import type { Services } from '../../services.js';
import { ping } from '../../store/health.js';
import { sendProblem } from '../problem.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Whether an Authorization header carries the bearer token. Both sides are hashed first, so the
 * comparison is constant-time and its length says nothing about the token's.
 */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), expected);
}

export function healthRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
      try {
        await ping(s.store);
        return { status: 'ready' };
      } catch {
        return reply.code(503).type('application/problem+json').send({
          type: 'tag:mamori,2026:problem:service_unavailable',
          title: 'Service unavailable',
          status: 503,
          code: 'service_unavailable',
          detail: 'The database does not answer',
        });
      }
    });
    // The counters tell who signs in and fails how often: only a scraper holding the token sees
    // them. Without a token configured there is no route at all, so the answer is the usual 404.
    const token = s.config.metricsToken;
    if (token !== undefined) {
      const expected = digest(token);
      app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
        if (!bearerMatches(req.headers.authorization, expected)) {
          reply.header('www-authenticate', 'Bearer realm="mamori-metrics"');
          return sendProblem(reply, new MamoriError('unauthenticated', 'The metrics need Authorization: Bearer with MAMORI_METRICS_TOKEN'));
        }
        reply.type(s.metrics.registry.contentType);
        return s.metrics.registry.metrics();
      });
    }
  };
}
