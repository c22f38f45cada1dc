import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { acceptInvitation, completeSetup, localeFrom, setupNeeded } from '../../flows/users.js';
import { readSetupToken, type Services } from '../../services.js';
import { callerOf } from '../auth.js';
import { Email, Name, NoContent, Password, UserSchema } from './schemas.js';
import { userView } from './views.js';

export function setupRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/v1/setup', { schema: { response: { 200: Type.Object({ needed: Type.Boolean() }) } } }, async () => ({
      needed: await setupNeeded(s),
    }));

    app.post(
      '/api/v1/invitations/accept',
      {
        config: { statuses: { invalid_code: 400 } },
        schema: {
          body: Type.Object({ token: Type.String({ minLength: 20, maxLength: 100 }), password: Password }, { additionalProperties: false }),
          response: { 204: NoContent('The password is set; the user signs in with it') },
        },
      },
      async (req, reply) => {
        await acceptInvitation(s, req.body.token, req.body.password, callerOf(req));
        return reply.code(204).send();
      },
    );

    app.post(
      '/api/v1/setup',
      {
        schema: {
          body: Type.Object(
            { email: Email, password: Password, name: Type.Optional(Name), setupToken: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ user: UserSchema }) },
        },
      },
      async (req, reply) => {
        const user = await completeSetup(
          s,
          { ...req.body, locale: localeFrom(req.headers['accept-language']) },
          readSetupToken(s.config.dataDir),
          callerOf(req),
        );
        return reply.code(201).send({ user: userView(user) });
      },
    );
  };
}
