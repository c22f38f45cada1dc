import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { MamoriError } from '../../errors.js';
import { sessionLevel } from '../../flows/levels.js';
import { usableSession } from '../../flows/sessions.js';
import { INTERACTION_PATH, loginResult, type OidcProvider } from '../../oidc/provider.js';
import { clientPolicy, decideLogin, requiredAcr } from '../../oidc/policy.js';
import { page } from '../../oidc/pages.js';
import type { Services } from '../../services.js';
import { SESSION_COOKIE, readCookie } from '../cookies.js';
import { sendProblem } from '../problem.js';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * The library's own routes (discovery and everything under /oidc/ but the interaction pages,
 * which are Mamori's and more specific), handed the raw request: no body parser runs in front of
 * them (the library reads its own bodies) and Mamori's hooks leave them alone (`foreign`).
 */
export function oidcProviderRoutes(s: Services, oidc: OidcProvider): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.removeAllContentTypeParsers();
    // Leaves the body unread in the request stream, for the library.
    app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    const handOver = async (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      try {
        await oidc.handle(req.raw, reply.raw);
      } catch (err) {
        s.log.error({ err: { message: err instanceof Error ? err.message : String(err) } }, 'oidc request failed');
        const res = reply.raw;
        if (!res.headersSent) {
          res.statusCode = 503;
          res.setHeader('content-type', 'application/problem+json');
          res.end(JSON.stringify({ type: 'about:blank', title: 'Service unavailable', status: 503, code: 'service_unavailable' }));
        } else res.end();
      }
    };
    const methods: Array<'GET' | 'HEAD' | 'POST' | 'OPTIONS' | 'PUT' | 'PATCH' | 'DELETE'> = ['GET', 'HEAD', 'POST', 'OPTIONS', 'PUT', 'PATCH', 'DELETE'];
    const options = { schema: { hide: true }, config: { foreign: true } };
    app.route({ method: methods, url: '/oidc/*', ...options, handler: handOver });
    app.route({ method: ['GET', 'HEAD', 'OPTIONS'], url: '/.well-known/openid-configuration', ...options, handler: handOver });
  };
}

export function oidcRoutes(s: Services, oidc: OidcProvider): FastifyPluginAsyncTypebox {
  return async (app) => {

    const signedIn = (req: FastifyRequest) => usableSession(s, readCookie(req, SESSION_COOKIE));

    const expired = (req: FastifyRequest, reply: FastifyReply) =>
      reply
        .code(400)
        .type('text/html; charset=utf-8')
        .send(
          page(req.headers['accept-language'] ?? '', {
            en: { title: 'Sign-in expired', body: '<h1>This sign-in request has expired.</h1><p>Go back to the application and sign in again.</p>' },
            ja: { title: 'サインインの期限切れ', body: '<h1>このサインイン要求は期限が切れています。</h1><p>アプリケーションに戻って、もう一度サインインしてください。</p>' },
          }),
        );

    const details = async (req: FastifyRequest, reply: FastifyReply, uid: string): Promise<{ provider: Provider; details: Details } | undefined> => {
      const provider = await oidc.current();
      try {
        const d = await provider.interactionDetails(req.raw, reply.raw);
        return d.uid === uid ? { provider, details: d } : undefined;
      } catch {
        return undefined;
      }
    };

    const console = (rest: string) => `${s.config.publicUrl}/console/#/${rest}`;

    app.get(
      '/oidc/interaction/:uid',
      {
        schema: { hide: true, params: Type.Object({ uid: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' }) }) },
        // It answers with a page of its own when the sign-in request has expired.
        config: { document: true },
      },
      async (req, reply) => {
        const uid = req.params.uid;
        const found = await details(req, reply, uid);
        if (!found) return expired(req, reply);
        const { provider, details: d } = found;
        const back = encodeURIComponent(`${INTERACTION_PATH}${uid}`);
        const clientId = typeof d.params.client_id === 'string' ? d.params.client_id : '';
        const client = await provider.Client.find(clientId);
        if (!client) return expired(req, reply);
        const policy = clientPolicy(client.metadata());

        if (d.prompt.name === 'login') {
          const auth = await signedIn(req);
          const needed = requiredAcr(d.params.acr_values, policy.minAcr);
          const groups = auth ? await s.groups.withRole(auth.user) : [];
          const maxAge = typeof d.params.max_age === 'number' ? d.params.max_age : typeof d.params.max_age === 'string' && /^\d+$/.test(d.params.max_age) ? Number(d.params.max_age) : undefined;
          const decision = decideLogin({
            signedIn: auth && { acr: sessionLevel(auth.session).acr, signedInAt: auth.session.signed_in_at, mfaVerifiedAt: auth.session.mfa_verified_at, groups },
            needed,
            reachable: auth ? await s.methods.factors.reachable(auth.user.id) : 1,
            allowedGroups: policy.allowedGroups,
            promptLogin: d.prompt.reasons.includes('login_prompt'),
            maxAge,
            // When the request reached Mamori, to the millisecond (the library's iat has whole seconds).
            startedAt: (await s.oidcPayloads.createdAt('Interaction', uid)) ?? s.clock.now(),
            now: s.clock.now(),
          });
          switch (decision.kind) {
            case 'finish': {
              const to = await provider.interactionResult(req.raw, reply.raw, { login: loginResult(s, auth!.session, auth!.user) }, { mergeWithLastSubmission: false });
              return reply.redirect(to, 303);
            }
            case 'sign_in':
              return reply.redirect(console(`sign-in?rd=${back}${decision.fresh ? '&reauth=1' : ''}`), 303);
            case 'step_up':
              return reply.redirect(console(`sign-in?rd=${back}&aal=${decision.acr === 'urn:mamori:phr' ? 'phr' : '2'}`), 303);
            case 'refuse': {
              const to = await provider.interactionResult(req.raw, reply.raw, { error: decision.error, error_description: decision.description }, { mergeWithLastSubmission: false });
              return reply.redirect(to, 303);
            }
          }
        }
        // Consent: only third-party clients get here (first-party grants are made on the spot).
        return reply.redirect(console(`consent?uid=${encodeURIComponent(uid)}`), 303);
      },
    );

    app.get(
      '/oidc/interaction/:uid/details',
      {
        schema: {
          params: Type.Object({ uid: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' }) }),
          response: {
            200: Type.Object({
              client: Type.Object({ name: Type.String() }),
              /** The interaction's prompt: `consent` on the console's consent page. */
              prompt: Type.String(),
              scopes: Type.Array(Type.String()),
            }),
          },
        },
      },
      async (req, reply) => {
        const found = await details(req, reply, req.params.uid);
        if (!found) return sendProblem(reply, new MamoriError('not_found', 'This sign-in request has expired'));
        const auth = await signedIn(req);
        if (!auth || auth.user.id !== found.details.session?.accountId) return sendProblem(reply, new MamoriError('unauthenticated'));
        const client = await found.provider.Client.find(String(found.details.params.client_id));
        reply.header('cache-control', 'no-store');
        return {
          client: { name: client?.clientName ?? String(found.details.params.client_id) },
          prompt: found.details.prompt.name,
          scopes: String(found.details.params.scope ?? '').split(' ').filter(Boolean),
        };
      },
    );

    app.post(
      '/oidc/interaction/:uid/consent',
      {
        schema: {
          params: Type.Object({ uid: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' }) }),
          body: Type.Object({ approve: Type.Boolean() }, { additionalProperties: false }),
          /** Where the browser goes next: back to the provider, which answers the client. */
          response: { 200: Type.Object({ redirectTo: Type.String() }) },
        },
      },
      async (req, reply) => {
        const found = await details(req, reply, req.params.uid);
        if (!found) return sendProblem(reply, new MamoriError('not_found', 'This sign-in request has expired'));
        const { provider, details: d } = found;
        const auth = await signedIn(req);
        const accountId = d.session?.accountId;
        if (!auth || !accountId || auth.user.id !== accountId || d.prompt.name !== 'consent') return sendProblem(reply, new MamoriError('unauthenticated'));
        reply.header('cache-control', 'no-store');
        if (!req.body.approve) {
          const redirectTo = await provider.interactionResult(req.raw, reply.raw, { error: 'access_denied', error_description: 'The user declined' }, { mergeWithLastSubmission: false });
          return { redirectTo };
        }
        const clientId = String(d.params.client_id);
        const grant = d.grantId ? await provider.Grant.find(d.grantId) : undefined;
        const g = grant ?? new provider.Grant({ accountId, clientId });
        const missing = d.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
        if (missing.missingOIDCScope) g.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) g.addOIDCClaims(missing.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) g.addResourceScope(indicator, scopes.join(' '));
        const grantId = await g.save();
        await s.audit.append({ type: 'oidc_consent_given', userId: accountId, ip: req.ip, detail: { clientId, scopes: (missing.missingOIDCScope ?? []).join(' ') } });
        const redirectTo = await provider.interactionResult(req.raw, reply.raw, { consent: { grantId } }, { mergeWithLastSubmission: true });
        return { redirectTo };
      },
    );
  };
}
