/**
 * The XML side of PSKC import: decoding the bytes, refusing any DTD before a parser sees the
 * document, parsing with entity processing off, and typed access to what the parser returns.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type PskcErrorCode =
  | 'pskc_invalid_xml'
  | 'pskc_mac_mismatch'
  | 'pskc_key_required'
  | 'pskc_decrypt_failed'
  | 'pskc_unsupported'
  | 'pskc_duplicate_serial'
  | 'pskc_doctype_forbidden'
  | 'pskc_empty';

export class PskcError extends Error {
  readonly code: PskcErrorCode;
  constructor(code: PskcErrorCode, message: string) {
    super(message);
    this.name = 'PskcError';
    this.code = code;
  }
}

// ---------------------------------------------------------------------------
// Parsed-XML access. fast-xml-parser returns untyped data; everything is
// narrowed from `unknown` here.

export interface XmlNode {
  [name: string]: unknown;
}

export function isNode(v: unknown): v is XmlNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Ctx {
  constructor(readonly where: string) {}

  fail(code: PskcErrorCode, what: string): never {
    throw new PskcError(code, `${this.where}: ${what}`);
  }

  /** The single child element `name`, or undefined. Repeated elements are an error. */
  child(node: XmlNode, name: string): XmlNode | string | undefined {
    if (!Object.hasOwn(node, name)) return undefined;
    const v = node[name];
    // Two <ValueMAC> or two <Secret> would make "which one was checked?"
    // ambiguous, so repetition is refused rather than resolved.
    if (Array.isArray(v)) this.fail('pskc_invalid_xml', `element <${name}> appears more than once`);
    if (typeof v === 'string' || isNode(v)) return v;
    return this.fail('pskc_invalid_xml', `unexpected content in <${name}>`);
  }

  /** Child as an element node; an empty element (`<X/>`) becomes `{}`. */
  node(node: XmlNode, name: string): XmlNode | undefined {
    const v = this.child(node, name);
    if (v === undefined) return undefined;
    if (typeof v === 'string') {
      if (v.trim() !== '') this.fail('pskc_invalid_xml', `<${name}> must contain elements`);
      return {};
    }
    return v;
  }

  /** Text content of child `name` (already trimmed by the parser). */
  text(node: XmlNode, name: string): string | undefined {
    const v = this.child(node, name);
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    const t = Object.hasOwn(v, '#text') ? v['#text'] : '';
    if (typeof t !== 'string') this.fail('pskc_invalid_xml', `unexpected content in <${name}>`);
    return t;
  }

  attr(node: XmlNode, name: string): string | undefined {
    const key = `@_${name}`;
    if (!Object.hasOwn(node, key)) return undefined;
    const v = node[key];
    if (typeof v !== 'string') this.fail('pskc_invalid_xml', `bad attribute ${name}`);
    return v;
  }
}

// Entity processing is off in the parser (no DTD means no custom entities),
// so the five predefined XML entities and character references are decoded
// here for the human-readable fields. Nothing here can expand recursively.
export const PREDEFINED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

export function decodeXmlText(s: string, ctx: Ctx): string {
  return s.replace(/&([^;&]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) return ctx.fail('pskc_invalid_xml', 'malformed entity reference');
    const named = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
    if (named !== undefined) return named;
    const num = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
    if (num) {
      const cp = num[1] !== undefined ? parseInt(num[1], 16) : Number(num[2]);
      if (cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
        return String.fromCodePoint(cp);
      }
    }
    return ctx.fail('pskc_invalid_xml', 'undefined entity reference');
  });
}

export function optionalText(ctx: Ctx, node: XmlNode | undefined, name: string): string | undefined {
  if (node === undefined) return undefined;
  const t = ctx.text(node, name);
  if (t === undefined || t === '') return undefined;
  return decodeXmlText(t, ctx);
}

/**
 * xs:base64Binary, strictly. Buffer.from(…, 'base64') silently skips junk
 * and ignores non-zero padding bits; accepting only the canonical encoding
 * means every single-character change to a value changes its bytes and so
 * is caught by the MAC.
 */
export function decodeBase64(ctx: Ctx, raw: string, what: string): Buffer {
  const s = raw.replace(/[\t\n\r ]+/g, '');
  if (
    s.length === 0 ||
    s.length % 4 !== 0 ||
    !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(s)
  ) {
    return ctx.fail('pskc_invalid_xml', `${what} is not valid base64`);
  }
  const buf = Buffer.from(s, 'base64');
  if (buf.toString('base64') !== s) ctx.fail('pskc_invalid_xml', `${what} is not canonical base64`);
  return buf;
}

export interface IntBounds {
  min: bigint;
  max: bigint;
  /** Why the upper bound is what it is, appended to the refusal. */
  why?: string;
}

/**
 * A decimal integer within `bounds`, parsed exactly: values are never taken
 * through Number, so nothing above 2^53 is rounded into a different, valid
 * looking value.
 */
export function parseBoundedInt(ctx: Ctx, raw: string, what: string, bounds: IntBounds): bigint {
  const s = raw.trim();
  // One linear test; no nested quantifiers for a hostile digit run to backtrack on.
  if (!/^[+-]?[0-9]+$/.test(s)) return ctx.fail('pskc_invalid_xml', `${what} is not an integer`);
  const negative = s.startsWith('-');
  const digits = s.replace(/^[+-]/, '').replace(/^0+(?=[0-9])/, '');
  // Every bound in PSKC import is below 10^20; a longer digit run is out of
  // range as it stands, without building a BigInt from 60 KB of digits.
  const value = digits.length > 20 ? undefined : BigInt(negative ? `-${digits}` : digits);
  if (value === undefined ? negative : value < bounds.min) {
    // A sign on a value that can only be non-negative is malformed, not merely out of range.
    if (bounds.min === 0n) ctx.fail('pskc_invalid_xml', `${what} must not be negative`);
    ctx.fail('pskc_unsupported', `${what} is below ${bounds.min}`);
  }
  if (value === undefined || value > bounds.max) {
    ctx.fail('pskc_unsupported', `${what} is above ${bounds.max}${bounds.why === undefined ? '' : `, ${bounds.why}`}`);
  }
  return value;
}

// ---------------------------------------------------------------------------
// Input decoding and the DTD gate

export function toText(xml: string | Buffer): string {
  if (typeof xml === 'string') return xml.replace(/^\uFEFF/, '');
  if (!Buffer.isBuffer(xml)) throw new PskcError('pskc_invalid_xml', 'input must be a string or Buffer');
  let encoding: 'utf-8' | 'utf-16le' | 'utf-16be' = 'utf-8';
  let body: Buffer = xml;
  if (xml[0] === 0xef && xml[1] === 0xbb && xml[2] === 0xbf) body = xml.subarray(3);
  else if (xml[0] === 0xff && xml[1] === 0xfe) {
    encoding = 'utf-16le';
    body = xml.subarray(2);
  } else if (xml[0] === 0xfe && xml[1] === 0xff) {
    encoding = 'utf-16be';
    body = xml.subarray(2);
  }
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true }).decode(body);
  } catch {
    throw new PskcError('pskc_invalid_xml', `document is not valid ${encoding}`);
  }
  if (encoding === 'utf-8') {
    // Without a BOM we only read UTF-8; a declaration naming another charset
    // would otherwise be misread (and could hide markup from the DTD gate).
    const decl = /^<\?xml[^>]*?\sencoding\s*=\s*["']([^"']+)["']/.exec(text);
    const declared = decl?.[1]?.toLowerCase();
    if (declared !== undefined && declared !== 'utf-8' && declared !== 'utf8' && declared !== 'us-ascii') {
      throw new PskcError('pskc_unsupported', 'only UTF-8 and UTF-16 (with BOM) documents are supported');
    }
  }
  return text;
}

export function assertNoDtd(text: string): void {
  // NUL never occurs in XML; its presence means UTF-16 without a BOM (or
  // binary junk), where a byte-level search for markup would be unreliable.
  if (text.includes('\u0000')) throw new PskcError('pskc_invalid_xml', 'document contains NUL characters');
  // Anything starting with `<!` other than a comment or CDATA section is a
  // DTD construct (DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION). Checked on
  // the whole text, case-insensitively, so no parser leniency can let one in.
  if (/<!(?!--|\[CDATA\[)/.test(text)) {
    throw new PskcError('pskc_doctype_forbidden', 'DOCTYPE / ENTITY declarations are not allowed');
  }
}

export const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  isArray: (name: string) => name === 'KeyPackage',
});

export function parseXml(text: string): XmlNode {
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    // The validator's message can quote document text; only the position is
    // reported.
    throw new PskcError('pskc_invalid_xml', `malformed XML at line ${valid.err.line}`);
  }
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch {
    throw new PskcError('pskc_invalid_xml', 'malformed XML');
  }
  if (!isNode(doc)) throw new PskcError('pskc_invalid_xml', 'malformed XML');
  const roots = Object.keys(doc);
  // The validator accepts several top-level elements; PSKC has exactly one.
  if (roots.length !== 1 || roots[0] !== 'KeyContainer') {
    throw new PskcError('pskc_invalid_xml', 'root element must be a single KeyContainer');
  }
  const root = doc['KeyContainer'];
  if (typeof root === 'string' && root.trim() === '') return {};
  if (!isNode(root)) throw new PskcError('pskc_invalid_xml', 'malformed KeyContainer');
  return root;
}
