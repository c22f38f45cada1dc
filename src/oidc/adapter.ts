import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { clientSecretAad } from '../flows/oidc-clients.js';
import type { OidcClientRepository } from '../store/oidc-clients.js';
import type { OidcPayloadRepository } from '../store/oidc-payloads.js';

/** What the adapters read and write: the library's own rows, and Mamori's clients read-only. */
export interface AdapterPorts {
  clock: Clock;
  box: SecretBox;
  oidcPayloads: OidcPayloadRepository;
  oidcClients: OidcClientRepository;
}

/**
 * Ids come from the library's requests as sent (a `client_id` of `%00`, say). None Mamori or the
 * library made holds U+0000, and PostgreSQL cannot compare such text at all: it matches nothing.
 */
const matchesNothing = (id: string): boolean => id.includes('\u0000');

function parse(stored: { payload: string; consumedAt: number | null } | undefined): AdapterPayload | undefined {
  if (!stored) return undefined;
  const payload = JSON.parse(stored.payload) as AdapterPayload;
  return stored.consumedAt === null ? payload : { ...payload, consumed: Math.floor(stored.consumedAt / 1000) };
}

/**
 * One adapter per model, all over the one `oidc_payloads` table, so every instance sees every
 * session, grant, code and token, and a restart forgets nothing.
 */
class PayloadAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly s: AdapterPorts,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const now = this.s.clock.now();
    await this.s.oidcPayloads.upsert({
      model: this.model,
      id,
      payload: JSON.stringify(payload),
      accountId: typeof payload.accountId === 'string' ? payload.accountId : null,
      expiresAt: expiresIn === undefined ? null : now + expiresIn * 1000,
      grantId: typeof payload.grantId === 'string' ? payload.grantId : null,
      uid: typeof payload.uid === 'string' ? payload.uid : null,
      userCode: typeof payload.userCode === 'string' ? payload.userCode : null,
      now,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (matchesNothing(id)) return undefined;
    return parse(await this.s.oidcPayloads.find(this.model, id, this.s.clock.now()));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (matchesNothing(uid)) return undefined;
    return parse(await this.s.oidcPayloads.findByUid(this.model, uid, this.s.clock.now()));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (matchesNothing(userCode)) return undefined;
    return parse(await this.s.oidcPayloads.findByUserCode(this.model, userCode, this.s.clock.now()));
  }

  async consume(id: string): Promise<void> {
    if (matchesNothing(id)) return;
    await this.s.oidcPayloads.consume(this.model, id, this.s.clock.now());
  }

  async destroy(id: string): Promise<void> {
    if (matchesNothing(id)) return;
    await this.s.oidcPayloads.destroy(this.model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    if (matchesNothing(grantId)) return;
    await this.s.oidcPayloads.revokeByGrantId(grantId);
  }
}

/**
 * Clients come from Mamori's own table (managed by the CLI, the admin API and the console), never
 * from dynamic registration: this adapter only reads. Every client uses the authorization code
 * flow with PKCE and refresh tokens, and always gets `auth_time`.
 */
class ClientAdapter implements Adapter {
  constructor(private readonly s: AdapterPorts) {}

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (matchesNothing(id)) return undefined;
    const c = await this.s.oidcClients.find(id);
    if (!c) return undefined;
    const secret =
      c.secret_sealed !== null && c.secret_key_id !== null ? this.s.box.open({ keyId: c.secret_key_id, value: c.secret_sealed }, clientSecretAad(c.id)).toString('utf8') : undefined;
    return {
      client_id: c.id,
      client_name: c.name,
      ...(secret === undefined ? { token_endpoint_auth_method: 'none' } : { client_secret: secret, token_endpoint_auth_method: 'client_secret_basic' }),
      redirect_uris: JSON.parse(c.redirect_uris) as string[],
      post_logout_redirect_uris: JSON.parse(c.post_logout_redirect_uris) as string[],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      require_auth_time: true,
      id_token_signed_response_alg: 'ES256',
      ...(c.min_acr === null ? {} : { default_acr_values: [c.min_acr], mamori_min_acr: c.min_acr }),
      mamori_third_party: c.third_party === 1,
      mamori_allowed_groups: JSON.parse(c.allowed_groups) as string[],
    };
  }

  async upsert(): Promise<void> {
    throw new Error('clients are managed by Mamori, not by the OpenID Connect library');
  }
  async findByUid(): Promise<undefined> {
    return undefined;
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async consume(): Promise<void> {}
  async destroy(): Promise<void> {}
  async revokeByGrantId(): Promise<void> {}
}

export function adapterFactory(s: AdapterPorts): (name: string) => Adapter {
  return (name) => (name === 'Client' ? new ClientAdapter(s) : new PayloadAdapter(name, s));
}
