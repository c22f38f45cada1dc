import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { TestClock } from '../clock.js';
import type { Config } from '../config.js';
import { capYoungGeneration, holdHeap } from './server-heap.js';
import { HELPER_THREAD_NICE, lowerHelperThreads } from './thread-priority.js';

/** How long a SIGTERM waits for in-flight requests before exiting anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * The answer a connection is working on now. Node's HTTP server keeps it on the socket as
 * `_httpMessage` from the request's start until the answer is finished (a pipelined request
 * waits its turn behind it); it has no public accessor. test/http/shutdown.test.ts checks that
 * the answers in flight at a SIGTERM say `Connection: close`.
 */
function answerInFlight(socket: Socket): ServerResponse | undefined {
  const current: unknown = Reflect.get(socket, '_httpMessage');
  return current instanceof ServerResponse ? current : undefined;
}

export async function serve(config: Config): Promise<void> {
  // Before the server's modules load (hence the imports here, not at the top): see server-heap.ts.
  holdHeap();
  const [{ buildApp }, { createServices, ensureSetupToken, setupTokenFile }, { purgeExpired }] = await Promise.all([
    import('../http/app.js'),
    import('../services.js'),
    import('../flows/housekeeping.js'),
  ]);
  const services = await createServices(config, config.testClock ? { clock: new TestClock() } : {});
  const { log } = services;
  if (config.testClock) log.warn('MAMORI_TEST_CLOCK is on: server time can be moved over HTTP. Never use this in production.');
  const setupToken = await ensureSetupToken(services);
  const app = await buildApp(services);
  // The open connections, so a shutdown can tell the clients of answers still being worked on not
  // to reuse theirs: Fastify marks only requests that arrive after the close began. Tracked per
  // connection, not per request: a listener on every response was a fifth of /healthz's CPU.
  const connections = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  // The event loop ahead of the hashes (thread-priority.ts), before the first request can arrive.
  const lowered = await lowerHelperThreads();
  log.debug({ threads: lowered, nice: HELPER_THREAD_NICE }, 'helper threads run behind the event loop');
  // Fastify's own line names the socket; opening that address instead of the public URL makes
  // every sign-in fail as cross-site, so both lines point at the public URL.
  const address = await app.listen({
    host: config.host,
    port: config.port,
    listenTextResolver: (at) => `Listening on ${at}; open the console at the public URL ${config.publicUrl}/console/`,
  });
  capYoungGeneration();
  if (config.publicUrlDefaulted && config.port === 0) {
    // MAMORI_PORT=0 picked a port only now; the default public URL follows it.
    config.publicUrl = `http://localhost:${new URL(address).port}`;
  }
  log.info({ address, publicUrl: config.publicUrl, database: services.store.dialect }, `Mamori is ready: open ${config.publicUrl}/console/ (listening on ${address})`);
  if (setupToken) {
    // Printed once so the operator can claim the fresh install; it is void after setup.
    log.info({ file: setupTokenFile(config.dataDir) }, `No users yet. Open ${config.publicUrl}/console/#/setup and use the setup token: ${setupToken}`);
  }
  // SIGTERM / SIGINT: stop accepting, let in-flight requests finish, close the pool and the
  // mailer, exit 0. Whatever is still running after SHUTDOWN_GRACE_MS is cut off (exit 1), so a
  // stuck client cannot hold a deploy; a second signal cuts off at once.
  let closing = false;
  let housekeeping: NodeJS.Timeout | undefined;
  const shutdown = async (signal: string) => {
    if (closing) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    closing = true;
    const started = Date.now();
    clearInterval(housekeeping);
    log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    setTimeout(() => {
      log.error({ signal, graceMs: SHUTDOWN_GRACE_MS }, 'requests still in flight after the grace period: exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    for (const socket of connections) {
      const res = answerInFlight(socket);
      if (res !== undefined && !res.headersSent) res.setHeader('connection', 'close');
    }
    // A connection that goes idle once its answer is out is closed then, not at keep-alive timeout.
    const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
    reaper.unref();
    try {
      // Closes the listener at once (new connections are refused), answers 503 with
      // `Connection: close` on kept-alive connections, and resolves when in-flight requests are done.
      await app.close();
      await services.close();
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    log.info({ signal, ms: Date.now() - started }, 'stopped');
    process.exit(0);
  };
  // Before anything else awaits, so a signal right after the listen is handled too.
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  // Housekeeping: expired sign-ins, challenges, sessions and quiet counters; never blocks exit.
  const purge = () =>
    purgeExpired(services).catch((err: unknown) => log.warn({ err: { message: (err as Error).message } }, 'housekeeping failed'));
  await purge();
  if (closing) return;
  housekeeping = setInterval(() => void purge(), 10 * 60_000);
  housekeeping.unref();
}
