import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../services.js';

/** The console. */
export function webRoutes(_s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/'));
  };
}
