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
    // Liveness (/healthz) says the process answers; readiness says it can do its work, which
    // needs the database: a load balancer sends no traffic here while it does not answer.
    let unready = false;
    app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
      try {
        await ping(s.store);
        if (unready) s.log.info('database answers again: ready');
        unready = false;
        reply.header('cache-control', 'no-store');
        return { status: 'ready' };
      } catch (err) {
        // Logged once per outage, not at every probe.
        if (!unready) s.log.warn({ err: { message: (err as Error).message, code: (err as { code?: unknown }).code } }, 'database does not answer: not ready');
        unready = true;
        return sendProblem(reply, new MamoriError('service_unavailable', 'The database does not answer'));
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
