import { TestClock } from '../clock.js';
import type { Config } from '../config.js';
import { buildApp } from '../http/app.js';
import { createServices, ensureSetupToken, setupTokenFile } from '../services.js';
import { purgeExpired } from '../flows/housekeeping.js';

export async function serve(config: Config): Promise<void> {
  const services = await createServices(config, config.testClock ? { clock: new TestClock() } : {});
  const { log } = services;
  if (config.testClock) log.warn('MAMORI_TEST_CLOCK is on: server time can be moved over HTTP. Never use this in production.');
  const setupToken = await ensureSetupToken(services);
  const app = await buildApp(services);
  const address = await app.listen({ host: config.host, port: config.port });
  if (config.publicUrlDefaulted && config.port === 0) {
    // MAMORI_PORT=0 picked a port only now; the default public URL follows it.
    config.publicUrl = `http://localhost:${new URL(address).port}`;
  }
  log.info({ address, publicUrl: config.publicUrl, database: services.store.dialect }, `Mamori listening on ${address}`);
  if (setupToken) {
    // Printed once so the operator can claim the fresh install; it is void after setup.
    log.info({ file: setupTokenFile(config.dataDir) }, `No users yet. Open ${config.publicUrl}/console/#/setup and use the setup token: ${setupToken}`);
  }
  // Housekeeping: expired sign-ins, challenges, sessions and quiet counters; never blocks exit.
  const purge = () =>
    purgeExpired(services).catch((err: unknown) => log.warn({ err: { message: (err as Error).message } }, 'housekeeping failed'));
  await purge();
  const housekeeping = setInterval(() => void purge(), 10 * 60_000);
  housekeeping.unref();
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    clearInterval(housekeeping);
    log.info({ signal }, 'shutting down');
    await app.close();
    await services.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
