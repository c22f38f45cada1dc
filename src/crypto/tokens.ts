import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** An opaque 256-bit bearer token, base64url. Only its SHA-256 is ever stored. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

export function hmacHex(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('hex');
}

/** Equal-length comparison without an early exit; unequal lengths compare a dummy to keep timing flat. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

export function newId(): string {
  return randomBytes(16).toString('base64url');
}
