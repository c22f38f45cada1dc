import { randomBytes } from 'node:crypto';
import { parseSealed, type SecretBox } from '../crypto/secret-box.js';
import type { Store } from './db.js';

/** Random secrets every instance must share (the OpenID Connect cookie keys, its DPoP nonce secret). */
export type SharedSecretName = 'oidc_cookie_key' | 'oidc_dpop_nonce_secret';
const NAMES: readonly SharedSecretName[] = ['oidc_cookie_key', 'oidc_dpop_nonce_secret'];

const aad = (name: string) => `setting:${name}`;


/**
 * 32 random bytes kept in `settings`, sealed under the master key: random rather than derived
 * from the master key, so rotating the master key re-seals them and changes nothing they protect.
 */
export class SharedSecrets {
  constructor(private readonly store: Store) {}

  /** Reads the secret, creating it on first use; instances racing to create it all read the one that won. */
  async get(name: SharedSecretName, box: SecretBox): Promise<Buffer> {
    const db = this.store.db;
    let row = await db.selectFrom('settings').select('value').where('key', '=', name).executeTakeFirst();
    if (!row) {
      const fresh = randomBytes(32);
      await db
        .insertInto('settings')
        .values({ key: name, value: JSON.stringify(box.seal(fresh, aad(name))) })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      fresh.fill(0);
      row = await db.selectFrom('settings').select('value').where('key', '=', name).executeTakeFirstOrThrow();
    }
    return box.open(parseSealed(row.value, `settings.${name}`), aad(name));
  }

  /** Re-seals every shared secret under the box's newest key (conditional on the old value); how many it re-sealed. */
  async reseal(box: SecretBox): Promise<number> {
    const db = this.store.db;
    let n = 0;
    for (const name of NAMES) {
      const row = await db.selectFrom('settings').select('value').where('key', '=', name).executeTakeFirst();
      if (!row) continue;
      const old = parseSealed(row.value, `settings.${name}`);
      if (old.keyId === box.currentKeyId) continue;
      const plain = box.open(old, aad(name));
      const sealed = box.seal(plain, aad(name));
      plain.fill(0);
      const r = await db.updateTable('settings').set({ value: JSON.stringify(sealed) }).where('key', '=', name).where('value', '=', row.value).executeTakeFirst();
      n += Number(r.numUpdatedRows);
    }
    return n;
  }
}
