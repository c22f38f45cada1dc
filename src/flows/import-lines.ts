import { closeSync, createReadStream, fstatSync, openSync, readFileSync } from 'node:fs';

/**
 * The lines of an import file (src/flows/user-import.ts), read from a stream of bytes as they
 * arrive: what is held at any moment is the block being read and the one line it cuts, never the
 * file. Lines end at LF (a CR before it is dropped), a UTF-8 byte order mark at the very start of
 * the file is skipped, and each line is decoded as strict UTF-8 on its own, so a bad byte is
 * reported at its line. Every line is counted, blank ones too, as an editor numbers them.
 */

/** One line of the file: its text, or why it cannot even be read as text. */
export type FileLine = { line: number; text: string } | { line: number; unreadable: string };

/**
 * A line longer than this is refused without being kept: the longest line the format can accept
 * (64 group names, every character escaped as \uXXXX) is some 30 KiB, so a longer one is not a
 * user, and keeping it whole would let a file without line breaks fill the memory.
 */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Where the bytes come from: a new pass over the same input at each call (a refused file is read twice to name the lines). */
export type ImportSource = () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf] as const;

/** Splits bytes pushed in blocks of any size into lines; push() returns the lines each block completed. */
export class LineSplitter {
  #line = 0;
  /** The start of the file, while it is too short to tell whether it begins with a byte order mark. */
  #head: Buffer | null = Buffer.alloc(0);
  /** The bytes of the line not yet ended, in the blocks they came in. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** The line not yet ended is already too long: its bytes are dropped until its end. */
  #tooLong = false;

  /** Lines counted so far (after end(): the file's lines). */
  get lines(): number {
    return this.#line;
  }

  /** Bytes kept for the line not yet ended: never more than MAX_LINE_BYTES, however long the line. */
  get held(): number {
    return this.#partialBytes + (this.#head?.length ?? 0);
  }

  push(block: Uint8Array): FileLine[] {
    let bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    if (this.#head) {
      const head = Buffer.concat([this.#head, bytes]);
      if (head.length < BOM.length) {
        // Nothing can be a line yet unless a line ends here (no mark begins with an LF).
        if (!head.includes(LF)) {
          this.#head = head;
          return [];
        }
      }
      this.#head = null;
      bytes = BOM.every((b, i) => head[i] === b) ? head.subarray(BOM.length) : head;
    }
    const out: FileLine[] = [];
    let start = 0;
    for (;;) {
      const end = bytes.indexOf(LF, start);
      if (end < 0) break;
      this.#finish(bytes.subarray(start, end), out);
      start = end + 1;
    }
    if (start < bytes.length) this.#keep(bytes.subarray(start));
    return out;
  }

  /** The last line, when the file does not end with a line break. */
  end(): FileLine[] {
    const out: FileLine[] = [];
    if (this.#head) {
      const head = this.#head;
      this.#head = null;
      // Shorter than a byte order mark, so it is not one: ordinary bytes of the only line.
      if (head.length > 0) this.#keep(head);
    }
    if (this.#partialBytes > 0 || this.#tooLong) this.#finish(Buffer.alloc(0), out);
    return out;
  }

  #keep(bytes: Buffer): void {
    if (this.#tooLong) return;
    if (this.#partialBytes + bytes.length > MAX_LINE_BYTES) {
      this.#tooLong = true;
      this.#partial = [];
      this.#partialBytes = 0;
      return;
    }
    // A copy: the block it came in is not kept alive for one line's sake.
    this.#partial.push(Buffer.from(bytes));
    this.#partialBytes += bytes.length;
  }

  /** Ends the current line with `last`, its bytes after those kept. */
  #finish(last: Buffer, out: FileLine[]): void {
    const line = ++this.#line;
    if (this.#tooLong || this.#partialBytes + last.length > MAX_LINE_BYTES) {
      this.#tooLong = false;
      this.#partial = [];
      this.#partialBytes = 0;
      out.push({ line, unreadable: `longer than ${MAX_LINE_BYTES} bytes` });
      return;
    }
    let raw = last;
    if (this.#partialBytes > 0) {
      raw = Buffer.concat([...this.#partial, last]);
      this.#partial = [];
      this.#partialBytes = 0;
    }
    if (raw.length > 0 && raw[raw.length - 1] === CR) raw = raw.subarray(0, raw.length - 1);
    let text: string;
    try {
      text = utf8.decode(raw);
    } catch {
      out.push({ line, unreadable: 'not valid UTF-8' });
      return;
    }
    out.push({ line, text });
  }
}

/** The lines of bytes already in memory (an HTTP body). */
export function linesOf(input: Uint8Array): { lines: FileLine[]; total: number } {
  const splitter = new LineSplitter();
  const lines = [...splitter.push(input), ...splitter.end()];
  return { lines, total: splitter.lines };
}

/** Bytes in memory are handed on in blocks of this size, as a file is read: one block's lines are all that is decoded at once. */
const BLOCK = 1024 * 1024;

/** Bytes in memory as a source: each pass reads them again, a block at a time. */
export const bufferSource =
  (input: Uint8Array): ImportSource =>
  function* blocks() {
    for (let at = 0; at < input.length; at += BLOCK) yield input.subarray(at, at + BLOCK);
  };

/**
 * A file to import, opened now so that a missing or unreadable one is refused before any work. A
 * regular file is read in blocks, from its start at each pass; anything else (a pipe, a terminal)
 * can be read only once, so it is read whole, as before streaming.
 */
export function openImportFile(file: string): { source: ImportSource; close(): void } {
  const fd = openSync(file, 'r');
  try {
    const stat = fstatSync(fd);
    if (stat.isFile()) {
      return {
        source: () => createReadStream('', { fd, start: 0, autoClose: false, highWaterMark: BLOCK }),
        close: () => closeSync(fd),
      };
    }
    // A directory fails here (EISDIR), as it did when the whole file was read.
    const whole = readFileSync(fd);
    closeSync(fd);
    return { source: bufferSource(whole), close: () => {} };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
