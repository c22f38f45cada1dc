import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { checkEmail } from '../../src/cli/shared.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * The CLI checks its options with TypeBox, the API its bodies with Fastify's Ajv; the schemas are
 * the same objects (src/schemas/fields.ts). This holds the two validators to the same verdict on
 * the addresses where their `email` formats differ on their own.
 */
const EMAILS = [
  'a@example.com',
  'A.B+tag@Sub.Example.CO',
  "o'neil{x}|~^`@ex-ample.org",
  'nobody@x.y',
  'weird"<>@example.com',
  '"quoted local"@example.com',
  'dotless@localhost',
  'literal@[192.0.2.1]',
  'a..b@example.com',
  '.a@example.com',
  'a@example.com.',
  'a@-example.com',
  'a@exa_mple.com',
  'é@example.com',
  'a b@example.com',
  'a@example.com\n',
  'a@',
  '@example.com',
  `${'x'.repeat(250)}@e.co`,
];

const cliAccepts = (email: string): boolean => {
  try {
    checkEmail(email);
    return true;
  } catch (err) {
    if (err instanceof UsageError) return false;
    throw err;
  }
};

describe('the CLI and the HTTP API accept the same emails', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.close());

  it.each(EMAILS)('%j', async (email) => {
    const r = await server.client().post('/api/v1/sign-in', { email, password: 'not the password' });
    // 400 is the schema's refusal; an address the schema takes gets the usual wrong-password answer.
    const apiAccepts = r.status !== 400;
    expect(cliAccepts(email), `API answered ${r.status}`).toBe(apiAccepts);
  });
});
