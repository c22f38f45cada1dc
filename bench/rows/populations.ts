/**
 * The same requests with 1 000 and with 1 000 000 users in the database, both populations made
 * by the bulk import: does a large table cost per request? Both servers run at the same time and
 * every measure is taken in slices that alternate between them (small, large, small…), so a
 * change in the machine's other load falls on both about alike.
 */
import { ServerClock } from '../api.js';
import { prepareInstance, startMamori, stopMamori, type Instance, type Mamori, type Memory } from '../servers.js';
import { IMPORTED_PASSWORD } from '../import-file.js';
import { against, againstHashing, interleavedRows, type LoadSpec, type Row } from '../measure.js';
import { flowRows, importPopulation, warmUp, type Browser, type Imported } from '../population.js';
import { settings } from '../settings.js';
import type { Ceilings } from './ceilings.js';

export interface Population {
  users: number;
  imported: Imported;
  session: Row;
  password: Row;
  flow: Row;
  memory: Memory;
}

const count = (n: number) => n.toLocaleString('en-US').replace(/,/g, ' ');

interface Side {
  users: number;
  instance: Instance;
  imported: Imported;
  server?: Mamori;
  clock?: ServerClock;
  browsers?: Browser[];
}

export async function populationRows(ceilings: Ceilings): Promise<[Population, Population]> {
  const sides: Side[] = [];
  for (const users of [settings.smallPopulation, settings.largePopulation]) {
    process.stderr.write(`bench: importing ${count(users)} users…\n`);
    const instance = await prepareInstance(`users-${users}`, { MAMORI_TEST_CLOCK: 'true' });
    sides.push({ users, instance, imported: await importPopulation(instance, users, settings.flowUsers) });
  }
  for (const side of sides) {
    process.stderr.write(`bench: starting mamori on ${count(side.users)} users and signing each sampled user in once…\n`);
    side.server = await startMamori(side.instance);
    side.clock = new ServerClock(side.server);
    side.browsers = await warmUp(side.server, side.clock, side.imported.sample, 4);
  }
  const ready = sides.map((s) => ({ ...s, server: s.server!, clock: s.clock!, browsers: s.browsers! }));

  const http = await ceilings.http(`the ${count(settings.smallPopulation)} / ${count(settings.largePopulation)}-user rows`);
  const session = await interleavedRows(
    ready.map((s) => {
      let turn = 0;
      const cookies = s.browsers.map((b) => `mamori_session=${b.session}`);
      const spec = { url: `${s.server.url}/api/v1/session`, cookie: () => cookies[turn++ % cookies.length]!, expected: 200 };
      return { name: `GET /api/v1/session, ${count(s.users)} users`, note: `${cookies.length} users' sessions in turn`, spec };
    }),
  );
  const forPassword = await ceilings.passwordCeilings();
  const password = await interleavedRows(
    ready.map((s) => {
      let turn = 0;
      const spec: LoadSpec = {
        url: `${s.server.url}/api/v1/sign-in`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: () => JSON.stringify({ email: s.browsers[turn++ % s.browsers.length]!.email, password: IMPORTED_PASSWORD }),
        expected: 200,
      };
      return { name: `password step, ${count(s.users)} users`, note: `POST /sign-in → mfa_required (one argon2id verify); ${s.browsers.length} users in turn`, spec };
    }),
  );
  // One argon2id verify per flow: the flows/s that hashing allows is the same ceiling.
  const forFlow = await ceilings.argon2();
  const flow = await flowRows(
    ready.map((s) => ({ name: `full sign-in flow, ${count(s.users)} users`, server: s.server, clock: s.clock, browsers: s.browsers })),
    settings.flowWorkers,
    settings.durationS,
  );
  const out: Population[] = [];
  for (const [i, s] of ready.entries()) {
    const memory = await stopMamori(s.server);
    await s.instance.release();
    out.push({ users: s.users, imported: s.imported, session: against(session[i]!, http), password: againstHashing(password[i]!, forPassword), flow: against(flow[i]!, forFlow), memory });
  }
  return [out[0]!, out[1]!];
}
