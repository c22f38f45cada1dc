import type { Dialect } from './db.js';

/**
 * Bound parameters one statement may carry: SQLite's SQLITE_MAX_VARIABLE_NUMBER (32 766 since
 * 3.32, the build better-sqlite3 ships) and PostgreSQL's protocol limit (65 535), less a margin
 * for the few parameters a statement adds of its own.
 */
const MAX_PARAMETERS: Record<Dialect, number> = { sqlite: 32_000, postgres: 65_000 };

/** `rows` in slices small enough that a multi-row statement of `columns` parameters a row stays under the limit. */
export function* batches<T>(rows: readonly T[], dialect: Dialect, columns: number): Generator<T[]> {
  const size = Math.max(1, Math.floor(MAX_PARAMETERS[dialect] / columns));
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
