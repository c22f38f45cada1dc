/**
 * Server A, production settings (apart from logs at warn and the per-address limit off, since
 * every request comes from 127.0.0.1): /healthz, the session check and the password step.
 */
import { randomBytes } from 'node:crypto';
import { enrollTotp, randomPassword, setupAdmin } from '../api.js';
import { call, expectStatus } from '../client.js';
import { prepareInstance, startMamori, stopMamori, type Memory } from '../servers.js';
import { against, againstHashing, inPool, throughputRow, type Row } from '../measure.js';
import type { Ceilings } from './ceilings.js';
import { percentOf } from '../table.js';

/** Users without MFA for the right-password row: each may be mailed 10 codes an hour. */
const USERS = 200;
const jsonHeaders = { 'content-type': 'application/json' };

export interface ServerRows {
  healthz: Row;
  session: Row;
  unknownEmail: Row;
  rightPassword: Row;
  memory: Memory;
}

export async function serverRows(ceilings: Ceilings): Promise<ServerRows> {
  process.stderr.write('bench: starting mamori (A) and creating users…\n');
  const instance = await prepareInstance('a');
  const a = await startMamori(instance);
  const admin = await setupAdmin(a, 'bench-admin@example.com', randomPassword());
  const raised = await enrollTotp(a, admin, () => Date.now());
  const userPassword = randomPassword();
  const emails = Array.from({ length: USERS }, (_, i) => `bench-user-${String(i).padStart(4, '0')}@example.com`);
  await inPool(emails, 4, async (email) => {
    expectStatus(
      await call(a.url, 'POST', '/api/v1/admin/users', { json: { email, password: userPassword }, cookie: `mamori_session=${raised.session}` }),
      201,
      'POST /api/v1/admin/users',
    );
  });

  const http = await ceilings.http('server A');
  const sameHeaders = await ceilings.httpWithHeadersOf(`${a.url}/healthz`, '/healthz');
  const healthzRow = against(await throughputRow('GET /healthz', 'Fastify + hooks, no I/O', { url: `${a.url}/healthz`, expected: 200 }), http);
  const healthz = { ...healthzRow, note: `${healthzRow.note}; ${percentOf(healthzRow.value, sameHeaders.value)} of node:http sending the same headers` };
  const session = against(
    await throughputRow('GET /api/v1/session', 'cookie → SHA-256 → one SELECT (session joined with its user)', {
      url: `${a.url}/api/v1/session`,
      headers: { cookie: `mamori_session=${raised.session}` },
      expected: 200,
    }),
    http,
  );
  const hashing = await ceilings.passwordCeilings();
  const unknownEmail = againstHashing(
    await throughputRow('password check (argon2id, unknown email)', '401 expected; a fresh random email per request', {
      url: `${a.url}/api/v1/sign-in`,
      method: 'POST',
      headers: jsonHeaders,
      body: () => JSON.stringify({ email: `ghost-${randomBytes(8).toString('hex')}@example.com`, password: 'not the password at all' }),
      expected: 401,
    }),
    hashing,
  );
  let turn = 0;
  const rightPassword = againstHashing(
    await throughputRow('sign-in, right password → email code', `argon2id + a code mailed to the outbox; ${USERS} users in turn`, {
      url: `${a.url}/api/v1/sign-in`,
      method: 'POST',
      headers: jsonHeaders,
      body: () => JSON.stringify({ email: emails[turn++ % emails.length], password: userPassword }),
      expected: 200,
    }),
    hashing,
  );
  const memory = await stopMamori(a);
  await instance.release();
  return { healthz, session, unknownEmail, rightPassword, memory };
}
