import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';

/**
 * The library, loaded on first use only: the command line is bundled into one file, where a static
 * import would load the library (and Koa, and its Node-version warning) for every command.
 */
type Library = typeof import('oidc-provider');
let library: Promise<Library> | undefined;
const loadLibrary = () => (library ??= import('oidc-provider'));
import { ACR_VALUES, rankOf, sessionLevel, type Acr } from '../flows/levels.js';
import type { Services } from '../services.js';
import { usableSession } from '../flows/sessions.js';
import type { Session, User } from '../store/schema.js';
import { trustedProxyCheck } from '../trusted-proxies.js';
import { adapterFactory } from './adapter.js';
import { escapeHtml, page } from './pages.js';
import { clientPolicy, requiredAcr } from './policy.js';

export type OidcPorts = Pick<
  Services,
  'audit' | 'box' | 'clock' | 'config' | 'groups' | 'log' | 'oidcClients' | 'oidcPayloads' | 'sessions' | 'sharedSecrets' | 'signingKeys' | 'users' | 'methods'
>;

export const SESSION_COOKIE = 'mamori_session';
export const INTERACTION_PATH = '/oidc/interaction/';

/** Scopes and the claims each one releases; `openid` carries the sign-in facts applications decide on. */
const CLAIMS = {
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  email: ['email', 'email_verified'],
  profile: ['name'],
  groups: ['groups'],
};

const TTL = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  IdToken: 3600,
  RefreshToken: 14 * 24 * 3600,
  Interaction: 3600,
  Session: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
};

/** The Mamori session behind a request to the provider, looked up once per request. */
async function mamoriSession(s: OidcPorts, ctx: KoaContextWithOIDC): Promise<{ session: Session; user: User } | undefined> {
  const state = ctx.state as { mamori?: { session: Session; user: User } | null };
  if (state.mamori !== undefined) return state.mamori ?? undefined;
  const usable = await usableSession(s, ctx.cookies.get(SESSION_COOKIE, { signed: false }));
  state.mamori = usable ?? null;
  return usable;
}

/**
 * The library's login prompt, with Mamori's checks first:
 * - the provider's own session stands only while the Mamori session it came from does (signing
 *   out of Mamori, or another user signing in, sends the next authorization back to Mamori). The
 *   library keeps the level and methods of the sign-in it was told of, so a Mamori session whose
 *   sign-in facts differ (the same user signed in again, perhaps at a lower level; or stepped
 *   up since) sends it back too, where the login is made again from the session as it is now;
 * - `acr_values` and the client's minimum level are enforced, not advisory: a session below them
 *   goes to an interaction, which steps up or answers `unmet_authentication_requirements`.
 */
function loginPolicy(s: OidcPorts, { interactionPolicy }: Library) {
  const policy = interactionPolicy.base();
  const login = policy.get('login')!;
  login.checks.unshift(
    new interactionPolicy.Check('mamori_session', 'the Mamori session ended, belongs to another user or is not the sign-in the provider was told of', async (ctx) => {
      const had = ctx.oidc.session;
      const accountId = had?.accountId;
      if (!had || !accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT; // no_session asks
      const current = await mamoriSession(s, ctx);
      if (current?.user.id !== accountId) return interactionPolicy.Check.REQUEST_PROMPT;
      const now = loginResult(s, current.session, current.user);
      const same = had.authTime() === now.ts && had.acr === now.acr && JSON.stringify(had.amr ?? []) === JSON.stringify(now.amr);
      return same ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }),
    new interactionPolicy.Check('unmet_acr', 'the requested authentication level was not reached', async (ctx) => {
      if (!ctx.oidc.session?.accountId || !ctx.oidc.client) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const needed = requiredAcr(ctx.oidc.params?.acr_values, clientPolicy(ctx.oidc.client.metadata()).minAcr);
      const had = ctx.oidc.session.acr;
      const reached = typeof had === 'string' && (ACR_VALUES as readonly string[]).includes(had) ? rankOf(had as Acr) : 0;
      return reached >= rankOf(needed) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }),
    // The library's own max_age check compares whole seconds, so max_age=0 right after a sign-in
    // passes; max_age=0 means "authenticate now" (as prompt=login), so it always asks here.
    new interactionPolicy.Check('max_age_now', 'a sign-in within max_age is required', (ctx) => {
      const maxAge = ctx.oidc.params?.max_age;
      const authTime = ctx.oidc.session?.authTime();
      if (maxAge === undefined || authTime === undefined || ctx.oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      return Date.now() - authTime * 1000 >= Number(maxAge) * 1000 ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}

/**
 * The library keeps wall-clock time (its tokens' iat, exp, auth_time); Mamori's clock is
 * injectable (a test moves it). Times cross the boundary through this offset, which is zero in
 * production.
 */
export function libraryOffsetMs(s: Pick<OidcPorts, 'clock'>): number {
  return s.clock.now() - Date.now();
}

/** What a signed-in user's level is worth in an ID token (also used by the interaction route). */
export function loginResult(s: Pick<OidcPorts, 'clock'>, session: Session, user: User) {
  const level = sessionLevel(session);
  return {
    accountId: user.id,
    acr: level.acr,
    amr: level.amr,
    // auth_time is the sign-in; a later step-up raises the level, not the time of authentication.
    ts: Math.floor((session.signed_in_at - libraryOffsetMs(s)) / 1000),
    remember: false,
  };
}

async function configuration(s: OidcPorts, lib: Library): Promise<Configuration> {
  const cookieKey = (await s.sharedSecrets.get('oidc_cookie_key', s.box)).toString('base64url');
  const nonceSecret = await s.sharedSecrets.get('oidc_dpop_nonce_secret', s.box);
  const secure = s.config.publicUrl.startsWith('https:');
  return {
    adapter: adapterFactory(s),
    async findAccount(_ctx, sub) {
      const user = await s.users.findById(sub);
      if (!user || user.disabled) return undefined;
      return {
        accountId: user.id,
        claims: async () => ({ sub: user.id, email: user.email, email_verified: true, name: user.name, groups: await s.groups.withRole(user) }),
      };
    },
    claims: CLAIMS,
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    acrValues: [...ACR_VALUES],
    // The contract puts email, name and groups in the ID token too, not only at userinfo.
    conformIdTokenClaims: false,
    extraClientMetadata: { properties: ['mamori_min_acr', 'mamori_third_party', 'mamori_allowed_groups'] },
    cookies: {
      keys: [cookieKey],
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure },
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      // The nonce secret is the same on every instance and across restarts (sealed in the store), so
      // a server nonce is required of every proof: a proof made in advance by a thief is useless.
      dPoP: { enabled: true, nonceSecret, requireNonce: () => true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = page(ctx.get('accept-language'), {
            en: { title: 'Sign out', body: `<h1>Sign out of Mamori?</h1><p>This ends your Mamori session too.</p>${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button> <button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>` },
            ja: { title: 'サインアウト', body: `<h1>Mamori からサインアウトしますか?</h1><p>Mamori のセッションも終了します。</p>${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">サインアウト</button> <button type="submit" form="op.logoutForm" class="secondary">サインインしたままにする</button>` },
          });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = page(ctx.get('accept-language'), {
            en: { title: 'Signed out', body: '<h1>You are signed out.</h1><p><a href="/console/">Sign in again</a></p>' },
            ja: { title: 'サインアウトしました', body: '<h1>サインアウトしました。</h1><p><a href="/console/">もう一度サインイン</a></p>' },
          });
        },
      },
    },
    interactions: {
      url: (_ctx, interaction) => `${INTERACTION_PATH}${interaction.uid}`,
      policy: loginPolicy(s, lib),
    },
    pkce: { required: () => true },
    routes: {
      authorization: '/oidc/auth',
      token: '/oidc/token',
      userinfo: '/oidc/me',
      jwks: '/oidc/jwks',
      end_session: '/oidc/session/end',
      revocation: '/oidc/token/revocation',
      introspection: '/oidc/token/introspection',
      code_verification: '/oidc/device',
      device_authorization: '/oidc/device/auth',
      pushed_authorization_request: '/oidc/request',
      backchannel_authentication: '/oidc/backchannel',
      registration: '/oidc/reg',
      challenge: '/oidc/challenge',
    },
    ttl: TTL,
    // Every client may hold a refresh token (the grant type is registered for all); each use rotates it.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // First-party clients need no consent screen: their grant is made (or widened) on the spot.
    async loadExistingGrant(ctx) {
      const client = ctx.oidc.client;
      const accountId = ctx.oidc.session?.accountId;
      if (!client || !accountId) return undefined;
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (clientPolicy(client.metadata()).thirdParty) return existing;
      const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      const scope = ctx.oidc.params?.scope;
      if (typeof scope === 'string') grant.addOIDCScope(scope.split(' ').filter((v) => v in CLAIMS || v === 'offline_access').join(' '));
      await grant.save();
      return grant;
    },
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((u) => new URL(u).origin === origin) ?? false,
    jwks: { keys: s.signingKeys.ordered().map((k) => k.privateJwk) },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'], requestObjectSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'] },
    async renderError(ctx, out, error) {
      ctx.type = 'html';
      // A browser that reached an https service over plain HTTP (the TLS proxy not among
      // MAMORI_TRUSTED_PROXIES, or no X-Forwarded-Proto): the library cannot set its Secure cookies
      // and calls it a server error. It is the deployment's, and the page and the log say how to fix it.
      if (error instanceof Error && /secure cookie over unencrypted connection/i.test(error.message)) {
        ctx.status = 400;
        out = {
          error: 'invalid_request',
          error_description: `This request reached Mamori over plain HTTP, but its public URL is ${s.config.publicUrl}: open it over HTTPS, or have the TLS proxy send X-Forwarded-Proto and list it in MAMORI_TRUSTED_PROXIES.`,
        };
        s.log.warn({ path: ctx.path }, 'an OpenID Connect request arrived over plain HTTP while the public URL is https: check MAMORI_TRUSTED_PROXIES and the proxy\'s X-Forwarded-Proto');
      }
      const rows = Object.entries(out)
        .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(String(v))}</dd>`)
        .join('');
      ctx.body = page(ctx.get('accept-language'), {
        en: { title: 'Sign-in error', body: `<h1>The application's sign-in request could not be completed.</h1><dl>${rows}</dl><p><a href="/console/">Go to Mamori</a></p>` },
        ja: { title: 'サインインエラー', body: `<h1>アプリケーションからのサインイン要求を完了できませんでした。</h1><dl>${rows}</dl><p><a href="/console/">Mamori へ</a></p>` },
      });
    },
  };
}

/**
 * The OpenID Connect provider (panva's oidc-provider, a Koa app) as a Node request handler. The
 * signing keys live in the store; when another instance or `mamori keys rotate` changes them, or
 * a published key's signing time comes, the provider is rebuilt with the new order, at most once
 * per change.
 */
export class OidcProvider {
  #provider: Provider | undefined;
  #fingerprint = '';
  #building: Promise<Provider> | undefined;
  readonly #trusted: (address: string | undefined) => boolean;

  constructor(private readonly s: OidcPorts) {
    this.#trusted = trustedProxyCheck(s.config.trustedProxies);
  }

  /** Read at each request: a test server learns its port (and so its public URL) after it is built. */
  get #publicHost(): string {
    return new URL(this.s.config.publicUrl).host;
  }

  async current(): Promise<Provider> {
    await this.s.signingKeys.refresh();
    const fingerprint = this.s.signingKeys.fingerprint();
    if (this.#provider && fingerprint === this.#fingerprint) return this.#provider;
    this.#building ??= this.build(fingerprint).finally(() => (this.#building = undefined));
    return this.#building;
  }

  private async build(fingerprint: string): Promise<Provider> {
    const lib = await loadLibrary();
    const provider = new lib.default(this.s.config.publicUrl, await configuration(this.s, lib));
    // Forwarded headers are stripped below unless they come from a trusted proxy, so the library
    // may believe what is left (https behind a TLS-terminating proxy, for Secure cookies).
    provider.proxy = true;
    provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
      (ctx.state as { mamoriSignOut?: boolean }).mamoriSignOut = true;
    });
    // RP-initiated logout ends the Mamori session too, before the answer leaves.
    provider.use(async (ctx, next) => {
      await next();
      if (!(ctx.state as { mamoriSignOut?: boolean }).mamoriSignOut) return;
      const current = await mamoriSession(this.s, ctx as KoaContextWithOIDC);
      if (current) {
        const now = this.s.clock.now();
        await this.s.sessions.revoke(current.user.id, current.session.id, now);
        await this.s.audit.append({ type: 'signed_out', userId: current.user.id, ip: ctx.ip, detail: { sessionId: current.session.id, via: 'oidc_logout' } });
      }
      ctx.cookies.set(SESSION_COOKIE, null, { signed: false, path: '/', httpOnly: true, sameSite: 'lax', ...(this.s.config.cookieDomain ? { domain: this.s.config.cookieDomain } : {}) });
    });
    provider.on('server_error', (_ctx: unknown, err: Error) => this.s.log.error({ err: { message: err.message } }, 'oidc server error'));
    this.#provider = provider;
    this.#fingerprint = fingerprint;
    return provider;
  }

  /** Handles one request to the library's routes. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The library builds its endpoint URLs (discovery, redirects) from the request's host: pin it
    // to the public URL's, so neither a Host header nor an instance's own address ever leaks into
    // them. A trusted proxy's X-Forwarded-Proto still counts (https behind TLS termination).
    req.headers.host = this.#publicHost;
    delete req.headers['x-forwarded-host'];
    if (!this.#trusted(req.socket.remoteAddress)) {
      for (const name of Object.keys(req.headers)) if (name.startsWith('x-forwarded-')) delete req.headers[name];
    }
    const provider = await this.current();
    await provider.callback()(req, res);
  }
}

