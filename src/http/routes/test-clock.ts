import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { TestClock } from '../../clock.js';
import type { Services } from '../../services.js';

/** Only with MAMORI_TEST_CLOCK=true: lets black-box tests move server time instead of sleeping. */
export function testClockRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api/v1/test/clock',
      {
        schema: {
          hide: true,
          body: Type.Object({ advanceSeconds: Type.Integer({ minimum: -1e9, maximum: 1e9 }) }, { additionalProperties: false }),
        },
      },
      async (req) => {
        if (!(s.clock instanceof TestClock)) throw new Error('test clock routes need a TestClock');
        s.clock.advance(req.body.advanceSeconds * 1000);
        return { now: new Date(s.clock.now()).toISOString() };
      },
    );
  };
}
