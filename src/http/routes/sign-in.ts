import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import {
  passwordlessOptions,
  resendEmailCode,
  secondFactorChallenge,
  signInPasswordless,
  signInWithEmailCode,
  signInWithPassword,
  signInWithSecondFactor,
  type SignInResult,
} from '../../flows/sign-in.js';
import { sessionView } from '../../flows/session-view.js';
import { sessionDeadline } from '../../flows/enforcement.js';
import { signOut } from '../../flows/sessions.js';
import { BROWSER_COOKIE_DAYS, recognizeBrowser } from '../../flows/known-browsers.js';
import type { Services } from '../../services.js';
import { callerOf, requireSession } from '../auth.js';
import { BROWSER_COOKIE, setBrowserCookie } from '../cookies.js';
import { REMEMBER_COOKIE, clearRememberCookie, setRememberCookie } from '../cookies.js';
import { SESSION_COOKIE, SIGN_IN_COOKIE, clearSessionCookie, clearSignInCookie, readCookie, sessionCookieSettings, setSessionCookie, setSignInCookie } from '../cookies.js';
import type { Static, TSchema } from 'typebox';
import type { Factor } from '../../methods/types.js';
import { Code, Email, Empty, NoContent, Password, SessionSchema, WebauthnRequestOptionsSchema, ceremonyOptionsSchema } from './schemas.js';

const StepAnswer = Type.Object({
  status: Type.Union([
    Type.Literal('signed_in'),
    Type.Literal('email_code_sent'),
    Type.Literal('mfa_required'),
    Type.Literal('mfa_setup_required'),
    Type.Literal('password_change_required'),
  ]),
  /** With `mfa_required`, and with a recovery's `email_code_sent`: the second factors the account holds (usable instead of the code, cancelling the recovery). */
  methods: Type.Optional(Type.Array(Type.String())),
  /** With `email_code_sent`: the code completes a recovery after its cooling-off (the old MFA devices go). */
  recovery: Type.Optional(Type.Boolean()),
  /** With `email_code_sent`: until when the code can be used (its own lifetime or the pending sign-in's, whichever ends first). */
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  /** With `email_code_sent`: the same as seconds from now, for a browser whose clock is off. */
  expiresIn: Type.Optional(Type.Integer({ minimum: 0 })),
  /** With `mfa_required`: the method of the device the user used last, for the second step to open with. */
  preferred: Type.Optional(Type.String()),
  /** With `mfa_required`: the MFA step may remember this browser for this many days (`rememberBrowser: true`). */
  rememberBrowserDays: Type.Optional(Type.Integer()),
  /**
   * Present when the MFA step asked `rememberBrowser: true`: until when this browser skips the
   * second factor, or null when the service does not offer it (then nothing was remembered).
   */
  rememberedUntil: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  session: Type.Optional(SessionSchema),
});

/** The MFA step's body: a factor's proof, and whether to remember this browser (src/flows/remembered-browsers.ts). */
function mfaStepBody(factors: readonly Factor[]): TSchema {
  return Type.Union(
    factors.map((f) => Type.Object({ method: Type.Literal(f.id), ...f.proofFields, rememberBrowser: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
  );
}

export function signInRoutes(s: Services): FastifyPluginAsyncTypebox {
  const secure = s.config.publicUrl.startsWith('https:');
  const sessionCookie = sessionCookieSettings(s.config);

  /** Translates a step's result into cookies and the contract's answer. */
  async function answer(reply: FastifyReply, r: SignInResult) {
    if (r.status === 'email_code_sent' || r.status === 'mfa_required') {
      setSignInCookie(reply, r.signInToken, secure);
      if (r.status === 'email_code_sent') {
        const expiresIn = Math.max(0, Math.ceil((r.expiresAt - s.clock.now()) / 1000));
        return { status: r.status, expiresAt: new Date(r.expiresAt).toISOString(), expiresIn, ...(r.recovery ? { recovery: true, methods: r.methods ?? [] } : {}) };
      }
      if (r.forgetRememberCookie) clearRememberCookie(reply, secure);
      return {
        status: r.status,
        methods: r.methods,
        ...(r.preferred === undefined ? {} : { preferred: r.preferred }),
        ...(r.rememberBrowserDays === undefined ? {} : { rememberBrowserDays: r.rememberBrowserDays }),
      };
    }
    clearSignInCookie(reply, secure);
    setSessionCookie(reply, r.sessionToken, sessionCookie);
    // A completed sign-in: a browser new to this user is told to its owner (src/flows/known-browsers.ts).
    const browser = await recognizeBrowser(s, r.session.user.id, readCookie(reply.request, BROWSER_COOKIE), callerOf(reply.request));
    setBrowserCookie(reply, browser, secure, BROWSER_COOKIE_DAYS * 86_400);
    if (r.remembered) setRememberCookie(reply, r.remembered.token, secure, r.remembered.days * 86_400);
    const until = r.remembered === undefined ? {} : { rememberedUntil: r.remembered === null ? null : new Date(r.remembered.expiresAt).toISOString() };
    return { status: r.status, session: r.session, ...until };
  }

  return async (app) => {
    app.post(
      '/api/v1/sign-in',
      {
        schema: {
          body: Type.Object(
            {
              email: Email,
              password: Password,
              /** Ask for the second factor even in a remembered browser (OpenID Connect `prompt=login`, `max_age`). */
              fresh: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          response: { 200: StepAnswer },
        },
      },
      async (req, reply) =>
        answer(
          reply,
          await signInWithPassword(s, req.body.email, req.body.password, callerOf(req), { token: readCookie(req, REMEMBER_COOKIE), fresh: req.body.fresh === true }),
        ),
    );

    app.post(
      '/api/v1/sign-in/email-code',
      {
        schema: {
          body: Type.Object({ code: Code }, { additionalProperties: false }),
          response: { 200: StepAnswer },
        },
      },
      async (req, reply) =>
        answer(reply, await signInWithEmailCode(s, readCookie(req, SIGN_IN_COOKIE), req.body.code, callerOf(req))),
    );

    // Another code for the same pending sign-in (the mail was lost or late); the earlier one is void.
    app.post('/api/v1/sign-in/email-code/resend', { schema: { body: Type.Optional(Empty), response: { 200: StepAnswer } } }, async (req, reply) =>
      answer(reply, await resendEmailCode(s, readCookie(req, SIGN_IN_COOKIE), callerOf(req))),
    );

    app.post('/api/v1/sign-in/mfa', { schema: { body: mfaStepBody(s.methods.factors.all), response: { 200: StepAnswer } } }, async (req, reply) => {
      // The factor sees its proof only; the tick is the flow's.
      const { rememberBrowser, ...proof } = req.body as { method: string; rememberBrowser?: boolean } & Record<string, unknown>;
      return answer(reply, await signInWithSecondFactor(s, readCookie(req, SIGN_IN_COOKIE), proof, callerOf(req), { rememberBrowser: rememberBrowser === true }));
    });

    // Factors with a browser ceremony hand out its challenge first (`/sign-in/mfa/webauthn-options`).
    for (const factor of s.methods.factors.all) {
      if (!factor.challenge) continue;
      app.post(
        `/api/v1/sign-in/mfa/${factor.id}-options`,
        { schema: { body: Type.Optional(Empty), response: { 200: ceremonyOptionsSchema(factor.ui.proof, 'get') } } },
        async (req) => secondFactorChallenge(s, readCookie(req, SIGN_IN_COOKIE), factor.id),
      );
    }

    const passwordless = s.methods.factors.passwordless;
    if (passwordless) {
      // The passwordless factor's options are typed `unknown` (src/methods/types.ts); they are WebAuthn's.
      app.post('/api/v1/sign-in/passkey-options', { schema: { body: Type.Optional(Empty), response: { 200: WebauthnRequestOptionsSchema } } }, async (req) =>
        (await passwordlessOptions(s, callerOf(req))) as Static<typeof WebauthnRequestOptionsSchema>,
      );
      app.post('/api/v1/sign-in/passkey', { schema: { body: passwordless.body, response: { 200: StepAnswer } } }, async (req, reply) =>
        answer(reply, await signInPasswordless(s, req.body as Record<string, unknown>, callerOf(req))),
      );
    }

    app.post('/api/v1/sign-out', { schema: { response: { 204: NoContent('Signed out; the session cookie is cleared') } } }, async (req, reply) => {
      await signOut(s, readCookie(req, SESSION_COOKIE), callerOf(req));
      clearSessionCookie(reply, sessionCookie);
      return reply.code(204).send();
    });

    app.get('/api/v1/session', { schema: { response: { 200: SessionSchema } } }, async (req) => {
      const { session, user } = await requireSession(s, req, { allow: ['mfa_setup', 'password_change'] });
      return sessionView(session, user, s.config.sessionIdleMinutes * 60_000, await sessionDeadline(s, session, user));
    });
  };
}
