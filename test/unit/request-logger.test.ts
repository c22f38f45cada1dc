import Fastify from 'fastify';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { RequestLogger, requestLogger } from '../../src/http/request-logger.js';

/** A pino logger writing JSON lines into an array, and how many children it made. */
function capture(level: string): { log: Logger; lines: Record<string, unknown>[]; children: () => number } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level, base: null, timestamp: false }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  let made = 0;
  const child = log.child;
  // pino's children inherit `child` from their parent: counted for the whole family, bound to each.
  log.child = function (this: Logger, ...args: Parameters<Logger['child']>) {
    made++;
    return child.apply(this, args);
  } as Logger['child'];
  return { log, lines, children: () => made };
}

async function appWith(level: string, factory: boolean) {
  const c = capture(level);
  const app = Fastify({ loggerInstance: c.log, ...(factory ? { childLoggerFactory: requestLogger } : {}) });
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/warns', async (req) => {
    req.log.warn({ why: 'test' }, 'a warning');
    req.log.info('an info line');
    return { ok: true };
  });
  await app.ready();
  return { app, ...c };
}

describe('request logger (made only when it writes)', () => {
  it.each(['warn', 'info', 'debug'])('at %s it writes exactly what Fastify\'s own per-request child writes', async (level) => {
    const lazy = await appWith(level, true);
    const eager = await appWith(level, false);
    for (const { app } of [lazy, eager]) {
      await app.inject('/quiet');
      await app.inject('/warns');
      await app.inject('/missing');
    }
    // Request ids count up per app, so both wrote the same lines with the same bindings.
    const strip = (l: Record<string, unknown>) => ({ ...l, responseTime: typeof l.responseTime });
    expect(lazy.lines.map(strip)).toEqual(eager.lines.map(strip));
    expect(lazy.lines.length).toBeGreaterThan(0);
    expect(lazy.lines.filter((l) => l.msg === 'a warning').map((l) => [l.reqId, l.why])).toEqual([['req-2', 'test']]);
    if (level !== 'warn') expect(lazy.lines.filter((l) => l.msg === 'incoming request').length).toBe(3);
  });

  it('makes no child for a request that logs nothing, and one for a request that does', async () => {
    const { app, children } = await appWith('warn', true);
    const atStart = children();
    for (let i = 0; i < 10; i++) await app.inject('/quiet');
    expect(children() - atStart).toBe(0);
    await app.inject('/warns');
    expect(children() - atStart).toBe(1);
  });

  it('a child of the request logger and its level are the real child\'s', () => {
    const { log, lines } = capture('warn');
    const r = new RequestLogger(log, { reqId: 'r1' }, {});
    expect(r.level).toBe('warn');
    r.level = 'info';
    r.info('now on');
    r.child({ step: 'two' }).warn('nested');
    expect(lines).toEqual([
      { level: 30, reqId: 'r1', msg: 'now on' },
      { level: 40, reqId: 'r1', step: 'two', msg: 'nested' },
    ]);
    expect(log.level).toBe('warn');
  });

  it('a route with its own level or serializers gets pino\'s child at once', () => {
    const { log, children } = capture('warn');
    expect(requestLogger(log, { reqId: 'a' }, { level: 'debug' })).not.toBeInstanceOf(RequestLogger);
    expect(requestLogger(log, { reqId: 'b' }, {})).toBeInstanceOf(RequestLogger);
    expect(children()).toBe(1);
  });
});
