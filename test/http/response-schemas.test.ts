import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACTORS } from '../../src/methods/registry.js';
import { fixedCodeFactor } from '../fixtures/factors/fixed-code.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * The console's API client is typed from /openapi.json (scripts/openapi-types.ts): an operation
 * without a described 2xx answer would be `unknown` there. Fastify also serializes through these
 * schemas, so they must exist for every route, not only for the routes the console calls today.
 * Hidden routes (the OpenID Connect library's, health, metrics, the test clock) are not in the
 * document at all.
 */

/**
 * Operations deliberately left without a described success answer, each with its reason, as
 * "METHOD /path". None today: the no-content answers say so (`type: 'null'` with a description),
 * and the downloads (CSV, JSON lines) carry their media type.
 */
const LEFT_WITHOUT: Record<string, string> = {};

/** What @fastify/swagger writes for a code with no schema: nothing a client can type. */
const DEFAULT_DESCRIPTION = 'Default Response';

interface Response {
  description?: string;
  content?: Record<string, { schema?: unknown }>;
}
interface Document {
  paths: Record<string, Record<string, { responses?: Record<string, Response> }>>;
}

describe('response schemas in the OpenAPI document', () => {
  let server: TestServer;
  let doc: Document;
  beforeAll(async () => {
    // A factor registered only in the tests: its generated routes are described like the built-in ones.
    server = await startServer({ factors: [...FACTORS, fixedCodeFactor], env: { MAMORI_TEST_CLOCK: 'true', MAMORI_METRICS_TOKEN: 'metrics-token-for-the-schema-tests-0123456789' } });
    const r = await server.client().get<Document>('/openapi.json');
    expect(r.status).toBe(200);
    doc = r.body;
  });
  afterAll(async () => server?.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, responses: op.responses ?? {} })));

  it('describes a 2xx answer of every operation: a schema for each media type, or a body-less answer that says what it means', () => {
    const missing: string[] = [];
    for (const { name, responses } of operations()) {
      if (name in LEFT_WITHOUT) continue;
      const ok = Object.entries(responses).filter(([code]) => /^2/.test(code));
      const described =
        ok.length > 0 &&
        ok.every(([, r]) =>
          r.content === undefined ? r.description !== undefined && r.description !== DEFAULT_DESCRIPTION : Object.values(r.content).length > 0 && Object.values(r.content).every((m) => m.schema !== undefined),
        );
      if (!described) missing.push(`${name} ${JSON.stringify(ok)}`);
    }
    expect(missing).toEqual([]);
    // The generated routes of every factor are there too (a challenge, an assignment, a custom factor's).
    const names = operations().map((o) => o.name);
    expect(names).toEqual(expect.arrayContaining(['POST /api/v1/sign-in/mfa/webauthn-options', 'POST /api/v1/me/mfa-devices/totp', 'POST /api/v1/me/mfa-devices/fixed-code']));
    // Hidden routes stay out of the document.
    expect(names.filter((n) => /\/(healthz|readyz|metrics|openapi\.json|api\/v1\/test\/clock)$|^\w+ \/oidc\/\*$|well-known/.test(n))).toEqual([]);
  });

  it('names only operations that exist and still lack a described answer among those left without one', () => {
    const byName = new Map(operations().map((o) => [o.name, o.responses]));
    for (const [name, reason] of Object.entries(LEFT_WITHOUT)) {
      expect(reason.length, name).toBeGreaterThan(0);
      const responses = byName.get(name);
      expect(responses, `${name} is not in the document`).toBeDefined();
      const contentful = Object.entries(responses!).some(([code, r]) => /^2/.test(code) && r.content !== undefined);
      expect(contentful, `${name} has a schema now: take it off LEFT_WITHOUT`).toBe(false);
    }
  });

  it('marks the downloads with their media type, not JSON', () => {
    const get = (path: string) => doc.paths[path]?.get?.responses?.['200']?.content ?? {};
    expect(Object.keys(get('/api/v1/admin/credential-report'))).toEqual(['text/csv']);
    expect(Object.keys(get('/api/v1/admin/users/export'))).toEqual(['application/x-ndjson']);
    expect(Object.keys(get('/api/v1/admin/audit/export'))).toEqual(['application/x-ndjson']);
  });
});
