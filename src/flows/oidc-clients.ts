import { randomBytes } from 'node:crypto';
import { fail } from '../errors.js';
import { newToken } from '../crypto/tokens.js';
import type { Services } from '../services.js';
import type { OidcClient } from '../store/schema.js';
import { GROUP_NAME } from '../store/groups.js';
import { isAcr, type Acr } from './levels.js';

export type OidcClientPorts = Pick<Services, 'audit' | 'box' | 'clock' | 'config' | 'oidcClients' | 'store'>;

export interface NewClient {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  public?: boolean;
  minAcr?: string;
  thirdParty?: boolean;
  allowedGroups?: string[];
}

export interface ClientView {
  clientId: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  public: boolean;
  thirdParty: boolean;
  minAcr: Acr | null;
  allowedGroups: string[];
  createdAt: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export const clientSecretAad = (clientId: string) => `oidc-client:${clientId}`;

/**
 * A redirect URI is compared exactly by the library; here it must be absolute, without a
 * fragment or credentials, and https — except on a loopback host (native and test apps) or while
 * Mamori itself runs on http.
 */
function checkUri(uri: string, field: string, publicUrl: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    fail('validation_failed', `${field}: "${uri.slice(0, 100)}" is not an absolute URL`);
  }
  if (url.hash || uri.includes('#')) fail('validation_failed', `${field}: a redirect URI has no fragment`);
  if (url.username || url.password) fail('validation_failed', `${field}: a redirect URI has no user name or password`);
  const httpAllowed = LOOPBACK.has(url.hostname) || publicUrl.startsWith('http:');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && httpAllowed)) {
    fail('validation_failed', `${field}: use https (http only on a loopback host)`);
  }
  return uri;
}

export function clientView(c: OidcClient): ClientView {
  return {
    clientId: c.id,
    name: c.name,
    redirectUris: JSON.parse(c.redirect_uris) as string[],
    postLogoutRedirectUris: JSON.parse(c.post_logout_redirect_uris) as string[],
    public: c.public === 1,
    thirdParty: c.third_party === 1,
    minAcr: isAcr(c.min_acr) ? c.min_acr : null,
    allowedGroups: JSON.parse(c.allowed_groups) as string[],
    createdAt: new Date(c.created_at).toISOString(),
  };
}

/** Registers a client; a confidential one gets a 256-bit secret, shown once and kept sealed. */
export async function createClient(s: OidcClientPorts, input: NewClient, actor: string): Promise<{ client: ClientView; clientSecret?: string }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) fail('validation_failed', 'name: 1 to 100 characters');
  if (input.redirectUris.length === 0 || input.redirectUris.length > 20) fail('validation_failed', 'redirectUris: 1 to 20 URIs');
  const redirectUris = input.redirectUris.map((u) => checkUri(u, 'redirectUris', s.config.publicUrl));
  const postLogout = (input.postLogoutRedirectUris ?? []).map((u) => checkUri(u, 'postLogoutRedirectUris', s.config.publicUrl));
  if (input.minAcr !== undefined && !isAcr(input.minAcr)) fail('validation_failed', 'minAcr: one of urn:mamori:aal1, urn:mamori:aal2, urn:mamori:phr');
  const groups = input.allowedGroups ?? [];
  for (const g of groups) if (!GROUP_NAME.test(g)) fail('validation_failed', `allowedGroups: "${g.slice(0, 64)}" is not a group name`);

  const id = `mamori-${randomBytes(12).toString('base64url')}`;
  const secret = input.public ? undefined : newToken();
  const sealed = secret === undefined ? undefined : s.box.seal(Buffer.from(secret), clientSecretAad(id));
  const row: OidcClient = {
    id,
    name,
    secret_sealed: sealed?.value ?? null,
    secret_key_id: sealed?.keyId ?? null,
    redirect_uris: JSON.stringify(redirectUris),
    post_logout_redirect_uris: JSON.stringify(postLogout),
    public: input.public ? 1 : 0,
    third_party: input.thirdParty ? 1 : 0,
    min_acr: input.minAcr ?? null,
    allowed_groups: JSON.stringify([...new Set(groups)]),
    created_at: s.clock.now(),
  };
  await s.store.db.transaction().execute(async (trx) => {
    await s.oidcClients.within(trx).insert(row);
    await s.audit.append({ type: 'oidc_client_created', actor, detail: { clientId: id, name, public: row.public === 1, minAcr: row.min_acr, redirectUris: redirectUris.join(' ') } }, trx);
  });
  return secret === undefined ? { client: clientView(row) } : { client: clientView(row), clientSecret: secret };
}

export async function listClients(s: Pick<Services, 'oidcClients'>): Promise<ClientView[]> {
  return (await s.oidcClients.list()).map(clientView);
}

/** Deletes the client; its grants and tokens stop working at once (the library finds no client for them). */
export async function deleteClient(s: OidcClientPorts, clientId: string, actor: string): Promise<void> {
  await s.store.db.transaction().execute(async (trx) => {
    if (!(await s.oidcClients.within(trx).delete(clientId))) fail('not_found', 'No such client');
    await s.audit.append({ type: 'oidc_client_deleted', actor, detail: { clientId } }, trx);
  });
}
