// A complete OpenID Connect client for Mamori: MAMORI=https://id.example.com CLIENT_ID=… CLIENT_SECRET=… node oidc-app.mjs
// (from `mamori client create --name Demo --redirect-uri http://localhost:3000/cb --min-acr urn:mamori:aal2 --json`).
import { createServer } from 'node:http';
import * as oidc from 'openid-client';

const port = Number(process.env.PORT ?? 3000), redirect_uri = `http://localhost:${port}/cb`;
const insecure = process.env.MAMORI.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {}; // a local try-out only
const config = await oidc.discovery(new URL(process.env.MAMORI), process.env.CLIENT_ID, undefined, oidc.ClientSecretBasic(process.env.CLIENT_SECRET), insecure);
const pending = new Map(); // state → PKCE verifier (a real app keeps it in a signed cookie or its session store)

createServer(async (req, res) => {
  const url = new URL(req.url, redirect_uri);
  if (url.pathname === '/') {
    const verifier = oidc.randomPKCECodeVerifier(), state = oidc.randomState();
    pending.set(state, verifier);
    const to = oidc.buildAuthorizationUrl(config, {
      redirect_uri, scope: 'openid email profile groups', state, acr_values: 'urn:mamori:aal2',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    return res.writeHead(302, { location: to.href }).end();
  }
  if (url.pathname !== '/cb') return res.writeHead(404).end();
  const state = url.searchParams.get('state');
  const tokens = await oidc.authorizationCodeGrant(config, url, { pkceCodeVerifier: pending.get(state), expectedState: state });
  pending.delete(state);
  const { email, acr, amr } = tokens.claims(); // acr: urn:mamori:aal2 or urn:mamori:phr; amr says how (otp, hwk, mfa…)
  res.writeHead(200, { 'content-type': 'text/plain' }).end(`Hello ${email}: ${acr} (${amr.join(' ')})\n`);
}).listen(port);
