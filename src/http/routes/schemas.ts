import { Type } from '@fastify/type-provider-typebox';

/**
 * Shared pieces of the route schemas; each route keeps its own schema beside it. The field schemas
 * live in src/schemas/fields.ts, so the command line checks its input against the same definitions.
 */
export { Code, Email, Empty, Id, Locale, Name, Password, PskcKeyHex, PskcPassword, Role } from '../../schemas/fields.js';

export const SessionSchema = Type.Object({
  user: Type.Object({ id: Type.String(), email: Type.String(), name: Type.String(), role: Type.String() }),
  aal: Type.Integer(),
  amr: Type.Array(Type.String()),
  acr: Type.String(),
  signedInAt: Type.String(),
  mfaVerifiedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String(),
  mfaSetupRequired: Type.Boolean(),
  passwordChangeRequired: Type.Boolean(),
  mfaSetupDeadline: Type.Union([Type.String(), Type.Null()]),
});

export const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Type.String(),
  locale: Type.String(),
  createdAt: Type.String(),
});
