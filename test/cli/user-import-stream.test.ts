import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_BYTES, type FileLine, type ImportSource } from '../../src/flows/import-lines.js';
import { checkedChunks, IMPORT_CHUNK } from '../../src/flows/import-format.js';
import { ImportRefusedError, importUsers } from '../../src/flows/user-import.js';
import { base32Encode } from '../../src/methods/totp/otpauth.js';
import { databases } from '../helpers/db.js';
import { createTestUser, startServer, type TestServer } from '../helpers/server.js';
import { prng } from '../helpers/prng.js';

/**
 * `mamori user import` reads its file as a stream (src/flows/import-lines.ts, checkedChunks in
 * src/flows/user-import.ts): these tests hold it to what reading the whole file did, byte for
 * byte, whatever the blocks the bytes come in; to holding one block and one chunk, never the file;
 * and to writing nothing when the input is malformed, cut short or fails while being read.
 */


/** How the whole file was split before it was streamed: the reference the splitter must match. */
function wholeFileLines(input: Buffer): { lines: FileLine[]; total: number } {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const lines: FileLine[] = [];
  let start = input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf ? 3 : 0;
  let n = 0;
  while (start < input.length) {
    let end = input.indexOf(0x0a, start);
    if (end < 0) end = input.length;
    n++;
    const raw = input.subarray(start, end > start && input[end - 1] === 0x0d ? end - 1 : end);
    start = end + 1;
    try {
      lines.push({ line: n, text: utf8.decode(raw) });
    } catch {
      lines.push({ line: n, unreadable: 'not valid UTF-8' });
    }
  }
  return { lines, total: n };
}

function splitInBlocks(input: Buffer, sizes: () => number): { lines: FileLine[]; total: number; maxHeld: number } {
  const splitter = new LineSplitter();
  const lines: FileLine[] = [];
  let maxHeld = 0;
  for (let at = 0; at < input.length; ) {
    const size = Math.max(1, sizes());
    lines.push(...splitter.push(input.subarray(at, at + size)));
    maxHeld = Math.max(maxHeld, splitter.held);
    at += size;
  }
  lines.push(...splitter.end());
  return { lines, total: splitter.lines, maxHeld };
}

const FRAGMENTS: Buffer[] = [
  Buffer.from('{"email":"a@example.com"}'),
  Buffer.from('{"email":"b@example.com","name":"名前 🙂"}'),
  Buffer.from('\n'),
  Buffer.from('\r\n'),
  Buffer.from('\r'),
  Buffer.from('   '),
  Buffer.from([0xef, 0xbb, 0xbf]), // a byte order mark, at the start or anywhere
  Buffer.from([0xc3, 0x28]), // an invalid two-byte sequence
  Buffer.from([0xe2, 0x82]), // a three-byte sequence cut short
  Buffer.from([0x80]), // a lone continuation byte
  Buffer.from([0xff]),
  Buffer.from([0x00]),
  Buffer.from('é日本'),
];

describe('the import file as a stream', () => {
  it('splits into the same lines as the whole file, in blocks of any size down to one byte', () => {
    const random = prng(12);
    for (let round = 0; round < 400; round++) {
      const parts: Buffer[] = [];
      const count = Math.floor(random() * 40);
      for (let i = 0; i < count; i++) parts.push(FRAGMENTS[Math.floor(random() * FRAGMENTS.length)]!);
      const input = Buffer.concat(parts);
      const expected = wholeFileLines(input);
      const blockSizes = [() => 1, () => 2, () => 3, () => 1 + Math.floor(random() * 17), () => input.length || 1];
      for (const sizes of blockSizes) {
        const got = splitInBlocks(input, sizes);
        expect({ lines: got.lines, total: got.total }, `round ${round}: ${input.toString('hex')}`).toEqual(expected);
      }
    }
    // The edges of a byte order mark: only at the very start is it skipped, and alone it is no line.
    expect(splitInBlocks(Buffer.from([0xef, 0xbb, 0xbf]), () => 1).total).toBe(0);
    expect(splitInBlocks(Buffer.from([0xef, 0xbb]), () => 1).lines).toEqual([{ line: 1, unreadable: 'not valid UTF-8' }]);
    expect(splitInBlocks(Buffer.from('\ufeff\ufeff{}\n', 'utf8'), () => 1).lines).toEqual([{ line: 1, text: '{}' }]);
  });

  it('refuses a line longer than MAX_LINE_BYTES without keeping it, and goes on counting', () => {
    const long = Buffer.concat([Buffer.from('{"email":"x@example.com","name":"'), Buffer.alloc(5 * MAX_LINE_BYTES, 0x61), Buffer.from('"}')]);
    const input = Buffer.concat([Buffer.from('{"email":"before@example.com"}\n'), long, Buffer.from('\n\n{"email":"after@example.com"}')]);
    const got = splitInBlocks(input, () => 64 * 1024);
    expect(got.lines).toEqual([
      { line: 1, text: '{"email":"before@example.com"}' },
      { line: 2, unreadable: `longer than ${MAX_LINE_BYTES} bytes` },
      { line: 3, text: '' },
      { line: 4, text: '{"email":"after@example.com"}' },
    ]);
    expect(got.maxHeld).toBeLessThanOrEqual(MAX_LINE_BYTES);
    // Exactly at the limit is still a line.
    const atLimit = Buffer.concat([Buffer.alloc(MAX_LINE_BYTES, 0x20), Buffer.from('\n')]);
    expect(splitInBlocks(atLimit, () => 1000).lines).toEqual([{ line: 1, text: ' '.repeat(MAX_LINE_BYTES) }]);
  });

  it('holds one block and one chunk, never the file: lines read but not yet handed on stay bounded over 200 000 lines', async () => {
    const LINES = 200_000;
    const PER_BLOCK = 300;
    let produced = 0;
    async function* generated(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < LINES; i += PER_BLOCK) {
        const block: string[] = [];
        for (let j = i; j < Math.min(LINES, i + PER_BLOCK); j++) {
          // Every 1000th line is refused, so refusals travel through the chunks too.
          block.push(j % 1000 === 999 ? `{"email":"user${j}@example.com","colour":"red"}\n` : `{"email":"user${j}@example.com","groups":["staff"]}\n`);
        }
        produced = Math.min(LINES, i + PER_BLOCK);
        yield Buffer.from(block.join(''));
      }
    }
    let handedOn = 0;
    let accepted = 0;
    let refused = 0;
    let maxPending = 0;
    let last = 0;
    for await (const chunk of checkedChunks(generated())) {
      const size = chunk.accepted.length + chunk.refused.length;
      expect(size).toBeLessThanOrEqual(IMPORT_CHUNK);
      handedOn += size;
      accepted += chunk.accepted.length;
      refused += chunk.refused.length;
      maxPending = Math.max(maxPending, produced - handedOn);
      last = chunk.linesRead;
    }
    expect({ accepted, refused, last }).toEqual({ accepted: LINES - LINES / 1000, refused: LINES / 1000, last: LINES });
    // Had the reader gathered the file before handing it on, this would be the whole file.
    expect(maxPending).toBeLessThanOrEqual(PER_BLOCK + IMPORT_CHUNK);
  });
});

describe.each(databases)('importUsers from a stream ($name)', ({ name, skip }) => {
  let server: TestServer;
  const caller = { ip: null, userAgent: 'test' };
  const users = () => server.services.users.count();
  const lines = (objects: unknown[]) => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
  /** A source that hands the bytes on in blocks of `size`, as a file is read. */
  const inBlocks =
    (input: Buffer, size: number): ImportSource =>
    async function* () {
      for (let at = 0; at < input.length; at += size) yield input.subarray(at, at + size);
    };
  const refusalOf = async (p: Promise<unknown>): Promise<ImportRefusedError> => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImportRefusedError);
    return err as ImportRefusedError;
  };

  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
    await createTestUser(server, 'existing@example.com');
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('names duplicates across chunks and emails taken before, in line order, and writes nothing', async () => {
    const before = await users();
    const file: unknown[] = [{ email: 'dup-a@example.com' }];
    for (let i = 2; i <= 1600; i++) file.push({ email: `dup-${i}@example.com`, groups: ['g'] });
    file[699] = { email: 'EXISTING@example.com' }; // line 700: a user from before
    file[1201] = { email: 'Dup-A@Example.com' }; // line 1202: line 1 again, two chunks later
    file[1499] = { email: 'existing@example.com' }; // line 1500: line 700 again
    file[10] = { email: 'dup-12@example.com' }; // line 11: line 12 comes after it, in the same chunk
    const input = Buffer.from(lines(file));
    for (const size of [input.length, 4096, 7]) {
      const err = await refusalOf(importUsers(server.services, inBlocks(input, size), 'test', caller));
      expect(err.refused).toEqual([
        { line: 12, reason: 'the email dup-12@example.com is also on line 11' },
        { line: 700, reason: 'a user with the email existing@example.com already exists' },
        { line: 1202, reason: 'the email dup-a@example.com is also on line 1' },
        { line: 1500, reason: 'the email existing@example.com is also on line 700' },
      ]);
      expect(err.detail).toBe('4 of 1600 lines were refused; nothing was imported');
    }
    expect(await users()).toBe(before);
    expect(await server.services.users.findByEmail('dup-a@example.com')).toBeUndefined();
  });

  it.skipIf(skip)('a file cut anywhere imports its whole lines or refuses its last one; a refused cut writes nothing', async () => {
    const random = prng(name === 'sqlite' ? 7 : 8);
    for (let round = 0; round < 12; round++) {
      const objects = Array.from({ length: 30 }, (_, i) => ({
        email: `cut-${round}-${i}@example.com`,
        name: `名前 ${i}`,
        groups: ['ops'],
        ...(i % 7 === 0 ? { totp: { secret: base32Encode(randomBytes(20)) } } : {}),
      }));
      const full = Buffer.from(lines(objects));
      // Some cuts land on a line's end, most inside one (in JSON, or inside a multibyte character).
      const at = round < 2 ? full.indexOf(0x0a, Math.floor(random() * full.length)) + round : Math.floor(random() * full.length);
      const cut = full.subarray(0, at);
      const whole = wholeFileLines(cut);
      const lastLine = whole.lines.at(-1);
      const complete = whole.lines.filter((l) => 'text' in l && l.text.trim() !== '');
      let lastIsBroken = false;
      if (lastLine && 'text' in lastLine) {
        try {
          JSON.parse(lastLine.text);
        } catch {
          lastIsBroken = lastLine.text.trim() !== '';
        }
      } else if (lastLine) lastIsBroken = true;
      const before = await users();
      const result = importUsers(server.services, inBlocks(cut, 1 + Math.floor(random() * 300)), 'test', caller);
      if (!lastIsBroken && complete.length > 0) {
        expect(await result, `round ${round}, cut at ${at}`).toEqual({ imported: complete.length, refused: [] });
        expect(await users()).toBe(before + complete.length);
      } else {
        const err = await refusalOf(result);
        const expected = complete.length === 0 && !lastIsBroken ? 'the file holds no users' : lastLine && 'unreadable' in lastLine ? 'not valid UTF-8' : 'not valid JSON';
        expect(err.refused, `round ${round}, cut at ${at}`).toEqual([{ line: lastIsBroken ? whole.total : 1, reason: expected }]);
        expect(await users()).toBe(before);
        expect(await server.services.users.findByEmail(`cut-${round}-0@example.com`)).toBeUndefined();
      }
    }
  });

  it.skipIf(skip)('malformed lines are refused by number, each with a clear reason, and nothing is written', async () => {
    const before = await users();
    const input = Buffer.concat([
      Buffer.from('{"email":"m1@example.com"}\n'), // 1
      Buffer.from('[{"email":"m2@example.com"}]\n'), // 2
      Buffer.from('null\n'), // 3
      Buffer.from('42\n'), // 4
      Buffer.from('"m5@example.com"\n'), // 5
      Buffer.from('{"email":"m6@example.com"}{"email":"m7@example.com"}\n'), // 6: two objects on a line
      Buffer.from('{"email":"m8@exa\\u0000mple.com"}\n'), // 7: a NUL in the email, escaped
      Buffer.from('\r\n'), // 8: blank
      Buffer.concat([Buffer.from('{"email":"m9@example.com","name":"'), Buffer.alloc(MAX_LINE_BYTES, 0x61), Buffer.from('"}\n')]), // 9
      Buffer.from('{"email":"m10@example.com",}\n'), // 10: a trailing comma
      Buffer.concat([Buffer.from('{"email":"m11@example.com","name":"a'), Buffer.from([0]), Buffer.from('"}\n')]), // 11: a raw NUL in a string
      Buffer.from('{"email":"m12@example.com"'), // 12: cut short, no line break
    ]);
    const err = await refusalOf(importUsers(server.services, inBlocks(input, 65536), 'test', caller));
    expect(err.refused).toEqual([
      { line: 2, reason: 'not a JSON object' },
      { line: 3, reason: 'not a JSON object' },
      { line: 4, reason: 'not a JSON object' },
      { line: 5, reason: 'not a JSON object' },
      { line: 6, reason: 'not valid JSON' },
      { line: 7, reason: 'email is missing or not an email address' },
      { line: 9, reason: `longer than ${MAX_LINE_BYTES} bytes` },
      { line: 10, reason: 'not valid JSON' },
      { line: 11, reason: 'not valid JSON' },
      { line: 12, reason: 'not valid JSON' },
    ]);
    expect(err.detail).toBe('10 of 12 lines were refused; nothing was imported');
    expect(await users()).toBe(before);
    const events = await server.services.audit.list({ after: 0, limit: 10_000 });
    expect(JSON.parse(events.filter((e) => e.type === 'users_import_refused').at(-1)!.detail)).toEqual({
      lines: 12,
      refused: 10,
      sha256: createHash('sha256').update(input).digest('hex'),
    });
  });

  it.skipIf(skip)('a read that fails midway fails the import and writes nothing', async () => {
    const before = await users();
    const failing: ImportSource = async function* () {
      for (let i = 0; i < 3; i++) yield Buffer.from(lines(Array.from({ length: 700 }, (_, j) => ({ email: `io-${i}-${j}@example.com` }))));
      throw new Error('the disk went away');
    };
    await expect(importUsers(server.services, failing, 'test', caller)).rejects.toThrow('the disk went away');
    expect(await users()).toBe(before);
    expect(await server.services.users.findByEmail('io-0-0@example.com')).toBeUndefined();
  });

  it.skipIf(skip)('imports 5000 users from a generated stream, with their groups, seeds and one audit event', async () => {
    const before = await users();
    const hash = createHash('sha256');
    const generated: ImportSource = async function* () {
      for (let i = 0; i < 5000; i += 250) {
        const block = Buffer.from(
          lines(Array.from({ length: 250 }, (_, j) => ({ email: `gen-${i + j}@example.com`, role: (i + j) % 1000 === 0 ? 'admin' : 'user', groups: ['gen'], ...((i + j) % 50 === 0 ? { totp: { secret: base32Encode(randomBytes(20)) } } : {}) }))),
        );
        hash.update(block);
        yield block;
      }
    };
    const r = await importUsers(server.services, generated, 'test', caller);
    expect(r).toEqual({ imported: 5000, refused: [] });
    expect(await users()).toBe(before + 5000);
    const u = (await server.services.users.findByEmail('gen-4950@example.com'))!;
    expect(await server.services.groups.of(u.id)).toEqual(['gen']);
    expect(await server.services.devices.listActive(u.id)).toHaveLength(1);
    const events = await server.services.audit.list({ after: 0, limit: 10_000 });
    const imported = events.filter((e) => e.type === 'users_imported').map((e) => JSON.parse(e.detail) as Record<string, unknown>);
    expect(imported.at(-1)).toMatchObject({ imported: 5000, withPassword: 0, withTotp: 100, admins: 5, sha256: hash.digest('hex') });
    expect((await server.services.audit.verify()).valid).toBe(true);
  });
});
