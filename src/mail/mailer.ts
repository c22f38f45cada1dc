/**
 * Sends the mails of `messages.ts`: over SMTP when `smtpUrl` is set, otherwise into the development
 * outbox, a directory of JSON files under the data directory.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { MAIL_KINDS, renderMail, type Locale, type MailKind, type MailMessage, type RenderedMail } from './messages.js';

export interface MailLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface MailerOptions {
  /** smtp:// or smtps://, optionally with user:pass. Unset: the development outbox. */
  smtpUrl?: string;
  from: string;
  dataDir: string;
  publicUrl: string;
  productName?: string;
  logger: MailLogger;
}

export interface Mailer {
  send(to: string, msg: MailMessage, locale: Locale): Promise<void>;
  close(): Promise<void>;
}

export interface OutboxMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  kind: MailKind;
  /** ISO 8601 UTC time the mail was written. */
  at: string;
  /** Absolute path of the JSON file. */
  file: string;
}

/**
 * The SMTP server could not be reached or refused the mail. The message names only the mail kind
 * and the SMTP error code: never the recipient's code, the body or the SMTP credentials.
 */
export class MailDeliveryError extends Error {
  readonly code = 'mail_delivery_failed';
  constructor(
    readonly kind: MailKind,
    readonly attempts: number,
    /** Nodemailer's error code (ECONNECTION, EAUTH, ...) or the SMTP reply code, if any. */
    readonly reason: string | undefined,
  ) {
    const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
    super(`Could not deliver the ${kind} mail after ${tries}${reason === undefined ? '' : ` (${reason})`}`);
    this.name = 'MailDeliveryError';
  }
}

const DEFAULT_PRODUCT_NAME = 'Mamori';

export function createMailer(opts: MailerOptions): Mailer {
  const ctx = { productName: opts.productName ?? DEFAULT_PRODUCT_NAME, publicUrl: opts.publicUrl };
  const deliver = opts.smtpUrl === undefined || opts.smtpUrl === ''
    ? outboxDelivery(opts.dataDir, opts.logger)
    : smtpDelivery(opts.smtpUrl, opts.from, opts.logger);
  let closed = false;
  return {
    async send(to, msg, locale) {
      if (closed) throw new Error('The mailer is closed');
      // A line break in an address would let a caller smuggle in extra headers or outbox lines.
      if (to === '' || /[\r\n]/.test(to)) throw new TypeError('The recipient address is not valid');
      await deliver.send(to, msg, renderMail(msg, locale, ctx));
    },
    async close() {
      if (closed) return;
      closed = true;
      await deliver.close();
    },
  };
}

interface Delivery {
  send(to: string, msg: MailMessage, mail: RenderedMail): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// SMTP

/** Waits before the 2nd and 3rd attempt: long enough for a restarting relay, short for a user waiting on a code. */
const RETRY_DELAYS_MS = [250, 1000] as const;

// Failures that the same message on a new connection a second later would meet again.
const PERMANENT_CODES = new Set(['EAUTH', 'ENOAUTH', 'ECONFIG', 'EENVELOPE', 'EMAXRECIPIENTS']);

interface SmtpFailure {
  code: string | undefined;
  responseCode: number | undefined;
  command: string | undefined;
  permanent: boolean;
  message: string;
}

function describeFailure(err: unknown): SmtpFailure {
  const o: object = typeof err === 'object' && err !== null ? err : {};
  const code = 'code' in o && typeof o.code === 'string' ? o.code : undefined;
  const responseCode = 'responseCode' in o && typeof o.responseCode === 'number' ? o.responseCode : undefined;
  const command = 'command' in o && typeof o.command === 'string' ? o.command : undefined;
  const flagged = 'permanent' in o && o.permanent === true;
  return {
    code,
    responseCode,
    command,
    permanent:
      flagged ||
      (code !== undefined && PERMANENT_CODES.has(code)) ||
      // RFC 5321: 5yz is final; 503 only says the session was in the wrong state.
      (responseCode !== undefined && responseCode >= 500 && responseCode < 600 && responseCode !== 503),
    message: err instanceof Error ? err.message : String(err),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

function smtpDelivery(smtpUrl: string, from: string, logger: MailLogger): Delivery {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    // The URL may hold the SMTP password: never echo it.
    throw new TypeError('smtpUrl is not a valid URL');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new TypeError('smtpUrl must start with smtp:// or smtps://');
  // With credentials on plain smtp://, STARTTLS is only opportunistic: an attacker on the path who
  // strips it would be handed the password. Query parameters in the URL (?requireTLS=false) still win.
  const requireTLS = url.protocol === 'smtp:' && (url.username !== '' || url.password !== '') && !isLoopback(url.hostname);

  // Loaded only where mail goes out by SMTP (the development outbox needs none of it): a command
  // line start pays for nothing it does not use.
  const { createTransport } = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
  const transport = createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: 3,
    // Nodemailer's defaults (2 min to connect, 10 min idle socket) would hold a sign-in request
    // hostage long after the user gave up.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    ...(requireTLS ? { requireTLS: true } : {}),
  });

  return {
    async send(to, msg, mail) {
      for (let attempt = 1; ; attempt++) {
        try {
          const info = await transport.sendMail({
            from,
            // As an object nodemailer takes the address verbatim: a string is parsed as a list, so
            // "victim@x, attacker@y" stored as one account's email would mail the code to both.
            to: { name: '', address: to },
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            // RFC 3834: tells vacation responders and ticket systems not to answer.
            headers: { 'Auto-Submitted': 'auto-generated' },
          });
          logger.info({ mail: { to, kind: msg.kind, messageId: info.messageId, attempts: attempt } }, 'mail sent');
          return;
        } catch (err) {
          const failure = describeFailure(err);
          const delay = RETRY_DELAYS_MS[attempt - 1];
          if (delay !== undefined && !failure.permanent) {
            await new Promise((resolve) => setTimeout(resolve, delay));
            continue;
          }
          // Subject and kind only: the body of an email_code mail is a live credential.
          logger.error(
            {
              mail: { to, kind: msg.kind, subject: mail.subject, attempts: attempt },
              err: {
                code: failure.code,
                responseCode: failure.responseCode,
                command: failure.command,
                message: failure.message,
              },
            },
            'mail delivery failed',
          );
          throw new MailDeliveryError(msg.kind, attempt, failure.code ?? failure.responseCode?.toString());
        }
      }
    },
    async close() {
      transport.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Development outbox

function outboxDir(dataDir: string): string {
  return path.resolve(dataDir, 'outbox');
}

// Strictly increasing per process, so mails sent within one millisecond still list in send order.
let lastStamp = 0;
function nextStamp(): number {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return lastStamp;
}

/** One line of log text even for a hostile value, also under pino-pretty (which prints msg raw). */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
}

function outboxDelivery(dataDir: string, logger: MailLogger): Delivery {
  const dir = outboxDir(dataDir);
  let ready: Promise<void> | undefined;
  const prepare = async (): Promise<void> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory's mode alone; the mails in it hold sign-in codes.
    await chmod(dir, 0o700);
  };

  return {
    async send(to, msg, mail) {
      ready ??= prepare().catch((err: unknown) => {
        ready = undefined;
        throw err;
      });
      await ready;
      const at = new Date(nextStamp()).toISOString();
      // ISO time with ':' as '-': colons break Windows paths, scp and tar.
      const name = `${at.replace(/:/g, '-')}-${randomBytes(5).toString('hex')}.json`;
      const file = path.join(dir, name);
      const tmp = path.join(dir, `.${name}.tmp`);
      const record = { to, subject: mail.subject, text: mail.text, html: mail.html, kind: msg.kind, at };
      try {
        await writeFile(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
        // Rename is atomic within a directory: a reader sees the whole mail or none of it.
        await rename(tmp, file);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      // Development outbox only: with SMTP configured the code never reaches the log. Printing it
      // here lets a developer sign in straight from the terminal.
      const text =
        msg.kind === 'email_code'
          ? `development outbox: sign-in code ${oneLine(msg.code)} for ${oneLine(to)}`
          : `development outbox: ${msg.kind} mail for ${oneLine(to)}`;
      logger.info({ mail: { to, subject: mail.subject, kind: msg.kind, file } }, text);
    },
    async close() {},
  };
}

function isOutboxRecord(v: unknown): v is Omit<OutboxMail, 'file'> {
  return (
    typeof v === 'object' &&
    v !== null &&
    'to' in v && typeof v.to === 'string' &&
    'subject' in v && typeof v.subject === 'string' &&
    'text' in v && typeof v.text === 'string' &&
    'html' in v && typeof v.html === 'string' &&
    'at' in v && typeof v.at === 'string' &&
    'kind' in v && MAIL_KINDS.some((k) => k === v.kind)
  );
}

/** The mails of the development outbox, oldest first. Files that are not outbox mails are skipped. */
export async function readOutbox(dataDir: string): Promise<OutboxMail[]> {
  const dir = outboxDir(dataDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return [];
    throw err;
  }
  // The names start with the ISO time, so name order is send order.
  const files = names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  const mails: OutboxMail[] = [];
  for (const name of files) {
    const file = path.join(dir, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      continue;
    }
    if (!isOutboxRecord(parsed)) continue;
    const { to, subject, text, html, kind, at } = parsed;
    mails.push({ to, subject, text, html, kind, at, file });
  }
  return mails;
}
