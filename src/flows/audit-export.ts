import type { Services } from '../services.js';
import type { AuditEvent } from '../store/schema.js';

export interface AuditFilters {
  userId?: string;
  types?: readonly string[];
  from?: number;
  to?: number;
}

/** An ISO 8601 time (date first, e.g. 2026-12-01T00:00:00Z) as milliseconds, or undefined when it is not one. */
export function parseInstant(value: string): number | undefined {
  const ms = Date.parse(value);
  return /^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(ms) ? ms : undefined;
}

/** Event types as the filters take them: one, or several separated by commas. */
export const EVENT_TYPES = /^[a-z0-9_]+(,[a-z0-9_]+)*$/;

/** An audit event as the admin API and the export show it. */
export function auditView(e: AuditEvent) {
  return {
    id: e.id,
    at: new Date(e.at).toISOString(),
    type: e.type,
    userId: e.user_id,
    actor: e.actor,
    instance: e.instance,
    ip: e.ip,
    userAgent: e.user_agent,
    detail: JSON.parse(e.detail) as Record<string, unknown>,
    hash: e.hash,
  };
}

/**
 * Every matching event, oldest first, one JSON line each, handed to `write` page by page, so an
 * export of millions of events never holds them all in memory.
 */
export async function exportAudit(s: Pick<Services, 'audit'>, filters: AuditFilters, write: (chunk: string) => void | Promise<void>): Promise<number> {
  let n = 0;
  for (let after = 0; ; ) {
    const page = await s.audit.search({ ...filters, order: 'asc', after, limit: 1000 });
    if (page.length > 0) await write(page.map((e) => JSON.stringify(auditView(e)) + '\n').join(''));
    n += page.length;
    if (page.length < 1000) return n;
    after = page[page.length - 1]!.id;
  }
}
