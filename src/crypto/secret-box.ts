import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for secrets at rest (TOTP seeds, imported token keys). Each sealed value names the
 * key that sealed it, so `mamori keys rotate` can re-seal row by row while old keys still open.
 * The row's own id is bound in as associated data: a ciphertext copied onto another row won't open.
 */
export interface Sealed {
  keyId: string;
  /** base64(iv ‖ tag ‖ ciphertext) */
  value: string;
}

/** A sealed value kept as JSON text (in `settings`); `what` names it in the error. */
export function parseSealed(json: string, what: string): Sealed {
  const v: unknown = JSON.parse(json);
  if (typeof v !== 'object' || v === null || !('keyId' in v) || !('value' in v) || typeof v.keyId !== 'string' || typeof v.value !== 'string') {
    throw new Error(`${what} is not a sealed value`);
  }
  return { keyId: v.keyId, value: v.value };
}

export class SecretBox {
  readonly #keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    for (const key of keys) {
      if (key.length !== 32) throw new Error('master keys are 32 bytes');
      this.#keys.set(SecretBox.keyIdOf(key), key);
    }
    this.currentKeyId = SecretBox.keyIdOf(keys[0]!);
  }

  static keyIdOf(key: Buffer): string {
    return createHash('sha256').update('mamori-key-id').update(key).digest('hex').slice(0, 12);
  }

  /** A sub-key for HMACs (e.g. of emailed codes), derived so it never equals the sealing key. */
  deriveKey(purpose: string): Buffer {
    return createHash('sha256').update(this.#keys.get(this.currentKeyId)!).update(`mamori:${purpose}`).digest();
  }

  seal(plain: Buffer, aad: string): Sealed {
    const key = this.#keys.get(this.currentKeyId)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { keyId: this.currentKeyId, value: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64') };
  }

  open(sealed: Sealed, aad: string): Buffer {
    const key = this.#keys.get(sealed.keyId);
    if (!key) throw new Error(`no master key with id ${sealed.keyId} is configured`);
    const raw = Buffer.from(sealed.value, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  }
}
