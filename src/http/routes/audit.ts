import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MamoriError } from '../../errors.js';
import type { Services } from '../../services.js';
import { EVENT_TYPES, auditView, exportAudit, parseInstant } from '../../flows/audit-export.js';
import { requireAdmin } from '../auth.js';
import { Download, Nullable } from './schemas.js';

const Cursor = Type.String({ pattern: '^[0-9]{1,15}$' });

/** One event (src/flows/audit-export.ts auditView), as the listing and each line of the export show it. */
const AuditEventSchema = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  type: Type.String(),
  userId: Nullable(Type.String()),
  actor: Nullable(Type.String()),
  /** The instance whose chain holds the event; null on the chain from before migration 012. */
  instance: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  userAgent: Nullable(Type.String()),
  detail: Type.Record(Type.String(), Type.Unknown()),
  hash: Type.String(),
});

/** What the log's check found (src/audit/chain.ts LogCheck). */
const LogCheckSchema = Type.Object({
  valid: Type.Boolean(),
  /** Events verified: every chain's events up to where it breaks, if it does. */
  events: Type.Integer(),
  /** Of them, version 1 (from before the key, SHA-256 only). */
  unkeyed: Type.Integer(),
  /** The smallest id among the events that fail or are missing. */
  firstBrokenId: Type.Optional(Type.Integer()),
  chains: Type.Integer(),
  checkpoints: Type.Integer(),
  /** The newest checkpoint (`at` in milliseconds): a copy of its hash kept elsewhere pins everything up to it. */
  lastCheckpoint: Type.Optional(Type.Object({ id: Type.Integer(), at: Type.Integer(), hash: Type.String() })),
  /** The first few problems, by event id (then checkpoint id). */
  problems: Type.Optional(
    Type.Array(
      Type.Object({
        reason: Type.String(),
        chain: Type.Optional(Type.String()),
        eventId: Type.Optional(Type.Integer()),
        checkpointId: Type.Optional(Type.Integer()),
      }),
    ),
  ),
});
const Instant = Type.String({ minLength: 10, maxLength: 40, description: 'ISO 8601 time' });

/** The filters both the listing and the export take. */
const Filters = {
  userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  /** One event type, or several separated by commas. */
  type: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, pattern: EVENT_TYPES.source })),
  from: Type.Optional(Instant),
  to: Type.Optional(Instant),
};

function instant(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseInstant(value);
  if (ms === undefined) throw new MamoriError('validation_failed', `${name} must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z`);
  return ms;
}

function filters(q: { userId?: string; type?: string; from?: string; to?: string }) {
  return {
    ...(q.userId === undefined ? {} : { userId: q.userId }),
    ...(q.type === undefined ? {} : { types: q.type.split(',') }),
    ...(q.from === undefined ? {} : { from: instant(q.from, 'from') }),
    ...(q.to === undefined ? {} : { to: instant(q.to, 'to') }),
  };
}

/**
 * The audit log for administrators: filtered by user, type and time; `order=desc` (newest first,
 * what the console shows) pages back with `before`, the default oldest-first pages on with
 * `after` (the contract's `?after=&limit=`). The export streams every matching event as JSON lines.
 */
export function auditRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/admin/audit',
      {
        schema: {
          querystring: Type.Object(
            {
              after: Type.Optional(Cursor),
              before: Type.Optional(Cursor),
              limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
              order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
              ...Filters,
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              events: Type.Array(AuditEventSchema),
              /** The cursor of the next page (`after`, or `before` with `order=desc`); null on the last. */
              next: Nullable(Type.Integer()),
            }),
          },
        },
      },
      async (req) => {
        await requireAdmin(s, req);
        const q = req.query;
        if (q.after !== undefined && q.before !== undefined) throw new MamoriError('validation_failed', 'Give after or before, not both');
        const order = q.order ?? (q.before !== undefined ? 'desc' : 'asc');
        const limit = Math.min(Math.max(Number(q.limit ?? 100), 1), 1000);
        const events = await s.audit.search({
          ...filters(q),
          order,
          limit,
          ...(order === 'asc' ? { after: Number(q.after ?? 0) } : q.before !== undefined ? { before: Number(q.before) } : {}),
        });
        return { events: events.map(auditView), next: events.length === limit ? events[events.length - 1]!.id : null };
      },
    );

    app.get(
      '/api/v1/admin/audit/export',
      {
        schema: {
          querystring: Type.Object(Filters, { additionalProperties: false }),
          response: {
            200: Download('application/x-ndjson', 'One event a line, as JSON, oldest first'),
          },
        },
      },
      async (req, reply) => {
        await requireAdmin(s, req);
        const f = filters(req.query);
        const chunks: string[] = [];
        await exportAudit(s, f, (chunk) => void chunks.push(chunk));
        return reply.type('application/x-ndjson; charset=utf-8').header('content-disposition', 'attachment; filename="audit.jsonl"').send(chunks.join(''));
      },
    );

    app.get('/api/v1/admin/audit/verify', { schema: { response: { 200: LogCheckSchema } } }, async (req) => {
      await requireAdmin(s, req);
      return s.audit.verify();
    });
  };
}
