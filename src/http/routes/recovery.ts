import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { cancelRecoveryByToken, cancelRecoveryFromSession, confirmRecovery, pendingRecovery, requestLostDevices } from '../../flows/lost-devices.js';
import type { Services } from '../../services.js';
import { callerOf, requireSession } from '../auth.js';
import { Email, NoContent } from './schemas.js';

/** A mailed link's token (newToken: 43 base64url characters); anything else is refused as input. */
const LinkToken = Type.String({ minLength: 20, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The same answer for every address, known or not (no enumeration). */
const Accepted = Type.Object({ status: Type.Literal('accepted') });

const RecoverySchema = Type.Object({
  recovery: Type.Union([
    Type.Null(),
    Type.Object({
      status: Type.Union([Type.Literal('link_sent'), Type.Literal('cooling_off'), Type.Literal('ready')]),
      requestedAt: Type.String(),
      coolingUntil: Type.Union([Type.String(), Type.Null()]),
    }),
  ]),
});

/** "I lost my MFA devices" (src/flows/lost-devices.ts): the link, its cooling-off, and cancelling. */
export function recoveryRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api/v1/sign-in/lost-devices',
      { schema: { body: Type.Object({ email: Email }, { additionalProperties: false }), response: { 202: Accepted } } },
      async (req, reply) => {
        await requestLostDevices(s, req.body.email, callerOf(req));
        return reply.code(202).send({ status: 'accepted' as const });
      },
    );

    app.post(
      '/api/v1/recovery/confirm',
      {
        schema: {
          body: Type.Object({ token: LinkToken }, { additionalProperties: false }),
          response: { 200: Type.Object({ status: Type.Literal('cooling_off'), coolingUntil: Type.String() }) },
        },
      },
      async (req) => {
        const { coolingUntil } = await confirmRecovery(s, req.body.token, callerOf(req));
        return { status: 'cooling_off' as const, coolingUntil: iso(coolingUntil)! };
      },
    );

    app.post(
      '/api/v1/recovery/cancel',
      { schema: { body: Type.Object({ token: LinkToken }, { additionalProperties: false }), response: { 204: NoContent('The recovery is cancelled') } } },
      async (req, reply) => {
        await cancelRecoveryByToken(s, req.body.token, callerOf(req));
        return reply.code(204).send();
      },
    );

    // Any full session may see and cancel: the owner signed in elsewhere stops an attacker's recovery.
    app.get('/api/v1/me/recovery', { schema: { response: { 200: RecoverySchema } } }, async (req) => {
      const { user } = await requireSession(s, req);
      const r = await pendingRecovery(s, user);
      return { recovery: r ? { status: r.status, requestedAt: iso(r.requestedAt)!, coolingUntil: iso(r.coolingUntil) } : null };
    });

    app.delete('/api/v1/me/recovery', { schema: { response: { 204: NoContent('The recovery is cancelled') } } }, async (req, reply) => {
      const { user } = await requireSession(s, req);
      await cancelRecoveryFromSession(s, user, callerOf(req));
      return reply.code(204).send();
    });
  };
}
