/**
 * `--pg URL`: every server of the run gets a database of its own on the PostgreSQL server in
 * URL, created here and dropped when the server is done (or at cleanup), so runs never share rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

async function admin<T>(baseUrl: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: baseUrl });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

export async function createDatabase(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  // Hex only: the name goes into the statement as is (identifiers cannot be bound parameters).
  const name = `mamori_bench_${randomBytes(6).toString('hex')}`;
  await admin(baseUrl, (c) => c.query(`create database ${name}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await admin(baseUrl, (c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}
