import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { signEs256 } from '../crypto/jwt.js';
import type { SigningKey } from '../store/schema.js';
import type { SigningKeyRepository } from '../store/signing-keys.js';

/** A key's JWKS entry (public) and the private key that signs with it. */
export interface RingKey {
  kid: string;
  publicJwk: JsonWebKey & { kid: string; alg: string; use: 'sig' };
  privateJwk: JsonWebKey & { kid: string; alg: string; use: 'sig' };
  privateKey: KeyObject;
  signsFrom: number;
}

/** How long a retired key stays in the JWKS: longer than any token it signed lives (ID tokens: 1 h). */
export const KEEP_RETIRED_MS = 24 * 3_600_000;
/** A new key is published this long before it signs, so verifiers that cache the JWKS have it first. */
export const DEFAULT_PUBLISH_AHEAD_MS = 10 * 60_000;
/** How often an instance looks for keys another instance (or `mamori keys rotate`) added. */
const REFRESH_MS = 5_000;

const aad = (kid: string) => `signing-key:${kid}`;

function makeKey(box: SecretBox, now: number, signsFrom: number): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const id = `${new Date(now).toISOString().slice(0, 10)}-${randomBytes(6).toString('base64url')}`;
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const sealed = box.seal(der, aad(id));
  der.fill(0);
  return {
    id,
    alg: 'ES256',
    public_jwk: JSON.stringify({ ...publicJwk, kid: id, alg: 'ES256', use: 'sig' }),
    secret_sealed: sealed.value,
    secret_key_id: sealed.keyId,
    created_at: now,
    signs_from: signsFrom,
    retired_at: null,
  };
}

/**
 * The signing keys of every token Mamori issues (OpenID Connect ID tokens, the forward-auth
 * identity token), kept in the store sealed under the master key, so every instance signs with
 * the same keys and a restart changes nothing. Rotation publishes the new key first; the key that
 * signs is the newest whose `signs_from` has passed; the others stay published until their tokens
 * have expired.
 */
export class SigningKeyRing {
  #keys: RingKey[] = [];
  #version = '';
  #checkedAt = -Infinity;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly repo: SigningKeyRepository,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** Loads the ring, creating the first key on a fresh store (it signs at once: nothing cached it yet). */
  async open(): Promise<void> {
    const now = this.clock.now();
    await this.repo.insertFirst(makeKey(this.box, now, now));
    await this.reload();
  }

  /** Looks for changes at most every few seconds; cheap enough to call on every request. */
  async refresh(): Promise<void> {
    if (this.clock.now() - this.#checkedAt < REFRESH_MS) return;
    this.#loading ??= this.reload().finally(() => (this.#loading = undefined));
    await this.#loading;
  }

  private async reload(): Promise<void> {
    const now = this.clock.now();
    this.#checkedAt = now;
    const version = await this.repo.version();
    // Which key signs is decided at each call from `signs_from`, so only a changed set needs a reload.
    if (version === this.#version) return;
    const rows = await this.repo.published(now, KEEP_RETIRED_MS);
    this.#keys = rows.map((row) => {
      const der = this.box.open({ keyId: row.secret_key_id, value: row.secret_sealed }, aad(row.id));
      const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      der.fill(0);
      const publicJwk = JSON.parse(row.public_jwk) as RingKey['publicJwk'];
      return { kid: row.id, publicJwk, privateJwk: { ...privateKey.export({ format: 'jwk' }), kid: row.id, alg: row.alg, use: 'sig' }, privateKey, signsFrom: row.signs_from };
    });
    this.#version = version;
  }

  /** The key that signs now: the newest whose time has come. */
  signing(now = this.clock.now()): RingKey | undefined {
    return this.#keys.filter((k) => k.signsFrom <= now).sort((a, b) => b.signsFrom - a.signsFrom)[0];
  }

  /** Every published key, the signing one first (the OpenID Connect library signs with the first that fits). */
  ordered(now = this.clock.now()): RingKey[] {
    const signing = this.signing(now);
    return signing ? [signing, ...this.#keys.filter((k) => k !== signing)] : [...this.#keys];
  }

  /** A fingerprint of the order: changes when a key is added, removed or starts signing. */
  fingerprint(now = this.clock.now()): string {
    return this.ordered(now).map((k) => k.kid).join(',');
  }

  jwks(now = this.clock.now()): { keys: RingKey['publicJwk'][] } {
    return { keys: this.ordered(now).map((k) => k.publicJwk) };
  }

  /** Signs a JWT with the current key (ES256, synchronous). */
  sign(payload: Record<string, unknown>): string {
    const key = this.signing();
    if (!key) throw new Error('no signing key is ready');
    return signEs256(payload, key.privateKey, key.kid);
  }

  /**
   * Adds a new key that signs after `publishAheadMs`, and marks the keys it replaces retired at
   * that time. Returns the new key id and when it starts signing.
   */
  async rotate(publishAheadMs = DEFAULT_PUBLISH_AHEAD_MS): Promise<{ kid: string; signsFrom: number }> {
    const now = this.clock.now();
    const key = makeKey(this.box, now, now + publishAheadMs);
    await this.repo.insert(key);
    this.#checkedAt = -Infinity;
    await this.refresh();
    return { kid: key.id, signsFrom: key.signs_from };
  }

  /**
   * Housekeeping: marks keys retired once a newer key signs, and deletes keys whose last token
   * has expired.
   */
  async sweep(): Promise<{ retired: number; deleted: number }> {
    const now = this.clock.now();
    await this.refresh();
    const signing = this.signing(now);
    const retired = signing ? await this.repo.retireOthers(signing.kid, now) : 0;
    const deleted = await this.repo.deleteRetiredBefore(now - KEEP_RETIRED_MS);
    if (retired || deleted) {
      this.#checkedAt = -Infinity;
      await this.refresh();
    }
    return { retired, deleted };
  }
}
