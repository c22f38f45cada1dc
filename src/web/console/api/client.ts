// The one way the console talks to the server: openapi-fetch typed by the server's own OpenAPI
// document (api/schema.d.ts, generated). Same origin, JSON, no caching, redirects refused.
import createClient from 'openapi-fetch';
import { ApiError, type Problem } from './errors';
import type { paths } from './schema';

export const client = createClient<paths>({
  baseUrl: location.origin,
  credentials: 'same-origin',
  cache: 'no-store',
  redirect: 'error',
  headers: { accept: 'application/json, application/problem+json' },
});

let onSessionEnded: () => void = () => {};

/** What to do when a signed-in request learns that the session is gone (set by the store). */
export function whenSessionEnds(fn: () => void): void {
  onSessionEnded = fn;
}

function retryAfterOf(res: Response, problem: Problem): number | null {
  const raw = res.headers.get('retry-after');
  if (raw) {
    const n = Number(raw);
    if (Number.isFinite(n) && n >= 0) return n;
    const at = Date.parse(raw);
    if (!Number.isNaN(at)) return Math.max(0, (at - Date.now()) / 1000);
  }
  return typeof problem.retryAfter === 'number' ? problem.retryAfter : null;
}

function asProblem(error: unknown): Problem {
  return error !== null && typeof error === 'object' ? (error as Problem) : {};
}

type Answer = { data?: unknown; error?: unknown; response: Response };
/** The answer's body on success: openapi-fetch's `data` of the 2xx variant. */
type Data<A> = A extends { error?: never; data: infer D } ? D : never;

/**
 * Awaits one request: its data on 2xx, else an ApiError carrying the problem document.
 * `client.GET('/api/v1/me/mfa-devices')` → `await call(client.GET(...))`.
 */
export async function call<A extends Answer>(request: Promise<A>): Promise<Data<A>> {
  let answer: A;
  try {
    answer = await request;
  } catch {
    throw new ApiError(0, { code: 'network_error' }, null);
  }
  const res = answer.response;
  if (res.ok) return answer.data as Data<A>;
  const problem = asProblem(answer.error);
  const err = new ApiError(res.status, problem, retryAfterOf(res, problem));
  if (res.status === 401 && err.code === 'unauthenticated' && /\/api\/v1\/(me|admin)\//.test(new URL(res.url || location.href).pathname)) onSessionEnded();
  throw err;
}

/**
 * A route a factor brings that this build's OpenAPI document may not name (`/api/v1/me/step-up/
 * {factor}-options` of a factor added later): posted like any other, answered as unknown JSON.
 */
export function callFactorRoute(path: string, body: unknown): Promise<unknown> {
  const request = fetch(new URL(path, location.origin), {
    method: 'POST',
    credentials: 'same-origin',
    cache: 'no-store',
    redirect: 'error',
    headers: { accept: 'application/json, application/problem+json', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (response): Promise<{ data: unknown; response: Response } | { error: unknown; response: Response }> => {
    const parsed: unknown = await response.json().catch(() => undefined);
    return response.ok ? { data: parsed, response } : { error: parsed, response };
  });
  return call(request);
}
