import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One mail as a real SMTP server received it, parsed like a mail client would. */
export interface CapturedMail {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

export interface MailCatcher {
  /** `smtp://127.0.0.1:<port>`, for MAMORI_SMTP_URL. */
  url: string;
  mails: CapturedMail[];
  /** Mails to `to`, oldest first. */
  to(address: string): CapturedMail[];
  /** Waits until `count` mails to `to` match `match` (subject or text), and returns the newest. */
  waitFor(address: string, match: (m: CapturedMail) => boolean, opts?: { count?: number; timeoutMs?: number }): Promise<CapturedMail>;
  /** The six-digit code of the newest sign-in code mail to `address`. */
  lastCode(address: string): Promise<string>;
  close(): Promise<void>;
}

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  return (Array.isArray(a) ? a : a === undefined ? [] : [a]).flatMap((o) => o.value.map((v) => v.address ?? ''));
}

/** A real SMTP server on a free loopback port that keeps every mail it is given. */
export async function startMailCatcher(): Promise<MailCatcher> {
  const mails: CapturedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, cb) {
      simpleParser(stream).then((m) => {
        mails.push({ to: addresses(m.to), subject: m.subject ?? '', text: m.text ?? '', html: typeof m.html === 'string' ? m.html : '' });
        cb();
      }, cb);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as { port: number }).port;
  const to = (address: string) => mails.filter((m) => m.to.includes(address));
  const waitFor: MailCatcher['waitFor'] = async (address, match, opts = {}) => {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const found = to(address).filter(match);
      if (found.length >= (opts.count ?? 1)) return found.at(-1)!;
      if (Date.now() > deadline) {
        throw new Error(`no matching mail to ${address}; got: ${JSON.stringify(to(address).map((m) => m.subject))}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    to,
    waitFor,
    // The sign-in code mail is sent before the sign-in step answers, so the newest one is this sign-in's.
    async lastCode(address) {
      const mail = await waitFor(address, (m) => /sign-in code|確認コード/.test(m.subject));
      return /\b(\d{6})\b/.exec(mail.text)![1]!;
    },
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}
