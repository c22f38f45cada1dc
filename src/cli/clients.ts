import type { Command } from 'commander';
import { isAcr } from '../flows/levels.js';
import { UsageError } from './errors.js';

// As in admin.ts: the flows and the services are imported by the action that uses them.
const load = () => Promise.all([import('./shared.js'), import('../flows/oidc-clients.js')]);

const collect = (value: string, previous: string[]) => [...previous, value];

/** `mamori client create|list|delete`: the OpenID Connect clients (relying parties). */
export function registerClientCommands(program: Command): void {
  const client = program.command('client').description('OpenID Connect clients (applications that sign users in with Mamori)');

  client
    .command('create')
    .description('register a client; prints its id and, for a confidential client, its secret (shown once)')
    .requiredOption('--name <name>', 'what users see on the consent screen and in the audit log')
    .option('--redirect-uri <uri>', 'an exact redirect URI (repeat for more)', collect, [])
    .option('--post-logout-redirect-uri <uri>', 'where RP-initiated logout may return (repeat for more)', collect, [])
    .option('--public', 'a public client (a single-page or native app): no secret, PKCE only')
    .option('--min-acr <acr>', 'the lowest level the client accepts: urn:mamori:aal1, urn:mamori:aal2 or urn:mamori:phr')
    .option('--third-party', 'ask users for consent before the first sign-in')
    .option('--group <name>', 'only members of this group may use the client (repeat for more)', collect, [])
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; redirectUri: string[]; postLogoutRedirectUri: string[]; public?: boolean; minAcr?: string; thirdParty?: boolean; group: string[]; json?: boolean }) => {
      if (opts.redirectUri.length === 0) throw new UsageError('--redirect-uri is required (repeat it for more)');
      if (opts.minAcr !== undefined && !isAcr(opts.minAcr)) throw new UsageError('--min-acr must be urn:mamori:aal1, urn:mamori:aal2 or urn:mamori:phr');
      const [{ cliActor, withServices }, { createClient }] = await load();
      await withServices(async (s) => {
        const r = await createClient(
          s,
          {
            name: opts.name,
            redirectUris: opts.redirectUri,
            postLogoutRedirectUris: opts.postLogoutRedirectUri,
            public: opts.public === true,
            ...(opts.minAcr === undefined ? {} : { minAcr: opts.minAcr }),
            thirdParty: opts.thirdParty === true,
            allowedGroups: opts.group,
          },
          cliActor(),
        );
        const out = { clientId: r.client.clientId, ...(r.clientSecret === undefined ? {} : { clientSecret: r.clientSecret }) };
        if (opts.json) process.stdout.write(JSON.stringify(out) + '\n');
        else process.stdout.write(`client id: ${out.clientId}\n${r.clientSecret === undefined ? '' : `client secret (shown once): ${r.clientSecret}\n`}`);
      });
    });

  client
    .command('list')
    .description('list the clients')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const [{ withServices }, { listClients }] = await load();
      await withServices(async (s) => {
        const clients = await listClients(s);
        if (opts.json) process.stdout.write(JSON.stringify({ clients }) + '\n');
        else for (const c of clients) process.stdout.write(`${c.clientId}\t${c.name}\t${c.public ? 'public' : 'confidential'}\t${c.minAcr ?? '-'}\t${c.redirectUris.join(' ')}\n`);
      });
    });

  client
    .command('delete')
    .description('delete a client; its tokens stop working')
    .requiredOption('--client <id>', 'the client id')
    .action(async (opts: { client: string }) => {
      const [{ cliActor, withServices }, { deleteClient }] = await load();
      await withServices((s) => deleteClient(s, opts.client, cliActor()));
    });
}
