import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate, openStore, type Store } from '../../src/store/db.js';

/** The PostgreSQL server the store suite also runs on; unset on a laptop without one. */
export const pgUrl = process.env.MAMORI_TEST_DATABASE_URL;

export const databases: Array<{ name: 'sqlite' | 'postgres'; skip: boolean }> = [
  { name: 'sqlite', skip: false },
  { name: 'postgres', skip: !pgUrl },
];

if (!pgUrl) {
  process.stderr.write('[mamori tests] MAMORI_TEST_DATABASE_URL is unset: the PostgreSQL variants are skipped (SQLite runs).\n');
}

/** A fresh database on the test server, dropped by the returned function. */
export async function freshPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!pgUrl) throw new Error('MAMORI_TEST_DATABASE_URL is not set');
  const name = `mamori_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** A database of the test's own: a fresh PostgreSQL one, or for SQLite none (the data dir holds it). */
export async function freshDatabase(name: 'sqlite' | 'postgres'): Promise<{ url: string | undefined; drop: () => Promise<void> }> {
  return name === 'postgres' ? freshPostgres() : { url: undefined, drop: async () => {} };
}

/** A migrated store on a database of the test's own; `close` closes it and drops the database and its folder. */
export async function freshStore(name: 'sqlite' | 'postgres'): Promise<{ store: Store; close: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mamori-store-'));
  const db = await freshDatabase(name);
  const store = openStore({ databaseUrl: db.url, dataDir: dir });
  await migrate(store);
  return {
    store,
    close: async () => {
      await store.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
