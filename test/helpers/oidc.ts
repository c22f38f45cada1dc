import * as oidc from 'openid-client';
import { expect } from 'vitest';
import { createClient, type NewClient } from '../../src/flows/oidc-clients.js';
import type { Client } from './client.js';
import { appCode } from './otp.js';
import { STRONG_PASSWORD, type TestServer } from './server.js';

export const CALLBACK = 'http://127.0.0.1:65501/cb';
export const AFTER_LOGOUT = 'http://127.0.0.1:65501/bye';

export interface Rp {
  redirectUri: string;
  clientId: string;
  clientSecret: string | undefined;
  config: oidc.Configuration;
}

/** Registers a client (as `mamori client create` does) and discovers the server as openid-client does. */
/**
 * `via`: the instance the application's own requests (discovery, token, userinfo) go to, as a load
 * balancer would send them, while the issuer stays the public URL.
 */
export async function registerRp(server: TestServer, opts: Partial<NewClient> = {}, via: TestServer = server): Promise<Rp> {
  const { client, clientSecret } = await createClient(
    server.services,
    { name: 'Test app', redirectUris: [CALLBACK], postLogoutRedirectUris: [AFTER_LOGOUT], ...opts },
    'test',
  );
  const auth = clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(clientSecret);
  // The issuer is the public URL (localhost); openid-client requires it to match discovery exactly.
  const publicUrl = server.config.publicUrl;
  const config = await oidc.discovery(new URL(publicUrl), client.clientId, undefined, auth, {
    execute: [oidc.allowInsecureRequests],
    ...(via === server ? {} : { [oidc.customFetch]: ((url, options) => fetch(url.replace(publicUrl, via.url), options as RequestInit)) satisfies oidc.CustomFetch }),
  });
  return { redirectUri: client.redirectUris[0]!, clientId: client.clientId, clientSecret, config };
}

export interface Started {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

export async function startAuthorization(rp: Rp, params: Record<string, string> = {}): Promise<Started> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: 'openid email profile groups offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url, verifier, state, nonce };
}

export type Landing = { kind: 'callback'; url: URL } | { kind: 'console'; route: string; params: URLSearchParams } | { kind: 'page'; status: number; text: string };

/**
 * Follows the browser's redirects from `start` through the server (any of `servers`, as a load
 * balancer would spread them) until it lands on the client's callback, on a console screen, or on
 * a page of the server.
 */
export async function follow(browser: Client, start: URL | string, servers: TestServer[]): Promise<Landing> {
  let next = new URL(start);
  for (let hop = 0; hop < 12; hop++) {
    // Anywhere but Mamori itself is the application.
    if (!servers.some((s) => next.origin === new URL(s.url).origin || next.origin === s.config.publicUrl)) return { kind: 'callback', url: next };
    if (next.pathname.startsWith('/console/')) {
      const hash = next.hash.slice(1);
      const q = hash.indexOf('?');
      return { kind: 'console', route: q >= 0 ? hash.slice(0, q) : hash, params: new URLSearchParams(q >= 0 ? hash.slice(q + 1) : '') };
    }
    const target = servers[hop % servers.length]!;
    const r = await browser.request('GET', next.pathname + next.search, undefined, {}, target.url);
    const location = r.headers.get('location');
    if (r.status < 300 || r.status >= 400 || !location) return { kind: 'page', status: r.status, text: r.text };
    next = new URL(location, target.config.publicUrl);
  }
  throw new Error('too many redirects');
}

/** Password, then the authenticator app: the browser's session at aal 2. */
export async function signInWithApp(server: TestServer, browser: Client, email: string, secret: string): Promise<void> {
  const first = await browser.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
  expect(first.body, first.text).toMatchObject({ status: 'mfa_required' });
  // Each time step's code is accepted once (and assigning used two): move past them, as a person waiting would.
  server.clock.advance(60_000);
  const second = await browser.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(secret, server.clock.now()) });
  expect(second.status, second.text).toBe(200);
}

export async function exchange(rp: Rp, started: Started, landing: Landing) {
  expect(landing.kind, JSON.stringify(landing).slice(0, 300)).toBe('callback');
  if (landing.kind !== 'callback') throw new Error('no callback');
  return oidc.authorizationCodeGrant(rp.config, landing.url, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
}
