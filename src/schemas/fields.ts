import { Type } from 'typebox';

/**
 * The field schemas every way in shares: the HTTP routes (checked there by Fastify's Ajv) and the
 * command line (checked by TypeBox's `Value`). One definition, so the CLI cannot take a value the
 * API would refuse.
 */

/**
 * `format: 'email'` alone means two different things to the two validators: TypeBox also takes
 * quoted local parts (`"a b"@x.y`), dotless domains (`a@localhost`) and address literals, which
 * Ajv's formats refuse. The pattern is Ajv's own (ajv-formats "full") email expression, written
 * without the `i` flag JSON Schema has no way to say, so both validators refuse the same
 * addresses. (TypeBox's format also caps a DNS label at 63 characters; Ajv does not: there the CLI
 * is the stricter of the two.)
 */
const EMAIL_PATTERN =
  "^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*" +
  '@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$';

export const Email = Type.String({ format: 'email', pattern: EMAIL_PATTERN, minLength: 3, maxLength: 254 });
/** Upper bound for transport only; the policy (15–256 code points) speaks for itself. */
export const Password = Type.String({ minLength: 1, maxLength: 1024 });
export const Name = Type.String({ minLength: 1, maxLength: 100 });
export const Code = Type.String({ minLength: 1, maxLength: 32 });
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('user')]);
export const Locale = Type.Union([Type.Literal('en'), Type.Literal('ja')]);
export const Empty = Type.Object({}, { additionalProperties: false });
/** The pre-shared AES key of an encrypted PSKC file, as hex (128 to 256 bits). */
export const PskcKeyHex = Type.String({ pattern: '^([0-9a-fA-F]{2}){16,32}$' });
/** The passphrase of a PBKDF2-protected PSKC file. */
export const PskcPassword = Type.String({ minLength: 1, maxLength: 256 });
