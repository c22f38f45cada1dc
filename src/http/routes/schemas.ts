import { Type } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';
import type { FieldUi } from '../../methods/types.js';

/**
 * Shared pieces of the route schemas; each route keeps its own schema beside it. The field schemas
 * live in src/schemas/fields.ts, so the command line checks its input against the same definitions.
 *
 * Answer schemas also decide what is sent: fast-json-stringify drops every property they do not
 * name, so a schema lists every field its route can return, or stays open (`additionalProperties`).
 */
export { Code, Email, Empty, Id, Locale, Name, Password, PskcKeyHex, PskcPassword, Role } from '../../schemas/fields.js';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** A document passed through as is: the fields named are typed, any others sent unchanged. */
const Open = { additionalProperties: true } as const;

/**
 * An answer without a body (204, or forward-auth's 200): `description` says what it means.
 * `type: 'null'` tells @fastify/swagger there is no content; to the handler it is `send()`.
 */
export const NoContent = (description: string) => Type.Unsafe<void>(Type.Null({ description }));

/**
 * A file to download, not JSON (a CSV, JSON lines): its media type and what it holds. @fastify/swagger
 * takes a `content` map as is; the route sends a string, which Fastify does not serialize.
 */
export const Download = (mediaType: string, description: string) => ({ description, content: { [mediaType]: { schema: Type.String({ description }) } } });

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

/** A user with the groups they belong to (the role is not among them). */
export const GroupedUserSchema = Type.Object({ ...UserSchema.properties, groups: Type.Array(Type.String()) });

/** A user as the administrators' list shows them. */
export const AdminUserSchema = Type.Object({
  ...GroupedUserSchema.properties,
  disabled: Type.Boolean(),
  /** Active MFA devices. */
  mfaDevices: Type.Integer(),
  lastSignInAt: Nullable(Type.String()),
  locked: Type.Boolean(),
  mfaSetupDeadline: Nullable(Type.String()),
});

/**
 * An MFA device's public view (src/flows/devices.ts deviceView): what every device has, and the
 * fields its factor adds (Factor.view; never a secret), kept whatever they are.
 */
export const DeviceSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    type: Type.String(),
    createdAt: Type.String(),
    lastUsedAt: Nullable(Type.String()),
    /** Passkeys and security keys: the authenticator's model, or "Passkey" / "Security key". */
    authenticator: Type.Optional(Type.String()),
    /** Hardware tokens: the serial number. */
    serial: Type.Optional(Type.String()),
  },
  Open,
);

/** A user's active MFA devices and how many they may hold. */
export const DeviceListSchema = Type.Object({ devices: Type.Array(DeviceSchema), limit: Type.Integer() });

/** A device that became active, with the recovery codes a first device brings (shown once). */
export const AssignedDeviceSchema = Type.Object({ device: DeviceSchema, recoveryCodes: Type.Optional(Type.Array(Type.String())) });

/**
 * A device waiting for its proof (`POST …/{id}/activate`), with what its factor shows once (an
 * authenticator app: the secret, its otpauth URI and a QR code of it).
 */
export const PendingDeviceSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    status: Type.Literal('pending'),
    secret: Type.Optional(Type.String()),
    otpauthUri: Type.Optional(Type.String()),
    qrCodeSvg: Type.Optional(Type.String()),
  },
  Open,
);

const CredentialDescriptor = Type.Object({ id: Type.String(), type: Type.String(), transports: Type.Optional(Type.Array(Type.String())) }, Open);
const Extensions = Type.Record(Type.String(), Type.Unknown());

/** WebAuthn PublicKeyCredentialCreationOptionsJSON, for the browser's `navigator.credentials.create()`. */
export const WebauthnCreationOptionsSchema = Type.Object(
  {
    rp: Type.Object({ id: Type.Optional(Type.String()), name: Type.String() }, Open),
    user: Type.Object({ id: Type.String(), name: Type.String(), displayName: Type.String() }, Open),
    challenge: Type.String(),
    pubKeyCredParams: Type.Array(Type.Object({ type: Type.String(), alg: Type.Number() }, Open)),
    timeout: Type.Optional(Type.Number()),
    excludeCredentials: Type.Optional(Type.Array(CredentialDescriptor)),
    authenticatorSelection: Type.Optional(
      Type.Object(
        {
          authenticatorAttachment: Type.Optional(Type.String()),
          residentKey: Type.Optional(Type.String()),
          requireResidentKey: Type.Optional(Type.Boolean()),
          userVerification: Type.Optional(Type.String()),
        },
        Open,
      ),
    ),
    hints: Type.Optional(Type.Array(Type.String())),
    attestation: Type.Optional(Type.String()),
    attestationFormats: Type.Optional(Type.Array(Type.String())),
    extensions: Type.Optional(Extensions),
  },
  Open,
);

/** WebAuthn PublicKeyCredentialRequestOptionsJSON, for the browser's `navigator.credentials.get()`. */
export const WebauthnRequestOptionsSchema = Type.Object(
  {
    challenge: Type.String(),
    timeout: Type.Optional(Type.Number()),
    rpId: Type.Optional(Type.String()),
    allowCredentials: Type.Optional(Type.Array(CredentialDescriptor)),
    userVerification: Type.Optional(Type.String()),
    hints: Type.Optional(Type.Array(Type.String())),
    extensions: Type.Optional(Extensions),
  },
  Open,
);

/** What a factor's browser needs before it can answer, when its ceremony is not WebAuthn: the factor's own document. */
export const FactorOptionsSchema = Type.Object({}, Open);

/**
 * The options schema of a ceremony, by the fields the console asks for: a `webauthn` field is a
 * browser WebAuthn ceremony, whose options are WebAuthn's document; any other factor's are its own.
 */
export function ceremonyOptionsSchema(fields: readonly FieldUi[], kind: 'create' | 'get'): TSchema {
  if (!fields.some((f) => f.kind === 'webauthn')) return FactorOptionsSchema;
  return kind === 'create' ? WebauthnCreationOptionsSchema : WebauthnRequestOptionsSchema;
}
