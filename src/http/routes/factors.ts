import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../../services.js';

/** Words in every language the console speaks (src/methods/types.ts Label). */
const Label = Type.Object({ en: Type.String(), ja: Type.String() });
/** One input the console asks for (src/methods/types.ts FieldUi). */
const Field = Type.Object({ name: Type.String(), kind: Type.Union([Type.Literal('text'), Type.Literal('code'), Type.Literal('webauthn')]), label: Label });

const FactorsSchema = Type.Object({
  factors: Type.Array(
    Type.Object({
      id: Type.String(),
      guessable: Type.Boolean(),
      label: Label,
      /** By device type. */
      deviceLabels: Type.Record(Type.String(), Label),
      proof: Type.Array(Field),
      /** The factor hands out a challenge first (`POST /sign-in/mfa/{id}-options`, `/me/step-up/{id}-options`). */
      challenge: Type.Boolean(),
      assignments: Type.Array(
        Type.Object({
          path: Type.String(),
          deviceType: Type.String(),
          label: Label,
          description: Label,
          fields: Type.Array(Field),
          /** `POST /me/mfa-devices/{path}-options` prepares the browser. */
          options: Type.Boolean(),
          /** The device waits for `POST /me/mfa-devices/{id}/activate`. */
          confirms: Type.Boolean(),
        }),
      ),
    }),
  ),
  passwordless: Type.Boolean(),
  backupCodes: Type.Boolean(),
});

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
    app.get('/api/v1/factors', { schema: { response: { 200: FactorsSchema } } }, async () => answer);
  };
}
