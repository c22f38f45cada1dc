/**
 * Base32 (RFC 4648) and otpauth:// Key URIs (google-authenticator wiki
 * "Key-Uri-Format", checklist §4).
 *
 * Error messages here never quote the input: both the URI and the base32
 * text carry the shared secret.
 */
import type { OtpAlgorithm, OtpDigits } from './otp.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without `=` padding (the Key URI format says to omit it). */
export function base32Encode(buf: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of buf) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Case-insensitive; ignores whitespace (apps show secrets in groups of 4)
 * and trailing `=` padding. Throws on anything that is not a possible
 * base32 encoding.
 */
export function base32Decode(s: string): Buffer {
  if (typeof s !== 'string') throw new TypeError('base32 input must be a string');
  const clean = s.replace(/\s+/g, '').replace(/=+$/, '').toUpperCase();
  // A final group of 1, 3 or 6 characters cannot come from any byte string.
  if ([1, 3, 6].includes(clean.length % 8)) {
    throw new TypeError('invalid base32 length');
  }
  const out = Buffer.alloc(Math.floor((clean.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = ALPHABET.indexOf(clean.charAt(i));
    if (v < 0) throw new TypeError(`invalid base32 character at position ${i}`);
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[n++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}

export type OtpType = 'totp' | 'hotp';

export interface OtpauthParams {
  type: OtpType;
  issuer: string;
  account: string;
  secret: Buffer;
  algorithm: OtpAlgorithm;
  digits: OtpDigits;
  /** TOTP only; defaults to 30. */
  period?: number;
  /** HOTP only; required for HOTP. */
  counter?: bigint;
}

export interface ParsedOtpauthUri {
  type: OtpType;
  /** From the `issuer` parameter, else from the label prefix. */
  issuer?: string;
  account: string;
  secret: Buffer;
  algorithm: OtpAlgorithm;
  digits: OtpDigits;
  /** Present for TOTP (default 30). */
  period?: number;
  /** Present for HOTP. */
  counter?: bigint;
}

const ALGORITHMS: readonly OtpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];

function checkLabelPart(name: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string`);
  }
  // Apps decode the label before splitting on ':', so even an encoded colon
  // would move the issuer/account boundary.
  if (value.includes(':')) throw new TypeError(`${name} must not contain ':'`);
}

export function otpauthUri(p: OtpauthParams): string {
  if (p.type !== 'totp' && p.type !== 'hotp') throw new TypeError('type must be totp or hotp');
  checkLabelPart('issuer', p.issuer);
  checkLabelPart('account', p.account);
  if (!Buffer.isBuffer(p.secret) || p.secret.length === 0) {
    throw new TypeError('secret must be a non-empty Buffer');
  }
  if (!ALGORITHMS.includes(p.algorithm)) throw new TypeError('unsupported algorithm');
  if (p.digits !== 6 && p.digits !== 8) throw new TypeError('digits must be 6 or 8');

  const label = `${encodeURIComponent(p.issuer)}:${encodeURIComponent(p.account)}`;
  // Built by hand rather than with URLSearchParams, which encodes spaces as
  // '+'; several authenticator apps show a literal '+' in the issuer.
  const params: string[] = [
    `secret=${base32Encode(p.secret)}`,
    `issuer=${encodeURIComponent(p.issuer)}`,
    `algorithm=${p.algorithm}`,
    `digits=${p.digits}`,
  ];
  if (p.type === 'totp') {
    if (p.counter !== undefined) throw new TypeError('counter is only valid for hotp');
    const period = p.period ?? 30;
    if (!Number.isSafeInteger(period) || period <= 0) {
      throw new TypeError('period must be a positive integer');
    }
    params.push(`period=${period}`);
  } else {
    if (p.period !== undefined) throw new TypeError('period is only valid for totp');
    if (typeof p.counter !== 'bigint' || p.counter < 0n) {
      throw new TypeError('hotp requires a non-negative bigint counter');
    }
    params.push(`counter=${p.counter.toString()}`);
  }
  return `otpauth://${p.type}/${label}?${params.join('&')}`;
}

function decodeComponent(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new TypeError(`otpauth URI: malformed percent-encoding in ${what}`);
  }
}

/**
 * Strict parser: rejects duplicate parameters, unknown types/algorithms,
 * digits other than 6/8, and an issuer parameter that disagrees with the
 * label prefix (a mismatch is how a hostile QR code would disguise itself).
 */
export function parseOtpauthUri(uri: string): ParsedOtpauthUri {
  if (typeof uri !== 'string') throw new TypeError('otpauth URI must be a string');
  const m = /^otpauth:\/\/([A-Za-z]+)\/([^?#]*)(?:\?([^#]*))?$/.exec(uri);
  if (!m) throw new TypeError('not an otpauth:// URI');
  const type = (m[1] ?? '').toLowerCase();
  if (type !== 'totp' && type !== 'hotp') throw new TypeError('otpauth URI: unknown type');

  const label = decodeComponent(m[2] ?? '', 'label');
  const colon = label.indexOf(':');
  const labelIssuer = colon >= 0 ? label.slice(0, colon) : undefined;
  // The wiki allows optional spaces between the colon and the account.
  const account = (colon >= 0 ? label.slice(colon + 1) : label).replace(/^ +/, '');
  if (account.length === 0) throw new TypeError('otpauth URI: empty account name');
  if (account.includes(':')) throw new TypeError('otpauth URI: label has more than one colon');

  const params = new Map<string, string>();
  for (const part of (m[3] ?? '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq >= 0 ? part.slice(0, eq) : part;
    const rawValue = eq >= 0 ? part.slice(eq + 1) : '';
    const name = decodeComponent(rawName, 'parameter name').toLowerCase();
    if (params.has(name)) throw new TypeError(`otpauth URI: duplicate parameter ${name}`);
    params.set(name, decodeComponent(rawValue.replace(/\+/g, ' '), 'parameter value'));
  }

  const secretText = params.get('secret');
  if (secretText === undefined || secretText === '') {
    throw new TypeError('otpauth URI: missing secret');
  }
  const secret = base32Decode(secretText);
  if (secret.length === 0) throw new TypeError('otpauth URI: empty secret');

  const paramIssuer = params.get('issuer');
  if (paramIssuer !== undefined && labelIssuer !== undefined && paramIssuer !== labelIssuer) {
    throw new TypeError('otpauth URI: issuer parameter does not match label');
  }
  const issuer = paramIssuer ?? labelIssuer;

  const algorithmText = (params.get('algorithm') ?? 'SHA1').toUpperCase();
  const algorithm = ALGORITHMS.find((a) => a === algorithmText);
  if (algorithm === undefined) throw new TypeError('otpauth URI: unsupported algorithm');

  const digitsText = params.get('digits') ?? '6';
  if (digitsText !== '6' && digitsText !== '8') {
    throw new TypeError('otpauth URI: digits must be 6 or 8');
  }
  const digits: OtpDigits = digitsText === '6' ? 6 : 8;

  const result: ParsedOtpauthUri = { type, account, secret, algorithm, digits };
  if (issuer !== undefined && issuer !== '') result.issuer = issuer;

  if (type === 'totp') {
    const periodText = params.get('period') ?? '30';
    if (!/^[1-9][0-9]{0,8}$/.test(periodText)) {
      throw new TypeError('otpauth URI: period must be a positive integer');
    }
    result.period = Number(periodText);
  } else {
    const counterText = params.get('counter');
    if (counterText === undefined || !/^[0-9]{1,20}$/.test(counterText)) {
      throw new TypeError('otpauth URI: hotp requires a numeric counter');
    }
    const counter = BigInt(counterText);
    if (counter > 0xffff_ffff_ffff_ffffn) throw new TypeError('otpauth URI: counter too large');
    result.counter = counter;
  }
  return result;
}
