/**
 * HOTP (RFC 4226) and TOTP (RFC 6238) on node:crypto only.
 *
 * Codes are always strings: a leading zero is part of the code, and a code
 * of the wrong length must never be "fixed up" by the verifier (SEC-15).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type OtpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';
export type OtpDigits = 6 | 8;

export interface HotpOptions {
  algorithm: OtpAlgorithm;
  digits: OtpDigits;
}

export interface TotpOptions extends HotpOptions {
  /** Step length in seconds. */
  period: number;
  /** Unix time (seconds) at which step 0 starts; RFC 6238 T0. */
  t0?: number;
}

/**
 * Upper bound on the number of counters a single findCounter /
 * findConsecutivePair call will compute. Callers pick their window from
 * policy (±1 step, HOTP look-ahead ≤ 25, resync ≤ 1000); this cap only stops
 * a bug or a hostile input from turning one verification into an unbounded
 * HMAC loop.
 */
export const MAX_WINDOW = 2000;

const MAX_COUNTER = 0xffff_ffff_ffff_ffffn;

const HMAC_NAMES: Record<OtpAlgorithm, string> = {
  SHA1: 'sha1',
  SHA256: 'sha256',
  SHA512: 'sha512',
};

const MODULI: Record<OtpDigits, number> = { 6: 1_000_000, 8: 100_000_000 };

function checkOptions(opts: HotpOptions): void {
  // Runtime checks too: callers may come from JS or from parsed config.
  if (!Object.hasOwn(HMAC_NAMES, opts.algorithm)) {
    throw new TypeError('unsupported OTP algorithm');
  }
  if (opts.digits !== 6 && opts.digits !== 8) {
    throw new TypeError('OTP digits must be 6 or 8');
  }
}

function checkKey(key: Buffer): void {
  // An empty HMAC key is accepted by OpenSSL and would silently produce a
  // predictable code, so refuse it here rather than rely on every caller.
  if (!Buffer.isBuffer(key) || key.length === 0) {
    throw new TypeError('OTP key must be a non-empty Buffer');
  }
}

function hotpUnchecked(key: Buffer, counter: bigint, opts: HotpOptions): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const mac = createHmac(HMAC_NAMES[opts.algorithm], key).update(msg).digest();
  // RFC 4226 §5.3 dynamic truncation; the offset nibble comes from the last
  // byte for every hash size (RFC 6238 reuses it unchanged for SHA-2).
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fff_ffff;
  return String(binary % MODULI[opts.digits]).padStart(opts.digits, '0');
}

export function hotp(key: Buffer, counter: bigint, opts: HotpOptions): string {
  checkKey(key);
  checkOptions(opts);
  if (typeof counter !== 'bigint' || counter < 0n || counter > MAX_COUNTER) {
    throw new RangeError('HOTP counter must be a bigint in [0, 2^64-1]');
  }
  return hotpUnchecked(key, counter, opts);
}

/**
 * floor((unixSeconds - t0) / period) as a bigint, so steps past 2038 (and
 * past 2^32, RFC 6238 §4.2) are exact.
 */
export function timeStep(unixMs: number, period: number, t0 = 0): bigint {
  if (!Number.isFinite(unixMs)) throw new RangeError('time must be a finite number');
  if (!Number.isSafeInteger(period) || period <= 0) {
    throw new RangeError('period must be a positive integer');
  }
  if (!Number.isSafeInteger(t0)) throw new RangeError('t0 must be an integer');
  const seconds = BigInt(Math.floor(unixMs / 1000)) - BigInt(t0);
  const p = BigInt(period);
  // BigInt division truncates toward zero; the RFC wants floor, which only
  // differs for times before t0.
  const q = seconds / p;
  return seconds < 0n && q * p !== seconds ? q - 1n : q;
}

export function totp(key: Buffer, unixMs: number, opts: TotpOptions): string {
  return hotp(key, timeStep(unixMs, opts.period, opts.t0 ?? 0), opts);
}

function isWellFormedCode(code: string, digits: OtpDigits): boolean {
  return typeof code === 'string' && code.length === digits && /^[0-9]+$/.test(code);
}

function checkWindow(from: bigint, to: bigint): void {
  if (typeof from !== 'bigint' || typeof to !== 'bigint') {
    throw new TypeError('window bounds must be bigints');
  }
  if (to - from + 1n > BigInt(MAX_WINDOW)) {
    throw new RangeError(`OTP window larger than ${MAX_WINDOW} counters`);
  }
}

function inDomain(counter: bigint): boolean {
  return counter >= 0n && counter <= MAX_COUNTER;
}

/**
 * Constant-time equality of two equal-length ASCII digit strings. Length is
 * not secret (it is fixed by the token's configuration), only the content.
 */
function sameCode(a: Buffer, b: string): boolean {
  return timingSafeEqual(a, Buffer.from(b, 'latin1'));
}

/**
 * Returns the first counter in [from, to] whose OTP equals `code`, or null.
 *
 * Every counter in the window is computed and compared even after a match,
 * so the time taken does not reveal where (or whether) the code matched
 * (SEC-15). Counters outside [0, 2^64-1] are skipped, which lets callers
 * pass `stored - 1` style bounds without special-casing the start.
 */
export function findCounter(
  key: Buffer,
  code: string,
  from: bigint,
  to: bigint,
  opts: HotpOptions,
): bigint | null {
  checkKey(key);
  checkOptions(opts);
  checkWindow(from, to);
  if (!isWellFormedCode(code, opts.digits)) return null;
  const wanted = Buffer.from(code, 'latin1');
  let found: bigint | null = null;
  for (let c = from; c <= to; c++) {
    if (!inDomain(c)) continue;
    const hit = sameCode(wanted, hotpUnchecked(key, c, opts));
    if (hit && found === null) found = c;
  }
  return found;
}

/**
 * Returns N in [from, to] such that code1 = OTP(N) and code2 = OTP(N+1), or
 * null. Used for confirming an assignment and HOTP/TOTP resync (RFC 4226
 * §7.4), where a single code is not enough evidence.
 *
 * Identical codes are refused outright: a user typing the same code twice is
 * exactly the mistake (or replay) two-code confirmation is meant to catch,
 * and a genuine OTP(N) == OTP(N+1) collision (≈10^-digits) just means trying
 * again one step later.
 */
export function findConsecutivePair(
  key: Buffer,
  code1: string,
  code2: string,
  from: bigint,
  to: bigint,
  opts: HotpOptions,
): bigint | null {
  checkKey(key);
  checkOptions(opts);
  checkWindow(from, to);
  if (!isWellFormedCode(code1, opts.digits) || !isWellFormedCode(code2, opts.digits)) {
    return null;
  }
  if (code1 === code2) return null;
  const first = Buffer.from(code1, 'latin1');
  const second = Buffer.from(code2, 'latin1');
  let found: bigint | null = null;
  // One HMAC per counter: the OTP for N+1 is carried into the next round.
  let previousHit = false;
  let previousCounter: bigint | null = null;
  for (let c = from; c <= to + 1n; c++) {
    if (!inDomain(c)) {
      previousHit = false;
      previousCounter = null;
      continue;
    }
    const otp = hotpUnchecked(key, c, opts);
    const secondHit = sameCode(second, otp);
    // Bitwise AND so both comparisons always run (no short-circuit).
    const pair = (Number(previousHit) & Number(secondHit)) === 1;
    if (pair && previousCounter !== null && found === null) found = previousCounter;
    previousHit = c <= to && sameCode(first, otp);
    previousCounter = c;
  }
  return found;
}
