import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpired } from '../../src/flows/housekeeping.js';
import { DEFAULT_PUBLISH_AHEAD_MS, KEEP_RETIRED_MS } from '../../src/flows/signing-keys.js';
import { databases } from '../helpers/db.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe.each(databases)('signing key ring on $name', ({ name, skip }) => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    if (skip) return;
    a = await startServer({ database: name });
    b = await startServer({ shareWith: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it.skipIf(skip)('publishes a new key first, signs with it after its time, keeps the old one a day, then drops it; both instances agree', async () => {
    const ring = a.services.signingKeys;
    const [first] = ring.ordered();
    expect(first).toBeDefined();
    // Both instances opened the same store: one first key, not two.
    expect(b.services.signingKeys.ordered().map((k) => k.kid)).toEqual([first!.kid]);
    const oldToken = ring.sign({ sub: 'u', iat: Math.floor(a.clock.now() / 1000) });

    const before = a.clock.now();
    const rotated = await ring.rotate();
    expect(rotated.signsFrom - before).toBeGreaterThanOrEqual(DEFAULT_PUBLISH_AHEAD_MS);
    expect(rotated.signsFrom - a.clock.now()).toBeLessThanOrEqual(DEFAULT_PUBLISH_AHEAD_MS);
    expect(ring.jwks().keys.map((k) => k.kid).sort()).toEqual([first!.kid, rotated.kid].sort());
    expect(ring.signing()!.kid).toBe(first!.kid);

    a.clock.advance(DEFAULT_PUBLISH_AHEAD_MS);
    expect(ring.signing()!.kid).toBe(rotated.kid);
    expect(ring.ordered()[0]!.kid).toBe(rotated.kid);
    await b.services.signingKeys.refresh();
    expect(b.services.signingKeys.signing()!.kid).toBe(rotated.kid);
    const newToken = b.services.signingKeys.sign({ sub: 'u' });

    // The old key is retired now, but still verifies what it signed.
    expect((await purgeExpired(a.services)).signingKeys).toEqual({ retired: 1, deleted: 0 });
    const jwks = createLocalJWKSet(ring.jwks());
    await jwtVerify(oldToken, jwks);
    await jwtVerify(newToken, jwks);

    a.clock.advance(KEEP_RETIRED_MS + 1);
    expect((await purgeExpired(a.services)).signingKeys).toEqual({ retired: 0, deleted: 1 });
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([rotated.kid]);
    await expect(jwtVerify(oldToken, createLocalJWKSet(ring.jwks()))).rejects.toThrow();
    // Private parts never leave the ring's JWKS.
    expect(JSON.stringify(ring.jwks())).not.toMatch(/"d":/);
  });

  it.skipIf(skip)('keys are sealed at rest: the stored row holds no private key in the clear', async () => {
    const rows = await a.services.store.db.selectFrom('signing_keys').selectAll().execute();
    for (const row of rows) {
      expect(row.public_jwk).not.toMatch(/"d":/);
      const privateJwk = a.services.signingKeys.ordered().find((k) => k.kid === row.id)?.privateJwk;
      if (privateJwk?.d) expect(row.secret_sealed).not.toContain(privateJwk.d);
    }
  });

  it.skipIf(skip)('housekeeping sweeps expired OpenID Connect rows', async () => {
    const now = a.clock.now();
    await a.services.oidcPayloads.upsert({ model: 'AuthorizationCode', id: 'old', payload: '{}', accountId: null, expiresAt: now - 1, grantId: null, uid: null, userCode: null, now });
    await a.services.oidcPayloads.upsert({ model: 'AuthorizationCode', id: 'live', payload: '{}', accountId: null, expiresAt: now + 60_000, grantId: null, uid: null, userCode: null, now });
    expect((await purgeExpired(a.services)).oidcPayloads).toBe(1);
    expect(await a.services.oidcPayloads.find('AuthorizationCode', 'live', now)).toBeDefined();
    expect(await a.services.oidcPayloads.find('AuthorizationCode', 'old', now - 10)).toBeUndefined();
  });
});
