import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../../services.js';

/**
 * `GET /api/v1/factors`: what the console shows for each registered factor — its label, how to
 * assign its devices and which fields to ask for — so it can render a factor it has never heard
 * of. Public: it describes the service, nothing about any user.
 */
export function factorRoutes(s: Services): FastifyPluginAsyncTypebox {
  const described = s.methods.factors.all.map((f) => ({
    id: f.id,
    guessable: f.guessable,
    label: f.ui.label,
    deviceLabels: f.ui.deviceLabels,
    proof: f.ui.proof,
    challenge: f.challenge !== undefined,
    assignments: f.assignments.map((a) => ({
      path: a.path,
      deviceType: a.deviceType,
      label: a.ui.label,
      description: a.ui.description,
      fields: a.ui.fields,
      options: a.options !== undefined,
      confirms: a.activate !== undefined,
    })),
  }));
  const answer = { factors: described, passwordless: s.methods.factors.passwordless !== undefined, backupCodes: s.methods.factors.backup !== undefined };
  return async (app) => {
    app.get('/api/v1/factors', async () => answer);
  };
}
