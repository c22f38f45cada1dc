import { Type } from '@fastify/type-provider-typebox';

/** Shared pieces of the route schemas; each route keeps its own schema beside it. */
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
/** Upper bound for transport only; the policy (15–256 code points) speaks for itself. */
export const Password = Type.String({ minLength: 1, maxLength: 1024 });
export const Name = Type.String({ minLength: 1, maxLength: 100 });
export const Code = Type.String({ minLength: 1, maxLength: 32 });
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('user')]);
export const Locale = Type.Union([Type.Literal('en'), Type.Literal('ja')]);
export const Empty = Type.Object({}, { additionalProperties: false });

export const SessionSchema = Type.Object({
  user: Type.Object({ id: Type.String(), email: Type.String(), name: Type.String(), role: Type.String() }),
  aal: Type.Integer(),
  amr: Type.Array(Type.String()),
  signedInAt: Type.String(),
  mfaVerifiedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String(),
  mfaSetupRequired: Type.Boolean(),
});

export const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Type.String(),
  locale: Type.String(),
  createdAt: Type.String(),
});
