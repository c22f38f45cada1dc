/**
 * RFC 6030 PSKC import for hardware HOTP/TOTP tokens (SEC-18).
 *
 * Design constraints, each enforced below:
 * - No DTD processing of any kind: a document containing `<!DOCTYPE`,
 *   `<!ENTITY` (or any other `<!` declaration) is refused before it reaches
 *   the XML parser, so entity expansion / XXE cannot happen whatever the
 *   parser's defaults are.
 * - All-or-nothing: the first bad key package aborts the whole import, with
 *   the package's number and the reason in the error (a value out of range,
 *   a seed too short or too long, too many PBKDF2 rounds…).
 * - Bounded work: numbers are parsed exactly and refused outside what the
 *   store keeps exactly; PBKDF2 is capped and runs off the event loop.
 * - Encrypted values are authenticated (ValueMAC, constant-time compare)
 *   before any decryption, so a tampered file never reaches the CBC padding
 *   check (no padding oracle) and never yields a silently corrupted secret.
 * - Error messages carry no secret material: no values, no decrypted bytes,
 *   no parser messages (which can quote document text).
 */
import {
  createDecipheriv,
  createHmac,
  pbkdf2,
  timingSafeEqual,
} from 'node:crypto';
import {
  Ctx,
  type IntBounds,
  PskcError,
  assertNoDtd,
  decodeBase64,
  decodeXmlText,
  isNode,
  optionalText,
  parseBoundedInt,
  parseXml,
  toText,
  type XmlNode,
} from './pskc-xml.js';
import type { OtpAlgorithm } from '../methods/totp/otp.js';

export { PskcError, type PskcErrorCode } from './pskc-xml.js';

export interface PskcKey {
  serial: string;
  manufacturer?: string;
  model?: string;
  kind: 'totp' | 'hotp';
  algorithm: OtpAlgorithm;
  digits: 6 | 8;
  /** TOTP step in seconds (30 when absent; also filled in for HOTP). */
  period: number;
  /** TOTP T0 in Unix seconds (0 when absent). */
  t0: number;
  /** HOTP moving factor (0 when absent). */
  counter: bigint;
  secret: Buffer;
  issuer?: string;
  keyId?: string;
}

export interface PskcOptions {
  /** Pre-shared transport key (`EncryptionKey/ds:KeyName`). */
  psk?: Buffer;
  /** Passphrase for `EncryptionKey/xenc11:DerivedKey` (PBKDF2). */
  password?: string;
}

// ---------------------------------------------------------------------------
// Algorithm tables

const HOTP_URIS = new Set(['urn:ietf:params:xml:ns:keyprov:pskc:hotp']);
// RFC 6030 only registers HOTP; both TOTP spellings occur in the wild
// (multiOTP exports vs draft-hoyer-keyprov-pskc-algorithm-profiles).
const TOTP_URIS = new Set([
  'urn:ietf:params:xml:ns:keyprov:pskc:totp',
  'urn:ietf:params:xml:ns:keyprov:pskc#totp',
]);

const CIPHERS: ReadonlyMap<string, { name: string; keyLength: number }> = new Map([
  ['http://www.w3.org/2001/04/xmlenc#aes128-cbc', { name: 'aes-128-cbc', keyLength: 16 }],
  ['http://www.w3.org/2001/04/xmlenc#aes192-cbc', { name: 'aes-192-cbc', keyLength: 24 }],
  ['http://www.w3.org/2001/04/xmlenc#aes256-cbc', { name: 'aes-256-cbc', keyLength: 32 }],
]);

const HMACS: ReadonlyMap<string, string> = new Map([
  ['http://www.w3.org/2000/09/xmldsig#hmac-sha1', 'sha1'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha224', 'sha224'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha256', 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha384', 'sha384'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha512', 'sha512'],
]);

const PBKDF2_URIS = new Set([
  'http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2',
  'http://www.w3.org/2009/xmlenc11#pbkdf2',
]);

const SUITES: ReadonlyMap<string, OtpAlgorithm> = new Map([
  ['HMAC-SHA1', 'SHA1'],
  ['HMAC-SHA256', 'SHA256'],
  ['HMAC-SHA512', 'SHA512'],
]);

// PBKDF2 runs on libuv's thread pool, so it no longer stalls the event loop,
// but a file still picks its own cost: uncapped, 10 M rounds hold a pool
// thread for seconds per import. 1 M rounds is about 0.3 s here, and far
// above what vendor tools emit (RFC 6030 Figure 7 uses 1000).
export const MAX_PBKDF2_ITERATIONS = 1_000_000;
// A salt only enters the first HMAC of each block, so its size costs nothing;
// the cap only says that kilobytes of "salt" are a broken file. Real ones are
// 8 (RFC 6030 Figure 7) to 32 bytes.
const MAX_PBKDF2_SALT_BYTES = 64;
// The derived key is an AES key: 16, 24 or 32 bytes.
const MAX_PBKDF2_KEY_LENGTH = 32n;
const AES_BLOCK = 16;

// RFC 4226 R6: the shared secret MUST be at least 128 bits.
export const MIN_SECRET_BYTES = 16;
// HMAC first hashes a key longer than the hash's block size down to one digest
// (RFC 2104 §2), so a longer seed adds no strength; past the block size it is
// a broken or hostile file, not a token. Block sizes per FIPS 180-4.
export const MAX_SECRET_BYTES: Readonly<Record<OtpAlgorithm, number>> = { SHA1: 64, SHA256: 64, SHA512: 128 };

// Counters are stored in a bigint column but read and written as JavaScript
// numbers: above 2^53 − 1 they would be rounded to a different counter (SQLite)
// or overflow the driver (PostgreSQL). No real token gets anywhere near it.
const COUNTER_BOUNDS: IntBounds = { min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER), why: 'the largest counter stored exactly (2^53 − 1)' };
// Time is the TOTP T0 in Unix seconds; past 9999-12-31T23:59:59Z it names no date.
const TIME_BOUNDS: IntBounds = { min: 0n, max: 253_402_300_799n, why: 'past the year 9999' };
// One step of a day at most; the column is a 32-bit integer and no token steps slower.
const TIME_INTERVAL_BOUNDS: IntBounds = { min: 1n, max: 86_400n, why: 'one day' };
// Drift in steps, signed; RFC 6030 types it as xs:int. It is checked so a
// broken value refuses the file, but not applied: drift is learned at
// assignment from the user's two codes.
const TIME_DRIFT_BOUNDS: IntBounds = { min: -(2n ** 31n), max: 2n ** 31n - 1n, why: 'the xs:int range' };

/** PBKDF2 off the event loop; any failure of the derivation itself is reported as one. */
function deriveKey(ctx: Ctx, password: string, salt: Buffer, iterations: number, keyLength: number, digest: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, keyLength, digest, (err, key) => (err ? reject(err) : resolve(key)));
  }).catch(() => ctx.fail('pskc_decrypt_failed', 'PBKDF2 key derivation failed'));
}

// ---------------------------------------------------------------------------
// Container-level crypto: transport key and MAC key

interface EncryptedBlob {
  cipher: { name: string; keyLength: number };
  iv: Buffer;
  ciphertext: Buffer;
  /** IV ‖ ciphertext, exactly the bytes the ValueMAC covers. */
  raw: Buffer;
}

class Crypto {
  private readonly derived = new Map<number, Buffer>();
  private macKey: Buffer | undefined;
  private readonly macAlg: string | undefined;
  private readonly macKeyNode: XmlNode | undefined;

  constructor(
    private readonly container: XmlNode,
    private readonly opts: PskcOptions,
  ) {
    const ctx = new Ctx('MACMethod');
    const mac = ctx.node(container, 'MACMethod');
    if (mac !== undefined) {
      const alg = ctx.attr(mac, 'Algorithm');
      const hash = alg === undefined ? undefined : HMACS.get(alg);
      if (hash === undefined) ctx.fail('pskc_unsupported', 'unsupported MAC algorithm');
      this.macAlg = hash;
      const keyNode = ctx.node(mac, 'MACKey');
      if (keyNode === undefined) {
        // MACKeyReference (out-of-band MAC key) is not something an import
        // CLI can be handed, so it is not supported.
        ctx.fail('pskc_unsupported', 'MACMethod without an embedded MACKey');
      }
      this.macKeyNode = keyNode;
    }
  }

  /** Transport key of the right length for `cipher`. */
  async encryptionKey(ctx: Ctx, cipher: { keyLength: number }): Promise<Buffer> {
    const ek = ctx.node(this.container, 'EncryptionKey');
    const derivedKey = ek === undefined ? undefined : ctx.node(ek, 'DerivedKey');
    if (derivedKey !== undefined) return this.pbkdf2Key(derivedKey, cipher.keyLength);
    if (ek !== undefined && ctx.child(ek, 'KeyName') === undefined && Object.keys(ek).length > 0) {
      // X509Data / asymmetric transport keys (RFC 6030 §6.3).
      ctx.fail('pskc_unsupported', 'only pre-shared and PBKDF2-derived encryption keys are supported');
    }
    const psk = this.opts.psk;
    if (psk === undefined) ctx.fail('pskc_key_required', 'a pre-shared key is required');
    if (psk.length !== cipher.keyLength) {
      ctx.fail('pskc_decrypt_failed', 'pre-shared key length does not match the encryption algorithm');
    }
    return psk;
  }

  private async pbkdf2Key(derivedKey: XmlNode, keyLength: number): Promise<Buffer> {
    const cached = this.derived.get(keyLength);
    if (cached !== undefined) return cached;
    const ctx = new Ctx('EncryptionKey/DerivedKey');
    const method = ctx.node(derivedKey, 'KeyDerivationMethod');
    const alg = method === undefined ? undefined : ctx.attr(method, 'Algorithm');
    if (method === undefined || alg === undefined || !PBKDF2_URIS.has(alg)) {
      return ctx.fail('pskc_unsupported', 'unsupported key derivation method');
    }
    const params = ctx.node(method, 'PBKDF2-params');
    if (params === undefined) return ctx.fail('pskc_invalid_xml', 'missing PBKDF2-params');
    const saltNode = ctx.node(params, 'Salt');
    const saltText = saltNode === undefined ? undefined : ctx.text(saltNode, 'Specified');
    if (saltText === undefined) return ctx.fail('pskc_unsupported', 'PBKDF2 salt must be <Specified>');
    const salt = decodeBase64(ctx, saltText, 'PBKDF2 salt');
    if (salt.length > MAX_PBKDF2_SALT_BYTES) ctx.fail('pskc_unsupported', `PBKDF2 salt is longer than ${MAX_PBKDF2_SALT_BYTES} bytes`);
    const iterText = ctx.text(params, 'IterationCount');
    if (iterText === undefined) return ctx.fail('pskc_invalid_xml', 'missing PBKDF2 IterationCount');
    // Checked before any derivation, so a refusal costs nothing.
    const iterations = Number(parseBoundedInt(ctx, iterText, 'IterationCount', {
      min: 1n,
      max: BigInt(MAX_PBKDF2_ITERATIONS),
      why: 'the most PBKDF2 rounds an import runs',
    }));
    const lenText = ctx.text(params, 'KeyLength');
    if (lenText !== undefined) {
      const declared = Number(parseBoundedInt(ctx, lenText, 'KeyLength', { min: 1n, max: MAX_PBKDF2_KEY_LENGTH, why: 'the largest AES key' }));
      if (declared !== keyLength) {
        ctx.fail('pskc_decrypt_failed', 'PBKDF2 KeyLength does not match the encryption algorithm');
      }
    }
    const prf = ctx.node(params, 'PRF');
    const prfAlg = prf === undefined ? undefined : ctx.attr(prf, 'Algorithm');
    // An absent PRF (or `<PRF/>` as in RFC 6030 Figure 7) means the PKCS #5
    // default, HMAC-SHA1.
    const digest = prfAlg === undefined ? 'sha1' : HMACS.get(prfAlg);
    if (digest === undefined) return ctx.fail('pskc_unsupported', 'unsupported PBKDF2 PRF');
    if (this.opts.password === undefined) return ctx.fail('pskc_key_required', 'a password is required');
    const key = await deriveKey(ctx, this.opts.password, salt, iterations, keyLength, digest);
    this.derived.set(keyLength, key);
    return key;
  }

  hasMac(): boolean {
    return this.macAlg !== undefined;
  }

  /**
   * The MAC key is itself an encrypted value without a MAC of its own. If it
   * was tampered with (or the transport key is wrong) it decrypts to garbage
   * or fails padding; either way no ValueMAC will verify afterwards.
   */
  private async getMacKey(): Promise<Buffer> {
    if (this.macKey !== undefined) return this.macKey;
    const ctx = new Ctx('MACMethod/MACKey');
    if (this.macKeyNode === undefined) return ctx.fail('pskc_unsupported', 'no MAC key');
    const blob = this.readEncrypted(ctx, this.macKeyNode);
    const key = await this.decrypt(ctx, blob);
    if (key.length === 0) ctx.fail('pskc_decrypt_failed', 'empty MAC key');
    this.macKey = key;
    return key;
  }

  readEncrypted(ctx: Ctx, ev: XmlNode): EncryptedBlob {
    const method = ctx.node(ev, 'EncryptionMethod');
    const alg = method === undefined ? undefined : ctx.attr(method, 'Algorithm');
    const cipher = alg === undefined ? undefined : CIPHERS.get(alg);
    if (cipher === undefined) return ctx.fail('pskc_unsupported', 'unsupported encryption algorithm');
    const cipherData = ctx.node(ev, 'CipherData');
    const cv = cipherData === undefined ? undefined : ctx.text(cipherData, 'CipherValue');
    if (cv === undefined) {
      return ctx.fail(cipherData === undefined ? 'pskc_invalid_xml' : 'pskc_unsupported', 'missing CipherValue');
    }
    const raw = decodeBase64(ctx, cv, 'CipherValue');
    return {
      cipher,
      iv: raw.subarray(0, AES_BLOCK),
      ciphertext: raw.subarray(AES_BLOCK),
      raw,
    };
  }

  async verifyMac(ctx: Ctx, blob: EncryptedBlob, valueMac: string | undefined): Promise<void> {
    if (this.macAlg === undefined) return;
    if (valueMac === undefined || valueMac === '') {
      ctx.fail('pskc_mac_mismatch', 'ValueMAC missing although the container declares a MACMethod');
    }
    const expected = decodeBase64(ctx, valueMac, 'ValueMAC');
    const actual = createHmac(this.macAlg, await this.getMacKey()).update(blob.raw).digest();
    const ok = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (!ok) ctx.fail('pskc_mac_mismatch', 'ValueMAC does not match');
  }

  async decrypt(ctx: Ctx, blob: EncryptedBlob): Promise<Buffer> {
    if (blob.ciphertext.length === 0 || blob.ciphertext.length % AES_BLOCK !== 0) {
      ctx.fail('pskc_decrypt_failed', 'CipherValue has an invalid length');
    }
    const key = await this.encryptionKey(ctx, blob.cipher);
    try {
      const d = createDecipheriv(blob.cipher.name, key, blob.iv);
      return Buffer.concat([d.update(blob.ciphertext), d.final()]);
    } catch {
      // OpenSSL's message ("bad decrypt") is dropped on purpose; it says
      // nothing useful and the code is what callers branch on.
      return ctx.fail('pskc_decrypt_failed', 'decryption failed (wrong key or corrupted value)');
    }
  }

  wipe(): void {
    this.macKey?.fill(0);
    for (const k of this.derived.values()) k.fill(0);
  }
}

// ---------------------------------------------------------------------------
// Key packages

/** Reads the <Secret> value element: PlainValue or EncryptedValue (+ ValueMAC). */
async function readSecret(ctx: Ctx, crypto: Crypto, data: XmlNode, algorithm: OtpAlgorithm): Promise<Buffer> {
  const secret = ctx.node(data, 'Secret');
  if (secret === undefined) return ctx.fail('pskc_invalid_xml', 'Key has no Secret');
  const plain = ctx.text(secret, 'PlainValue');
  const ev = ctx.node(secret, 'EncryptedValue');
  if (plain !== undefined && ev !== undefined) {
    return ctx.fail('pskc_invalid_xml', 'Secret has both PlainValue and EncryptedValue');
  }
  let value: Buffer;
  if (plain !== undefined) {
    value = decodeBase64(ctx, plain, 'Secret');
  } else if (ev !== undefined) {
    const blob = crypto.readEncrypted(ctx, ev);
    if (!crypto.hasMac()) {
      // CBC without a MAC lets a tampered file import a silently wrong
      // secret (IV flips) and exposes a padding oracle.
      return ctx.fail('pskc_unsupported', 'encrypted values without a MACMethod are not accepted');
    }
    await crypto.verifyMac(ctx, blob, ctx.text(secret, 'ValueMAC'));
    value = await crypto.decrypt(ctx, blob);
  } else {
    return ctx.fail('pskc_invalid_xml', 'Secret has no value');
  }
  checkSecretLength(ctx, value, algorithm);
  return value;
}

/** RFC 4226 R6 below, the HMAC block size above; a refused seed is wiped before the error. */
function checkSecretLength(ctx: Ctx, value: Buffer, algorithm: OtpAlgorithm): void {
  let problem: string | undefined;
  if (value.length === 0) problem = 'Secret is empty';
  else if (value.length < MIN_SECRET_BYTES) problem = 'seed shorter than 128 bits (RFC 4226 R6)';
  else if (value.length > MAX_SECRET_BYTES[algorithm]) problem = `seed longer than ${MAX_SECRET_BYTES[algorithm]} bytes, the HMAC-${algorithm} block size`;
  if (problem === undefined) return;
  value.fill(0);
  ctx.fail(value.length === 0 ? 'pskc_invalid_xml' : 'pskc_unsupported', problem);
}

function readPlainInt(ctx: Ctx, data: XmlNode, name: string, bounds: IntBounds): bigint | undefined {
  const el = ctx.node(data, name);
  if (el === undefined) return undefined;
  if (ctx.node(el, 'EncryptedValue') !== undefined) {
    // RFC 6030 allows it, but no token vendor we target encrypts these and
    // the integer encoding of decrypted bytes is not pinned down; refuse
    // rather than guess.
    ctx.fail('pskc_unsupported', `encrypted <${name}> is not supported`);
  }
  const t = ctx.text(el, 'PlainValue');
  if (t === undefined) return ctx.fail('pskc_invalid_xml', `<${name}> has no PlainValue`);
  return parseBoundedInt(ctx, t, name, bounds);
}

async function readKeyPackage(index: number, pkg: unknown, crypto: Crypto): Promise<PskcKey> {
  const ctx = new Ctx(`KeyPackage #${index + 1}`);
  if (!isNode(pkg)) return ctx.fail('pskc_invalid_xml', 'empty KeyPackage');
  const device = ctx.node(pkg, 'DeviceInfo');
  const key = ctx.node(pkg, 'Key');
  if (key === undefined) return ctx.fail('pskc_invalid_xml', 'KeyPackage has no Key');

  const algUri = ctx.attr(key, 'Algorithm');
  let kind: 'hotp' | 'totp';
  if (algUri !== undefined && HOTP_URIS.has(algUri)) kind = 'hotp';
  else if (algUri !== undefined && TOTP_URIS.has(algUri)) kind = 'totp';
  else return ctx.fail('pskc_unsupported', 'Key algorithm is not HOTP or TOTP');

  const params = ctx.node(key, 'AlgorithmParameters');
  const format = params === undefined ? undefined : ctx.node(params, 'ResponseFormat');
  if (params === undefined || format === undefined) {
    return ctx.fail('pskc_unsupported', 'ResponseFormat is required');
  }
  const length = ctx.attr(format, 'Length');
  if (length !== '6' && length !== '8') {
    return ctx.fail('pskc_unsupported', 'ResponseFormat Length must be 6 or 8');
  }
  const digits: 6 | 8 = length === '6' ? 6 : 8;
  if (ctx.attr(format, 'Encoding') !== 'DECIMAL') {
    ctx.fail('pskc_unsupported', 'ResponseFormat Encoding must be DECIMAL');
  }
  if (ctx.attr(format, 'CheckDigits') === 'true' || ctx.attr(format, 'CheckDigits') === '1') {
    ctx.fail('pskc_unsupported', 'Luhn check digits are not supported');
  }
  const suiteText = optionalText(ctx, params, 'Suite');
  const algorithm = suiteText === undefined ? 'SHA1' : SUITES.get(suiteText.toUpperCase());
  if (algorithm === undefined) return ctx.fail('pskc_unsupported', 'unsupported Suite');

  const data = ctx.node(key, 'Data');
  if (data === undefined) return ctx.fail('pskc_invalid_xml', 'Key has no Data');
  const counter = readPlainInt(ctx, data, 'Counter', COUNTER_BOUNDS) ?? 0n;
  const t0 = Number(readPlainInt(ctx, data, 'Time', TIME_BOUNDS) ?? 0n);
  const period = Number(readPlainInt(ctx, data, 'TimeInterval', TIME_INTERVAL_BOUNDS) ?? 30n);
  readPlainInt(ctx, data, 'TimeDrift', TIME_DRIFT_BOUNDS);

  const keyId = ctx.attr(key, 'Id');
  const serial = optionalText(ctx, device, 'SerialNo') ?? (keyId ? decodeXmlText(keyId, ctx) : undefined);
  if (serial === undefined || serial === '') {
    return ctx.fail('pskc_invalid_xml', 'no DeviceInfo/SerialNo and no Key Id');
  }

  // Decrypt last, after every cheap structural check has passed.
  const secret = await readSecret(ctx, crypto, data, algorithm);

  const result: PskcKey = { serial, kind, algorithm, digits, period, t0, counter, secret };
  const manufacturer = optionalText(ctx, device, 'Manufacturer');
  if (manufacturer !== undefined) result.manufacturer = manufacturer;
  const model = optionalText(ctx, device, 'Model');
  if (model !== undefined) result.model = model;
  const issuer = optionalText(ctx, key, 'Issuer');
  if (issuer !== undefined) result.issuer = issuer;
  if (keyId !== undefined && keyId !== '') result.keyId = decodeXmlText(keyId, ctx);
  return result;
}

/**
 * Parses a PSKC document. Either every key package is valid and all keys
 * are returned, or the promise rejects with a PskcError and nothing is
 * returned. Asynchronous because PBKDF2 runs on the thread pool.
 */
export async function parsePskc(xml: string | Buffer, opts: PskcOptions = {}): Promise<PskcKey[]> {
  const text = toText(xml);
  assertNoDtd(text);
  const container = parseXml(text);

  const ctx = new Ctx('KeyContainer');
  const version = ctx.attr(container, 'Version');
  if (version !== undefined && version !== '1.0') ctx.fail('pskc_unsupported', 'KeyContainer Version must be 1.0');

  const packages = Object.hasOwn(container, 'KeyPackage') ? container['KeyPackage'] : undefined;
  if (!Array.isArray(packages) || packages.length === 0) {
    throw new PskcError('pskc_empty', 'document contains no KeyPackage');
  }

  const crypto = new Crypto(container, opts);
  const keys: PskcKey[] = [];
  try {
    const seen = new Set<string>();
    const list: unknown[] = packages;
    for (const [i, pkg] of list.entries()) {
      const k = await readKeyPackage(i, pkg, crypto);
      keys.push(k);
      if (seen.has(k.serial)) {
        throw new PskcError('pskc_duplicate_serial', `KeyPackage #${i + 1}: serial ${JSON.stringify(k.serial)} appears more than once`);
      }
      seen.add(k.serial);
    }
  } catch (err) {
    // All-or-nothing also for memory: secrets already decrypted from earlier
    // packages are wiped before the error propagates.
    for (const k of keys) k.secret.fill(0);
    if (err instanceof PskcError) throw err;
    throw new PskcError('pskc_invalid_xml', 'could not process document');
  } finally {
    crypto.wipe();
  }
  return keys;
}
