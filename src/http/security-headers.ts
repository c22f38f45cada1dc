import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import helmet, { type HelmetOptions } from 'helmet';

/** The security headers of every answer, as name/value pairs. */
export type HeaderPlan = readonly (readonly [name: string, value: string])[];

/**
 * The headers helmet sets, worked out once. With a fixed CSP and no per-request nonce its output
 * is the same for every request, and running its dozen middlewares per request was a visible
 * share of a session check. Helmet still decides them: it runs once here, on a response that is
 * never sent, and what it set is read back, so upgrading helmet changes them here too.
 */
export function planSecurityHeaders(options: Readonly<HelmetOptions>): HeaderPlan {
  const req = new IncomingMessage(new Socket());
  const res = new ServerResponse(req);
  let failed: unknown;
  helmet(options)(req, res, (err?: unknown) => {
    failed = err;
  });
  if (failed) throw failed;
  return Object.entries(res.getHeaders()).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)] as const);
}

/** Sets the planned headers on an answer. */
export function applySecurityHeaders(res: ServerResponse, plan: HeaderPlan): void {
  for (const [name, value] of plan) res.setHeader(name, value);
}
