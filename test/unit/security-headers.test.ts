import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet, { type HelmetOptions } from 'helmet';
import { describe, expect, it } from 'vitest';
import { applySecurityHeaders, planSecurityHeaders } from '../../src/http/security-headers.js';

/** The headers of one real answer from a node:http server whose handler is `handle`. */
async function headersOf(handle: Parameters<typeof createServer>[1]): Promise<Record<string, string>> {
  const server: Server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const out: Record<string, string> = {};
    for (const [k, v] of res.headers) if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)) out[k] = v;
    return out;
  } finally {
    server.close();
  }
}

const OPTIONS: HelmetOptions[] = [
  { contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'] } }, strictTransportSecurity: false, crossOriginEmbedderPolicy: false },
  { contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'self'"] } }, strictTransportSecurity: true, crossOriginEmbedderPolicy: false },
  {},
];

describe('security headers worked out once', () => {
  it.each(OPTIONS.map((o, i) => [i, o] as const))('options %i: the same headers as helmet running on the request', async (_i, options) => {
    const plan = planSecurityHeaders(options);
    const byHelmet = await headersOf((req, res) => helmet(options)(req, res, () => res.end()));
    const byPlan = await headersOf((_req, res) => {
      applySecurityHeaders(res, plan);
      res.end();
    });
    expect(byPlan).toEqual(byHelmet);
    expect(Object.keys(byPlan)).toContain('x-content-type-options');
    expect('strict-transport-security' in byPlan).toBe(options.strictTransportSecurity !== false);
  });
});
