import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, MailDeliveryError, readOutbox, type MailLogger } from '../../src/mail/mailer.js';
import { MAIL_KINDS, renderMail, type Locale, type MailKind, type MailMessage } from '../../src/mail/messages.js';

const ctx = { productName: 'Mamori', publicUrl: 'https://id.example.com' };
const AT = Date.UTC(2025, 0, 2, 3, 4, 5);
const CODE = '482916';
const HOSTILE = '<script>alert("x")</script> & \'friends\'';
const LOCALES: Locale[] = ['en', 'ja'];

/** Every kind, with each branch of its template (optional fields, flags, thresholds). */
const SAMPLES: { [K in MailKind]: Array<Extract<MailMessage, { kind: K }>> } = {
  email_code: [{ kind: 'email_code', code: CODE, expiresInMinutes: 10 }, { kind: 'email_code', code: CODE, expiresInMinutes: 1 }],
  password_changed: [
    { kind: 'password_changed', at: AT, ip: '203.0.113.9', userAgent: `Mozilla/5.0 ${HOSTILE}` },
    { kind: 'password_changed', at: new Date(AT) },
  ],
  mfa_device_added: [
    { kind: 'mfa_device_added', deviceName: HOSTILE, deviceType: 'webauthn', at: AT },
    { kind: 'mfa_device_added', deviceName: 'Phone', deviceType: 'something_new', at: AT },
  ],
  mfa_device_removed: [
    { kind: 'mfa_device_removed', deviceName: HOSTILE, deviceType: 'totp', at: AT, byAdmin: true },
    { kind: 'mfa_device_removed', deviceName: 'YubiKey', deviceType: 'hardware_totp', at: AT, byAdmin: false },
  ],
  mfa_devices_reset: [
    { kind: 'mfa_devices_reset', count: 3, at: AT, mfaSetupDeadline: AT + 86_400_000 },
    { kind: 'mfa_devices_reset', count: 1, at: AT },
  ],
  recovery_code_used: [
    { kind: 'recovery_code_used', remaining: 0, at: AT },
    { kind: 'recovery_code_used', remaining: 2, at: AT },
    { kind: 'recovery_code_used', remaining: 7, at: AT },
  ],
  account_locked: [
    { kind: 'account_locked', reason: 'password', at: AT, hard: true },
    { kind: 'account_locked', reason: 'password', at: AT, hard: false },
    { kind: 'account_locked', reason: 'mfa', at: AT, hard: true },
    { kind: 'account_locked', reason: 'mfa', at: AT, hard: false },
  ],
  invitation: [
    { kind: 'invitation', link: 'https://id.example.com/invite#t=abc&x=<y>', expiresInHours: 72, invitedBy: HOSTILE },
    { kind: 'invitation', link: 'https://id.example.com/invite#t=abc', expiresInHours: 1 },
  ],
  security_key_clone_suspected: [{ kind: 'security_key_clone_suspected', deviceName: HOSTILE, at: AT }],
  sign_in_after_failures: [
    { kind: 'sign_in_after_failures', failures: 5, at: AT, ip: '2001:db8::1' },
    { kind: 'sign_in_after_failures', failures: 1, at: AT },
  ],
  // Issue 10: the samples of test/unit/notification-mail.test.ts, one per branch.
  recovery_codes_regenerated: [{ kind: 'recovery_codes_regenerated', count: 10, at: AT, ip: '203.0.113.9', userAgent: HOSTILE }, { kind: 'recovery_codes_regenerated', count: 1, at: AT }],
  new_browser_sign_in: [{ kind: 'new_browser_sign_in', at: AT, ip: '203.0.113.9', userAgent: HOSTILE }, { kind: 'new_browser_sign_in', at: AT }],
  admin_action: [
    { kind: 'admin_action', actions: ['unlocked', 'disabled', 'enabled', 'renamed', 'password_change_forced'], at: AT, ip: '203.0.113.9' },
    { kind: 'admin_action', actions: ['role_changed'], role: 'admin', at: AT },
    { kind: 'admin_action', actions: ['role_changed'], role: 'user', at: AT, userAgent: HOSTILE },
  ],
  lost_devices_link: [{ kind: 'lost_devices_link', link: 'https://id.example.com/console/#/recover?token=abc&x=<y>', expiresInMinutes: 60, coolingHours: 24, at: AT, ip: '2001:db8::1', userAgent: HOSTILE }],
  recovery_started: [{ kind: 'recovery_started', until: AT + 86_400_000, cancelLink: 'https://id.example.com/console/#/recover/cancel?token=abc', at: AT, ip: '203.0.113.9', userAgent: HOSTILE }],
  recovery_ended: [{ kind: 'recovery_ended', requestedAt: AT - 86_400_000, cancelLink: 'https://id.example.com/console/#/recover/cancel?token=abc', at: AT }],
  recovery_cancelled: [{ kind: 'recovery_cancelled', by: 'user', at: AT, ip: '203.0.113.9', userAgent: HOSTILE }, { kind: 'recovery_cancelled', by: 'sign_in', at: AT }],
  recovery_completed: [{ kind: 'recovery_completed', devices: 2, at: AT, ip: '203.0.113.9', userAgent: HOSTILE }, { kind: 'recovery_completed', devices: 1, at: AT }],
};
const ALL_SAMPLES: MailMessage[] = Object.values(SAMPLES).flat();

function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'mamori-mail-'));
}

interface LogLine {
  level: 'info' | 'error';
  obj: object;
  msg: string | undefined;
}

function fakeLogger(): MailLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  return (Array.isArray(a) ? a : a === undefined ? [] : [a]).flatMap((o) => o.value.map((v) => v.address ?? ''));
}

describe('renderMail', () => {
  it('has a sample for every kind', () => {
    expect(new Set(ALL_SAMPLES.map((m) => m.kind))).toEqual(new Set(MAIL_KINDS));
  });

  for (const locale of LOCALES) {
    for (const msg of ALL_SAMPLES) {
      it(`renders ${msg.kind} in ${locale} without placeholders leaking`, () => {
        const mail = renderMail(msg, locale, ctx);
        for (const part of [mail.subject, mail.text, mail.html]) {
          expect(part).not.toMatch(/undefined|NaN|\[object|Invalid Date/);
          expect(part.length).toBeGreaterThan(0);
        }
        expect(mail.subject).not.toMatch(/[\r\n]/);
        expect(mail.html).not.toMatch(/<script/i);
        expect(mail.html).toContain(`lang="${locale}"`);
        if (locale === 'ja') {
          expect(mail.subject).toMatch(/^【Mamori】/);
          expect(mail.text).toMatch(/[ぁ-んァ-ヶ]/);
          // Polite (です/ます) register throughout.
          expect(mail.text).toMatch(/(ます|です|ください)。/);
        }
        if ('at' in msg) {
          expect(mail.text).toContain('2025-01-02T03:04:05Z');
          expect(mail.text).toContain(locale === 'ja' ? '2025年1月2日' : 'January 2, 2025');
        }
      });
    }
  }

  it('escapes every interpolated value in the HTML', () => {
    for (const locale of LOCALES) {
      const added = renderMail(SAMPLES.mfa_device_added[0]!, locale, ctx);
      expect(added.html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;friends&#39;');
      expect(added.text).toContain(HOSTILE);
      const invite = renderMail(SAMPLES.invitation[0]!, locale, ctx);
      expect(invite.html).toContain('href="https://id.example.com/invite#t=abc&#38;x=%3Cy%3E"');
    }
  });

  it('puts the sign-in code in the body, not the subject, and says it expires', () => {
    const en = renderMail(SAMPLES.email_code[0]!, 'en', ctx);
    expect(en.text).toContain(CODE);
    expect(en.html).toContain(CODE);
    expect(en.subject).not.toContain(CODE);
    expect(en.text).toContain('expires in 10 minutes');
    expect(en.text).toMatch(/did not just try to sign in, someone else may know your password/);
    expect(en.text).toMatch(/change your password/);
    expect(renderMail(SAMPLES.email_code[1]!, 'en', ctx).text).toContain('expires in 1 minute ');

    const ja = renderMail(SAMPLES.email_code[0]!, 'ja', ctx);
    expect(ja.text).toContain(CODE);
    expect(ja.subject).not.toContain(CODE);
    expect(ja.text).toContain('有効期限は10分');
    expect(ja.text).toContain('パスワードを変更してください');
    // The preview line of the HTML part is the preheader, which has no code in it.
    expect(ja.html.indexOf(CODE)).toBeGreaterThan(ja.html.indexOf('display:none'));
  });

  it('keeps hostile line breaks and bidi overrides out of the text part', () => {
    const mail = renderMail(
      { kind: 'mfa_device_added', deviceName: 'Key\r\nClick https://evil.example\u202e', deviceType: 'webauthn', at: AT },
      'en',
      ctx,
    );
    expect(mail.text).toContain('Device: Key Click https://evil.example\n');
    expect(mail.text).not.toContain('\u202e');
  });

  it('refuses values that would render as nonsense or as a script link', () => {
    expect(() => renderMail({ kind: 'email_code', code: CODE, expiresInMinutes: Number.NaN }, 'en', ctx)).toThrow(RangeError);
    expect(() => renderMail({ kind: 'recovery_code_used', remaining: 1, at: Number.NaN }, 'en', ctx)).toThrow(RangeError);
    expect(() =>
      renderMail({ kind: 'invitation', link: 'javascript:alert(1)', expiresInHours: 1 }, 'en', ctx),
    ).toThrow(TypeError);
  });
});

describe('SMTP delivery', () => {
  const received: Array<{ rcpt: string[]; mail: ParsedMail }> = [];
  let rejectNext: 'permanent' | 'transient' | undefined;
  let dataCalls = 0;
  let server: SMTPServer;
  let port = 0;

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      // Its built-in certificate is self-signed; nodemailer would rightly refuse the STARTTLS upgrade.
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        dataCalls++;
        const rcpt = session.envelope.rcptTo.map((r) => r.address);
        simpleParser(stream).then(
          (mail) => {
            const reject = rejectNext;
            if (reject === 'permanent') return callback(Object.assign(new Error('No such user'), { responseCode: 550 }));
            if (reject === 'transient') {
              rejectNext = undefined;
              return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
            }
            received.push({ rcpt, mail });
            callback();
          },
          (err: Error) => callback(err),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(resolve));
  });

  it('delivers an email_code mail with text and HTML parts', async () => {
    const logger = fakeLogger();
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      from: 'Mamori <no-reply@id.example.com>',
      dataDir: '/nonexistent',
      publicUrl: ctx.publicUrl,
      logger,
    });
    try {
      await mailer.send('alice@example.com', { kind: 'email_code', code: CODE, expiresInMinutes: 10 }, 'en');
    } finally {
      await mailer.close();
    }
    const got = received.at(-1)!;
    expect(got.rcpt).toEqual(['alice@example.com']);
    expect(addresses(got.mail.to)).toEqual(['alice@example.com']);
    expect(got.mail.from?.value[0]).toMatchObject({ name: 'Mamori', address: 'no-reply@id.example.com' });
    expect(got.mail.subject).toBe('Your Mamori sign-in code');
    expect(got.mail.text).toContain(CODE);
    expect(got.mail.text).toContain('expires in 10 minutes');
    expect(got.mail.html).toContain(CODE);
    expect(got.mail.html).toContain('<html lang="en">');
    expect(got.mail.headers.get('auto-submitted')).toBe('auto-generated');
    // Success is logged without the body, and so without the code.
    expect(JSON.stringify(logger.lines)).not.toContain(CODE);
  });

  it('delivers Japanese as intact UTF-8', async () => {
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      from: 'no-reply@id.example.com',
      dataDir: '/nonexistent',
      publicUrl: ctx.publicUrl,
      productName: 'まもり',
      logger: fakeLogger(),
    });
    try {
      await mailer.send('taro@example.jp', { kind: 'email_code', code: CODE, expiresInMinutes: 10 }, 'ja');
    } finally {
      await mailer.close();
    }
    const got = received.at(-1)!;
    const expected = renderMail({ kind: 'email_code', code: CODE, expiresInMinutes: 10 }, 'ja', { ...ctx, productName: 'まもり' });
    expect(got.mail.subject).toBe('【まもり】サインイン用の確認コード');
    expect(got.mail.text?.trim()).toBe(expected.text.trim());
    expect(got.mail.text).toContain('まもりへのサインインを完了するには、次の確認コードを入力してください。');
    expect(got.mail.html).toContain('確認コードは誰にも教えないでください。');
  });

  it('never splits one address into several recipients', async () => {
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}`, from: 'a@b.example', dataDir: '/x', publicUrl: ctx.publicUrl, logger: fakeLogger() });
    const before = received.length;
    try {
      // Sent as the single (odd) mailbox "alice@example.com, mallory"@example.com, which this
      // server refuses; as a string nodemailer would have mailed the code to both.
      await expect(mailer.send('alice@example.com, mallory@example.com', SAMPLES.email_code[0]!, 'en')).rejects.toThrow(
        MailDeliveryError,
      );
    } finally {
      await mailer.close();
    }
    expect(received.length).toBe(before);
  });

  it('retries a transient refusal and succeeds', async () => {
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}`, from: 'a@b.example', dataDir: '/x', publicUrl: ctx.publicUrl, logger: fakeLogger() });
    rejectNext = 'transient';
    const before = dataCalls;
    try {
      await mailer.send('bob@example.com', SAMPLES.password_changed[0]!, 'en');
    } finally {
      await mailer.close();
    }
    expect(dataCalls - before).toBe(2);
    expect(received.at(-1)!.rcpt).toEqual(['bob@example.com']);
  });

  it('does not retry a permanent refusal', async () => {
    const logger = fakeLogger();
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}`, from: 'a@b.example', dataDir: '/x', publicUrl: ctx.publicUrl, logger });
    rejectNext = 'permanent';
    const before = dataCalls;
    try {
      const err = await mailer.send('nobody@example.com', { kind: 'email_code', code: CODE, expiresInMinutes: 10 }, 'en').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MailDeliveryError);
      expect((err as MailDeliveryError).attempts).toBe(1);
    } finally {
      rejectNext = undefined;
      await mailer.close();
    }
    expect(dataCalls - before).toBe(1);
    expect(JSON.stringify(logger.lines)).not.toContain(CODE);
  });

  it('throws MailDeliveryError, after retrying, when the server is down', async () => {
    // A port that was just free: nothing listens on it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const logger = fakeLogger();
    const mailer = createMailer({
      smtpUrl: `smtp://mailuser:s3cret-pass@127.0.0.1:${closedPort}`,
      from: 'no-reply@id.example.com',
      dataDir: '/nonexistent',
      publicUrl: ctx.publicUrl,
      logger,
    });
    let caught: unknown;
    try {
      await mailer.send('alice@example.com', { kind: 'email_code', code: CODE, expiresInMinutes: 10 }, 'en');
    } catch (err) {
      caught = err;
    } finally {
      await mailer.close();
    }
    expect(caught).toBeInstanceOf(MailDeliveryError);
    const err = caught as MailDeliveryError;
    expect(err.code).toBe('mail_delivery_failed');
    expect(err.attempts).toBe(3);
    for (const secret of [CODE, 's3cret-pass', 'mailuser']) {
      expect(err.message).not.toContain(secret);
      expect(JSON.stringify(logger.lines)).not.toContain(secret);
    }
    const errorLines = logger.lines.filter((l) => l.level === 'error');
    expect(errorLines).toHaveLength(1);
    expect(JSON.stringify(errorLines[0])).toContain('email_code');
    expect(JSON.stringify(errorLines[0])).not.toMatch(/<html|expires in/);
  });

  it('refuses a URL that is not SMTP without echoing it', () => {
    const make = (): unknown =>
      createMailer({ smtpUrl: 'http://u:hunter2@mail.example', from: 'a@b.example', dataDir: '/x', publicUrl: ctx.publicUrl, logger: fakeLogger() });
    expect(make).toThrow(TypeError);
    expect(make).not.toThrow(/hunter2/);
  });
});

describe('development outbox', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await tempDir();
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes each mail as a private JSON file and logs one line without the body', async () => {
    const logger = fakeLogger();
    const mailer = createMailer({ from: 'no-reply@id.example.com', dataDir, publicUrl: ctx.publicUrl, logger });
    await mailer.send('alice@example.com', { kind: 'email_code', code: CODE, expiresInMinutes: 10 }, 'en');
    await mailer.send('alice@example.com', SAMPLES.mfa_device_added[0]!, 'ja');
    await mailer.close();

    const outbox = path.join(dataDir, 'outbox');
    expect((await stat(outbox)).mode & 0o777).toBe(0o700);
    const mails = await readOutbox(dataDir);
    expect(mails.map((m) => m.kind)).toEqual(['email_code', 'mfa_device_added']);
    const [first, second] = mails;
    expect(first).toMatchObject({ to: 'alice@example.com', subject: 'Your Mamori sign-in code', kind: 'email_code' });
    expect(first!.text).toContain(CODE);
    expect(first!.html).toContain('<!doctype html>');
    expect(new Date(first!.at).toISOString()).toBe(first!.at);
    expect(path.dirname(first!.file)).toBe(outbox);
    expect(path.basename(first!.file)).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-[0-9a-f]+\.json$/);
    expect((await stat(first!.file)).mode & 0o777).toBe(0o600);
    expect(second!.subject).toBe('【Mamori】MFAデバイスが追加されました');
    // No temp file is left behind.
    expect((await readdir(outbox)).filter((n) => n.startsWith('.'))).toEqual([]);

    expect(logger.lines).toHaveLength(2);
    const [codeLine, deviceLine] = logger.lines;
    expect(codeLine).toMatchObject({
      level: 'info',
      obj: { mail: { to: 'alice@example.com', subject: 'Your Mamori sign-in code', kind: 'email_code', file: first!.file } },
    });
    expect(codeLine!.msg).toContain(CODE);
    expect(deviceLine!.obj).toMatchObject({ mail: { kind: 'mfa_device_added' } });
    expect(deviceLine!.msg).not.toContain(CODE);
    for (const line of logger.lines) {
      const json = JSON.stringify(line);
      expect(json).not.toMatch(/<html|<!doctype|<p /i);
      // Only the email_code message text carries the code; the structured fields never do.
      expect(JSON.stringify(line.obj)).not.toContain(CODE);
      expect(line.msg).not.toMatch(/[\r\n]/);
    }
  });

  it('skips stray files and returns nothing for a missing outbox', async () => {
    await writeFile(path.join(dataDir, 'outbox', 'notes.json'), '{"hello":1}');
    await writeFile(path.join(dataDir, 'outbox', 'broken.json'), '{');
    expect((await readOutbox(dataDir)).map((m) => m.kind)).toEqual(['email_code', 'mfa_device_added']);
    expect(await readOutbox(path.join(dataDir, 'missing'))).toEqual([]);
  });

  it('keeps a line break in the recipient out of the files and the log', async () => {
    const logger = fakeLogger();
    const mailer = createMailer({ from: 'a@b.example', dataDir, publicUrl: ctx.publicUrl, logger });
    await expect(mailer.send('a@example.com\nBcc: x@evil.example', SAMPLES.email_code[0]!, 'en')).rejects.toThrow(TypeError);
    expect(logger.lines).toEqual([]);
  });
});
