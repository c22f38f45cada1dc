import { sql } from 'kysely';
import { isPgDatabaseError, type Store } from './db.js';

/** One round trip to the database, for the readiness probe: throws when it does not answer within `timeoutMs`. */
export async function ping(store: Pick<Store, 'db'>, timeoutMs = 3_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('The database did not answer in time')), timeoutMs);
  });
  try {
    await Promise.race([sql`select 1`.execute(store.db), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Socket errors: the database (or the network to it) is not there. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EAI_AGAIN']);

/** What pg and pg-pool throw when the connection is gone, cannot be made, or no client frees up in time. */
const DRIVER_MESSAGES = new Set([
  'Connection terminated',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
]);

/**
 * PostgreSQL refusing for reasons of its own state, not of the query: connection exceptions
 * (class 08), shutting down or starting up (57P01–57P03), too many connections (53300).
 */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[123]|53300)$/;

/**
 * Whether an error means "the database cannot be reached right now" — a 503 the client may retry —
 * rather than anything about the query itself. Deliberately narrow: constraint violations, syntax
 * errors, serialization failures, SQLite errors and bugs are not matched and stay what they are.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  if (isPgDatabaseError(err)) return typeof err.code === 'string' && UNAVAILABLE_SQLSTATES.test(err.code);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && SOCKET_CODES.has(code) && (err as { syscall?: unknown }).syscall !== undefined) return true;
  // Node's connect to a name with several addresses fails with all of them at once.
  if (err instanceof AggregateError && err.errors.length > 0 && err.errors.every((e) => isDatabaseUnavailable(e, depth + 1))) return true;
  return DRIVER_MESSAGES.has(err.message);
}

/**
 * PostgreSQL refusing a text value it cannot hold: U+0000 (22021, character_not_in_repertoire, as
 * "invalid byte sequence") or a character outside the database's encoding (22P05). The input is at
 * fault, not the service.
 */
export function isTextTheDatabaseRefuses(err: unknown): boolean {
  return isPgDatabaseError(err) && (err.code === '22021' || err.code === '22P05');
}
