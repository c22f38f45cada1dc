import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MamoriError, fail } from '../../errors.js';
import { sessionLevel, type Acr } from '../../flows/levels.js';
import { decide, type Caller } from '../../forward-auth/decide.js';
import { checkReturnTo, MAX_RETURN_LENGTH } from '../../forward-auth/return-to.js';
import { parseRules } from '../../forward-auth/rules.js';
import { readTarget, type Target } from '../../forward-auth/target.js';
import { usableSession } from '../../flows/sessions.js';
import { trustedProxyCheck } from '../../trusted-proxies.js';
import type { Services } from '../../services.js';
import { SESSION_COOKIE, readCookie } from '../cookies.js';
import { sendProblem } from '../problem.js';
import { NoContent } from './schemas.js';

/** The identity headers: on every answer, empty unless allowed, so a proxy that copies them overwrites what the client sent. */
const IDENTITY_HEADERS = ['remote-user', 'remote-email', 'remote-name', 'remote-groups', 'remote-aal', 'mamori-identity'] as const;

/** How long the identity token lives: one proxied request, with room for clock skew. */
export const IDENTITY_TOKEN_SECONDS = 60;

const DEMANDED: Record<'2' | 'phr', Acr> = { '2': 'urn:mamori:aal2', phr: 'urn:mamori:phr' };
const HINT: Record<Acr, string> = { 'urn:mamori:aal1': '', 'urn:mamori:aal2': '&aal=2', 'urn:mamori:phr': '&aal=phr' };

/**
 * A header value from user data: control characters dropped, the rest sent as its UTF-8 bytes
 * (Node writes a string's code units below 256 as bytes), as other forward-auth servers do.
 * Applications that want the exact text read it from the identity token.
 */
function headerText(value: string): string {
  return Buffer.from(value.replace(/[\x00-\x1f\x7f]/g, ''), 'utf8').toString('latin1');
}

export function forwardAuthRoutes(s: Services): FastifyPluginAsyncTypebox {
  // Read here, when the app is built: a rule that cannot be read stops the start (ConfigError).
  const rules = parseRules(s.config.file.forwardAuth, s.config.file.source);
  const trusted = trustedProxyCheck(s.config.trustedProxies);
  const scope = () => ({ publicUrl: s.config.publicUrl, cookieDomain: s.config.cookieDomain });

  /** The signed-in user, or undefined: no session, a disabled user, or a session restricted to an errand. */
  async function callerOf(req: FastifyRequest): Promise<Caller | undefined> {
    const found = await usableSession(s, readCookie(req, SESSION_COOKIE));
    if (!found) return undefined;
    const { session, user } = found;
    const groups = await s.groups.withRole(user);
    return { userId: user.id, email: user.email, name: user.name, groups, level: sessionLevel(session) };
  }

  async function allow(reply: FastifyReply, target: Target, caller: Caller | undefined): Promise<FastifyReply> {
    if (caller !== undefined) {
      await s.signingKeys.refresh();
      const iat = Math.floor(s.clock.now() / 1000);
      const token = s.signingKeys.sign({
        iss: s.config.publicUrl,
        sub: caller.userId,
        aud: target.host,
        iat,
        exp: iat + IDENTITY_TOKEN_SECONDS,
        email: caller.email,
        name: caller.name,
        groups: caller.groups,
        aal: caller.level.aal,
        acr: caller.level.acr,
        amr: caller.level.amr,
      });
      reply
        .header('remote-user', caller.userId)
        .header('remote-email', headerText(caller.email))
        .header('remote-name', headerText(caller.name))
        .header('remote-groups', caller.groups.join(','))
        .header('remote-aal', String(caller.level.aal))
        .header('mamori-identity', token);
    }
    return reply.code(200).send();
  }

  return async (app) => {
    app.get(
      '/api/v1/forward-auth',
      {
        schema: {
          // Other parameters are ignored: some proxies (Caddy's forward_auth) append the original
          // request's query to the endpoint's, and that query is the application's, not ours.
          querystring: Type.Object({ aal: Type.Optional(Type.Union([Type.Literal('2'), Type.Literal('phr')])) }),
          response: {
            200: NoContent('Allowed; a signed-in caller in the Remote-User, Remote-Email, Remote-Name, Remote-Groups, Remote-Aal and Mamori-Identity headers'),
            302: NoContent("Sign in first: Location is the console's sign-in (a browser's GET or HEAD)"),
            303: NoContent("Sign in first: Location is the console's sign-in (a browser's other methods)"),
          },
        },
        // Before validation, so even a refused query answers with the identity headers empty.
        onRequest: async (_req, reply) => {
          for (const name of IDENTITY_HEADERS) reply.header(name, '');
          reply.header('cache-control', 'no-store');
        },
      },
      async (req, reply) => {
        const read = readTarget(req.raw.headersDistinct, trusted(req.socket.remoteAddress));
        if (!read.ok) {
          req.log.debug({ reason: read.reason }, 'forward-auth: no usable target');
          return sendProblem(reply, new MamoriError('forbidden', `No usable target: ${read.reason}`));
        }
        const { target } = read;
        const caller = await callerOf(req);
        const demanded = req.query.aal === undefined ? undefined : DEMANDED[req.query.aal];
        const decision = decide(rules, target, caller, demanded);
        if (decision.kind === 'allow') return allow(reply, target, caller);
        if (decision.kind === 'deny') return sendProblem(reply, new MamoriError('forbidden', 'A forward-auth rule denies this request'));
        // A sign-in helps only if the console may send the browser back there afterwards (and,
        // for the same reason, the session cookie reaches that host).
        const back = checkReturnTo(target.url, scope());
        if (!back.ok) {
          req.log.warn({ host: target.host, reason: back.reason }, 'forward-auth: sign-in needed, but the console could not return to this address (MAMORI_COOKIE_DOMAIN?)');
          return sendProblem(reply, new MamoriError('forbidden', 'A sign-in could not return to this address'));
        }
        const location = `${s.config.publicUrl}/console/#/sign-in?rd=${encodeURIComponent(back.url)}${HINT[decision.need]}`;
        reply.header('location', location);
        const wantsHtml = /\btext\/html\b/i.test(req.headers.accept ?? '');
        if (target.via === 'original' || !wantsHtml) {
          return sendProblem(reply, new MamoriError('unauthenticated', decision.signedIn ? 'This address needs a higher sign-in level' : 'Sign-in required'));
        }
        return reply.code(target.method === 'GET' || target.method === 'HEAD' ? 302 : 303).send();
      },
    );

    app.get(
      '/api/v1/return-to',
      {
        schema: {
          querystring: Type.Object({ rd: Type.String({ maxLength: MAX_RETURN_LENGTH }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ url: Type.String() }) },
        },
      },
      async (req) => {
        const check = checkReturnTo(req.query.rd, scope());
        if (!check.ok) fail('invalid_return', `The console does not return there: ${check.reason}`);
        return { url: check.url };
      },
    );
  };
}
