import { createServer, type Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createCredential, getAssertion, hasChromium, launchChromium, pageWithAuthenticator, type AuthenticatorPage, SAME_ORIGIN_PAGE } from '../helpers/browser.js';
import { STRONG_PASSWORD, unlockByEmail, createTestUser, startServer, type TestServer } from '../helpers/server.js';

/** Password + emailed code, from inside the page, so the session cookie lives in the browser. */
async function signInInPage(server: TestServer, tab: AuthenticatorPage, email: string) {
  const r = await api(tab.page, 'POST', '/api/v1/sign-in', { email, password: STRONG_PASSWORD });
  expect(r.status).toBe(200);
  if (r.body.status === 'email_code_sent') {
    expect((await api(tab.page, 'POST', '/api/v1/sign-in/email-code', { code: await server.lastCode(email) })).status).toBe(200);
  }
  return r.body;
}

async function register(tab: AuthenticatorPage, name: string) {
  const options = await api(tab.page, 'POST', '/api/v1/me/mfa-devices/webauthn-options', {});
  expect(options.status).toBe(200);
  const credential = await createCredential(tab.page, options.body);
  const r = await api(tab.page, 'POST', '/api/v1/me/mfa-devices/webauthn', { name, credential });
  return { ...r, credential, options: options.body };
}

/** Password, then the security key as the second factor; returns the assertion that was used. */
async function signInWithKey(tab: AuthenticatorPage, email: string) {
  const first = await api(tab.page, 'POST', '/api/v1/sign-in', { email, password: STRONG_PASSWORD });
  expect(first.body).toMatchObject({ status: 'mfa_required' });
  const options = await api(tab.page, 'POST', '/api/v1/sign-in/mfa/webauthn-options', {});
  expect(options.status).toBe(200);
  const credential = await getAssertion(tab.page, options.body);
  const r = await api(tab.page, 'POST', '/api/v1/sign-in/mfa', { method: 'webauthn', credential });
  return { ...r, credential, methods: first.body.methods };
}

describe.skipIf(!hasChromium)('passkeys and security keys in Chromium with a CDP virtual authenticator', () => {
  let server: TestServer;
  let browser: Browser;
  let elsewhere: Server;
  let elsewhereUrl: string;
  beforeAll(async () => {
    server = await startServer();
    browser = await launchChromium();
    // Another origin that could host a phishing page asking for the same RP ID.
    elsewhere = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
    await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.1', r));
    elsewhereUrl = `http://localhost:${(elsewhere.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => elsewhere?.close(r));
    await server?.close();
  });

  it('a security key: registration, second factor, replay, stale challenge, other origin, cloned counter', async () => {
    await createTestUser(server, 'ken@example.com');
    const tab = await pageWithAuthenticator(browser, server.config.publicUrl, 'securityKey');
    await signInInPage(server, tab, 'ken@example.com');

    const reg = await register(tab, 'Blue key');
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    expect(reg.body).toMatchObject({ device: { name: 'Blue key', type: 'webauthn', authenticator: 'Security key' } });
    expect(reg.body.recoveryCodes).toHaveLength(10);
    const opts = reg.options as { challenge: string; authenticatorSelection: Record<string, unknown>; pubKeyCredParams: Array<{ alg: number }>; attestation: string };
    expect(Buffer.from(opts.challenge, 'base64url')).toHaveLength(32);
    expect(opts.authenticatorSelection).toMatchObject({ residentKey: 'preferred', userVerification: 'preferred' });
    expect(opts.pubKeyCredParams.map((p) => p.alg)).toEqual([-8, -7, -257]);
    expect(opts.attestation).toBe('none');
    // The same key again: excluded by the options, so the browser refuses to make a second one.
    const again = await api(tab.page, 'POST', '/api/v1/me/mfa-devices/webauthn-options', {});
    expect((again.body.excludeCredentials as unknown[]).length).toBe(1);

    expect((await api(tab.page, 'POST', '/api/v1/sign-out')).status).toBe(204);
    const mfa = await signInWithKey(tab, 'ken@example.com');
    expect(mfa.methods).toContain('webauthn');
    expect(mfa.status, JSON.stringify(mfa.body)).toBe(200);
    expect(mfa.body).toMatchObject({ status: 'signed_in', session: { aal: 2 } });
    const amr = (mfa.body.session as { amr: string[] }).amr;
    expect(amr).toEqual(expect.arrayContaining(['pwd', 'hwk', 'mfa']));

    // Replayed assertion in a new sign-in: its challenge is gone.
    await api(tab.page, 'POST', '/api/v1/sign-in', { email: 'ken@example.com', password: STRONG_PASSWORD });
    await api(tab.page, 'POST', '/api/v1/sign-in/mfa/webauthn-options', {});
    const replay = await api(tab.page, 'POST', '/api/v1/sign-in/mfa', { method: 'webauthn', credential: mfa.credential });
    expect(replay.status).toBe(401);

    // A stale challenge (step-up options 6 minutes old) is refused.
    const stale = await api(tab.page, 'POST', '/api/v1/me/step-up/webauthn-options', {});
    server.clock.advance(6 * 60_000);
    const late = await getAssertion(tab.page, stale.body);
    expect((await api(tab.page, 'POST', '/api/v1/me/step-up', { method: 'webauthn', credential: late })).status).toBe(401);
    const fresh = await api(tab.page, 'POST', '/api/v1/me/step-up/webauthn-options', {});
    const ok = await api(tab.page, 'POST', '/api/v1/me/step-up', { method: 'webauthn', credential: await getAssertion(tab.page, fresh.body) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);

    // An assertion made on another origin (same RP ID) is refused.
    await api(tab.page, 'POST', '/api/v1/sign-in', { email: 'ken@example.com', password: STRONG_PASSWORD });
    const forOther = await api(tab.page, 'POST', '/api/v1/sign-in/mfa/webauthn-options', {});
    await tab.page.goto(`${elsewhereUrl}/`);
    const phished = await getAssertion(tab.page, forOther.body);
    await tab.page.goto(`${server.config.publicUrl}${SAME_ORIGIN_PAGE}`);
    expect((await api(tab.page, 'POST', '/api/v1/sign-in/mfa', { method: 'webauthn', credential: phished })).status).toBe(401);

    // Someone with the password provokes the MFA lock with wrong codes: codes are refused
    // from then on, but the owner's security key (which cannot be guessed) still works.
    for (let i = 0; i < 10; i++) {
      await api(tab.page, 'POST', '/api/v1/sign-in', { email: 'ken@example.com', password: STRONG_PASSWORD });
      await api(tab.page, 'POST', '/api/v1/sign-in/mfa', { method: 'recovery_code', code: 'aaaaa-aaaaa' });
    }
    await api(tab.page, 'POST', '/api/v1/sign-in', { email: 'ken@example.com', password: STRONG_PASSWORD });
    expect((await api(tab.page, 'POST', '/api/v1/sign-in/mfa', { method: 'recovery_code', code: (reg.body.recoveryCodes as string[])[0] })).body).toMatchObject({ status: 423, code: 'mfa_locked' });
    const despiteLock = await signInWithKey(tab, 'ken@example.com');
    expect(despiteLock.status, JSON.stringify(despiteLock.body)).toBe(200);

    // A clone: the same key with its counter wound back is refused, audited and notified.
    const { credentials } = await tab.cdp.send('WebAuthn.getCredentials', { authenticatorId: tab.authenticatorId });
    const original = credentials[0]!;
    expect(original.signCount).toBeGreaterThan(0);
    await tab.cdp.send('WebAuthn.removeCredential', { authenticatorId: tab.authenticatorId, credentialId: original.credentialId });
    await tab.cdp.send('WebAuthn.addCredential', { authenticatorId: tab.authenticatorId, credential: { ...original, signCount: 0 } });
    const cloned = await signInWithKey(tab, 'ken@example.com');
    expect(cloned.status).toBe(401);
    const audit = await server.services.audit.list({ limit: 1000 });
    expect(audit.some((e) => e.type === 'webauthn_counter_regression')).toBe(true);
    // The warning is mailed beside the step's transaction, not waited for by the answer.
    await expect.poll(async () => (await server.outbox()).some((m) => m.to === 'ken@example.com' && m.kind === 'security_key_clone_suspected'), { timeout: 5000 }).toBe(true);
    await tab.context.close();
  });

  it('a passkey: passwordless sign-in, and the same credential refused for a second user', async () => {
    await createTestUser(server, 'lena@example.com');
    const tab = await pageWithAuthenticator(browser, server.config.publicUrl, 'passkey');
    await signInInPage(server, tab, 'lena@example.com');
    const reg = await register(tab, 'Laptop');
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    const options = reg.options as { user: { id: string; name: string } };
    // The user handle is 64 random bytes, no personal data.
    expect(Buffer.from(options.user.id, 'base64url')).toHaveLength(64);
    expect(Buffer.from(options.user.id, 'base64url').toString('latin1')).not.toContain('lena');

    expect((await api(tab.page, 'POST', '/api/v1/sign-out')).status).toBe(204);
    const popts = await api(tab.page, 'POST', '/api/v1/sign-in/passkey-options', {});
    expect(popts.body).toMatchObject({ userVerification: 'required' });
    expect(popts.body.allowCredentials ?? []).toEqual([]);
    // SEC-35: the user handle is not covered by the signature; a swapped one must not pass.
    const swapped = await getAssertion(tab.page, popts.body);
    const otherHandle = Buffer.from('someone else entirely').toString('base64url');
    const forged = { ...swapped, response: { ...(swapped.response as object), userHandle: otherHandle } };
    expect((await api(tab.page, 'POST', '/api/v1/sign-in/passkey', { credential: forged })).status).toBe(401);
    const popts2 = await api(tab.page, 'POST', '/api/v1/sign-in/passkey-options', {});
    const assertion = await getAssertion(tab.page, popts2.body);
    const signed = await api(tab.page, 'POST', '/api/v1/sign-in/passkey', { credential: assertion });
    expect(signed.status, JSON.stringify(signed.body)).toBe(200);
    expect(signed.body).toMatchObject({ status: 'signed_in', session: { aal: 2, user: { email: 'lena@example.com' } } });
    expect((signed.body.session as { amr: string[] }).amr).toEqual(expect.arrayContaining(['user', 'mfa']));
    expect((await api(tab.page, 'POST', '/api/v1/sign-in/passkey', { credential: assertion })).status).toBe(401);

    // Strangers hammering the password lock the password (423), not the passkey.
    const lena = (await server.services.users.findByEmail('lena@example.com'))!;
    await server.services.store.db
      .insertInto('attempt_budgets')
      .values({ key: server.services.regulator.password({ userId: lena.id }).key, failures: 100, pending: 0, lease_until: 0, window_start: 0, locked_at: server.clock.now(), updated_at: server.clock.now() })
      .onConflict((oc) => oc.column('key').doUpdateSet({ failures: 100, locked_at: server.clock.now() }))
      .execute();
    expect((await api(tab.page, 'POST', '/api/v1/sign-in', { email: 'lena@example.com', password: STRONG_PASSWORD })).status).toBe(423);
    const again = await api(tab.page, 'POST', '/api/v1/sign-in/passkey-options', {});
    const stillIn = await api(tab.page, 'POST', '/api/v1/sign-in/passkey', { credential: await getAssertion(tab.page, again.body) });
    expect(stillIn.status, JSON.stringify(stillIn.body)).toBe(200);
    await unlockByEmail(server, 'lena@example.com');

    // Another user replays Lena's attestation with their own challenge (attestation "none" signs nothing).
    await createTestUser(server, 'mika@example.com');
    const other = await pageWithAuthenticator(browser, server.config.publicUrl, 'passkey');
    await signInInPage(server, other, 'mika@example.com');
    const theirs = await api(other.page, 'POST', '/api/v1/me/mfa-devices/webauthn-options', {});
    const clientData = Buffer.from(
      JSON.stringify({ type: 'webauthn.create', challenge: theirs.body.challenge, origin: server.config.publicUrl, crossOrigin: false }),
    ).toString('base64url');
    const stolen = { ...reg.credential, response: { ...(reg.credential.response as object), clientDataJSON: clientData } };
    const dup = await api(other.page, 'POST', '/api/v1/me/mfa-devices/webauthn', { name: 'Not mine', credential: stolen });
    expect(dup.status, JSON.stringify(dup.body)).toBe(409);
    expect(dup.body.code).toBe('credential_in_use');
    await tab.context.close();
    await other.context.close();
  });
});
