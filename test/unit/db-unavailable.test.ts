import SQLite from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { toProblem } from '../../src/http/problem.js';
import { isDatabaseUnavailable } from '../../src/store/health.js';

const socketError = (code: string, syscall = 'connect') => Object.assign(new Error(`${syscall} ${code} 127.0.0.1:5432`), { code, syscall, errno: -1 });
const pgError = (code: string, message = 'x') => Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });

describe('which database errors are an outage (503) and which stay bugs (500)', () => {
  it.each([
    ['connection refused', socketError('ECONNREFUSED')],
    ['connection reset', socketError('ECONNRESET', 'read')],
    ['timed out', socketError('ETIMEDOUT')],
    ['every address refused', Object.assign(new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')]), { code: 'ECONNREFUSED' })],
    ['pg: terminated', new Error('Connection terminated unexpectedly')],
    ['pg: connect timeout', new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') })],
    ['pg-pool: no client in time', new Error('timeout exceeded when trying to connect')],
    ['pg: broken client', new Error('Client has encountered a connection error and is not queryable')],
    ['server shutting down', pgError('57P01', 'terminating connection due to administrator command')],
    ['server starting', pgError('57P03', 'the database system is starting up')],
    ['too many connections', pgError('53300', 'sorry, too many clients already')],
    ['connection exception', pgError('08006')],
  ])('%s → service_unavailable', (_, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(toProblem(err)).toMatchObject({ code: 'service_unavailable', status: 503 });
  });

  it.each([
    ['unique violation', pgError('23505', 'duplicate key value violates unique constraint')],
    ['syntax error', pgError('42601', 'syntax error at or near "selct"')],
    ['serialization failure', pgError('40001')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['an error that only borrows a socket code', Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' })],
    ['an SQLite error', (() => { try { new SQLite(':memory:').prepare('selct'); } catch (e) { return e; } })()],
    ['a string', 'Connection terminated'],
  ])('%s → internal_error', (_, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
    expect(toProblem(err)).toMatchObject({ code: 'internal_error', status: 500 });
  });
});
