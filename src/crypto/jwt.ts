import { sign, type KeyObject } from 'node:crypto';

/**
 * A compact JWS with ES256, signed synchronously with node:crypto: it sits on the forward-auth
 * path (every proxied request), where WebCrypto's promise would queue behind password hashes in
 * libuv's pool. The tests verify its output with `jose` against the published JWKS.
 */
export function signEs256(payload: Record<string, unknown>, key: KeyObject, kid: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${header}.${body}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${body}.${signature.toString('base64url')}`;
}
