/**
 * Users through the public API, as an administrator and a new user do it: the administrator
 * creates the user, who signs in with the password and the emailed code and assigns an
 * authenticator app (its first device, so a set of recovery codes too). Prints users/s.
 *   node --import tsx bench/onboarding.ts      N=160 users, C=8 at a time (env N, C)
 * Not a row of npm run bench: issue 12's users/s target is measured with it (docs/benchmarks.md).
 */
import { enrollTotp, randomPassword, setupAdmin } from './api.js';
import { call, cookieOf, expectStatus, field, stringField } from './client.js';
import { inPool } from './measure.js';
import { prepareInstance, startMamori, stopMamori } from './servers.js';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
const instance = await prepareInstance('onboarding');
const m = await startMamori(instance);
const admin = await setupAdmin(m, 'admin@example.com', randomPassword());
const raised = await enrollTotp(m, admin, () => Date.now());
const N = Number(process.env.N ?? 160);
const password = randomPassword();
const codeFor = (email: string) => {
  const dir = path.join(instance.dataDir, 'outbox');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort().reverse()) {
    const mail = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as unknown;
    if (field(mail, 'kind') === 'email_code' && field(mail, 'to') === email) return /\b(\d{6})\b/.exec(stringField(mail, 'text'))![1]!;
  }
  throw new Error('no code');
};
const emails = Array.from({ length: N }, (_, i) => `new-${i}@example.com`);
const t = performance.now();
await inPool(emails, Number(process.env.C ?? 8), async (email) => {
  expectStatus(await call(m.url, 'POST', '/api/v1/admin/users', { json: { email, password }, cookie: `mamori_session=${raised.session}` }), 201, 'create');
  const first = expectStatus(await call(m.url, 'POST', '/api/v1/sign-in', { json: { email, password } }), 200, 'sign-in');
  const second = expectStatus(await call(m.url, 'POST', '/api/v1/sign-in/email-code', { json: { code: codeFor(email) }, cookie: `mamori_signin=${cookieOf(first, 'mamori_signin')}` }), 200, 'code');
  await enrollTotp(m, cookieOf(second, 'mamori_session'), () => Date.now());
});
const s = (performance.now() - t) / 1000;
console.log(`${N} users created, signed in and assigned an app in ${s.toFixed(1)} s: ${(N / s).toFixed(1)} users/s`);
await stopMamori(m); await instance.release(); process.exit(0);
