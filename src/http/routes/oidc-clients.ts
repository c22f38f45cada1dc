import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createClient, deleteClient, listClients } from '../../flows/oidc-clients.js';
import { ACR_VALUES } from '../../flows/levels.js';
import type { Services } from '../../services.js';
import { requireAdmin } from '../auth.js';
import { NoContent } from './schemas.js';

const Uri = Type.String({ minLength: 1, maxLength: 2000 });
const ClientSchema = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  redirectUris: Type.Array(Type.String()),
  postLogoutRedirectUris: Type.Array(Type.String()),
  public: Type.Boolean(),
  thirdParty: Type.Boolean(),
  minAcr: Type.Union([Type.String(), Type.Null()]),
  allowedGroups: Type.Array(Type.String()),
  createdAt: Type.String(),
});

/** `/api/v1/admin/oidc-clients`: the OpenID Connect clients, for administrators at aal 2. */
export function oidcClientRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api/v1/admin/oidc-clients',
      {
        schema: {
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 100 }),
              redirectUris: Type.Array(Uri, { minItems: 1, maxItems: 20 }),
              postLogoutRedirectUris: Type.Optional(Type.Array(Uri, { maxItems: 20 })),
              public: Type.Optional(Type.Boolean()),
              minAcr: Type.Optional(Type.Union(ACR_VALUES.map((v) => Type.Literal(v)))),
              thirdParty: Type.Optional(Type.Boolean()),
              allowedGroups: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 })),
            },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ client: ClientSchema, clientId: Type.String(), clientSecret: Type.Optional(Type.String()) }) },
        },
      },
      async (req, reply) => {
        const { user } = await requireAdmin(s, req);
        const r = await createClient(s, req.body, `user:${user.id}`);
        return reply.code(201).send({ client: r.client, clientId: r.client.clientId, ...(r.clientSecret === undefined ? {} : { clientSecret: r.clientSecret }) });
      },
    );

    app.get('/api/v1/admin/oidc-clients', { schema: { response: { 200: Type.Object({ clients: Type.Array(ClientSchema) }) } } }, async (req) => {
      await requireAdmin(s, req);
      return { clients: await listClients(s) };
    });

    app.delete(
      '/api/v1/admin/oidc-clients/:clientId',
      { schema: { params: Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 100 }) }), response: { 204: NoContent('The client is deleted') } } },
      async (req, reply) => {
        const { user } = await requireAdmin(s, req);
        await deleteClient(s, req.params.clientId, `user:${user.id}`);
        return reply.code(204).send();
      },
    );
  };
}
