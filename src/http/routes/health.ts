import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import type { Services } from '../../services.js';

export function healthRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
      try {
        await sql`select 1`.execute(s.store.db);
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
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      reply.type(s.metrics.registry.contentType);
      return s.metrics.registry.metrics();
    });
  };
}
