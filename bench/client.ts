/**
 * The bench's own small HTTP client, for setup and the closed-loop rows: keep-alive, like a
 * browser, and cookies read from Set-Cookie. (autocannon drives the throughput rows.)
 */
import http from 'node:http';

/** Enough sockets for the full-flow rows' browsers side by side. */
export const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

export interface Reply {
  status: number;
  body: unknown;
  cookies: Record<string, string>;
}

export function call(base: string, method: string, urlPath: string, opts: { json?: unknown; cookie?: string } = {}): Promise<Reply> {
  const payload = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
  const headers: http.OutgoingHttpHeaders = {};
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  if (opts.cookie) headers.cookie = opts.cookie;
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(urlPath, base), { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? (JSON.parse(text) as unknown) : undefined;
        } catch {
          // not JSON: keep the text
        }
        const cookies: Record<string, string> = {};
        for (const line of res.headers['set-cookie'] ?? []) {
          const m = /^([^=;\s]+)=([^;]*)/.exec(line);
          if (m) cookies[m[1]!] = m[2]!;
        }
        resolve({ status: res.statusCode ?? 0, body, cookies });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export function expectStatus(r: Reply, status: number, what: string): Reply {
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

export function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

export function stringField(body: unknown, name: string): string {
  const v = field(body, name);
  if (typeof v !== 'string') throw new Error(`answer without "${name}": ${JSON.stringify(body)}`);
  return v;
}

export function stringsField(body: unknown, name: string): string[] {
  const v = field(body, name);
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw new Error(`answer without a list "${name}": ${JSON.stringify(body)}`);
  return v;
}

export function cookieOf(r: Reply, name: string): string {
  const v = r.cookies[name];
  if (!v) throw new Error(`no ${name} cookie in the answer (${r.status} ${JSON.stringify(r.body)})`);
  return v;
}
