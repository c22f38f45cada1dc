import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import {
  passwordlessOptions,
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
import { SESSION_COOKIE, SIGN_IN_COOKIE, clearSessionCookie, clearSignInCookie, readCookie, sessionCookieSettings, setSessionCookie, setSignInCookie } from '../cookies.js';
import { Code, Email, Empty, Password, SessionSchema } from './schemas.js';
import { secondFactorBody } from './mfa-devices.js';

const StepAnswer = Type.Object({
  status: Type.Union([
    Type.Literal('signed_in'),
    Type.Literal('email_code_sent'),
    Type.Literal('mfa_required'),
    Type.Literal('mfa_setup_required'),
    Type.Literal('password_change_required'),
  ]),
  methods: Type.Optional(Type.Array(Type.String())),
  /** With `email_code_sent`: the code completes a recovery after its cooling-off (the old MFA devices go). */
  recovery: Type.Optional(Type.Boolean()),
  session: Type.Optional(SessionSchema),
});

export function signInRoutes(s: Services): FastifyPluginAsyncTypebox {
  const secure = s.config.publicUrl.startsWith('https:');
  const sessionCookie = sessionCookieSettings(s.config);

  /** Translates a step's result into cookies and the contract's answer. */
  async function answer(reply: FastifyReply, r: SignInResult) {
    if (r.status === 'email_code_sent' || r.status === 'mfa_required') {
      setSignInCookie(reply, r.signInToken, secure);
      if (r.status === 'email_code_sent' && r.recovery) return { status: r.status, recovery: true };
      return r.status === 'mfa_required' ? { status: r.status, methods: r.methods } : { status: r.status };
    }
    clearSignInCookie(reply, secure);
    setSessionCookie(reply, r.sessionToken, sessionCookie);
    // A completed sign-in: a browser new to this user is told to its owner (src/flows/known-browsers.ts).
    const browser = await recognizeBrowser(s, r.session.user.id, readCookie(reply.request, BROWSER_COOKIE), callerOf(reply.request));
    setBrowserCookie(reply, browser, secure, BROWSER_COOKIE_DAYS * 86_400);
    return { status: r.status, session: r.session };
  }

  return async (app) => {
    app.post(
      '/api/v1/sign-in',
      {
        schema: {
          body: Type.Object({ email: Email, password: Password }, { additionalProperties: false }),
          response: { 200: StepAnswer },
        },
      },
      async (req, reply) => answer(reply, await signInWithPassword(s, req.body.email, req.body.password, callerOf(req))),
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

    app.post('/api/v1/sign-in/mfa', { schema: { body: secondFactorBody(s.methods.factors.all), response: { 200: StepAnswer } } }, async (req, reply) =>
      answer(
        reply,
        await signInWithSecondFactor(s, readCookie(req, SIGN_IN_COOKIE), req.body as { method: string } & Record<string, unknown>, callerOf(req)),
      ),
    );

    // Factors with a browser ceremony hand out its challenge first (`/sign-in/mfa/webauthn-options`).
    for (const factor of s.methods.factors.all) {
      if (!factor.challenge) continue;
      app.post(`/api/v1/sign-in/mfa/${factor.id}-options`, { schema: { body: Type.Optional(Empty) } }, async (req) =>
        secondFactorChallenge(s, readCookie(req, SIGN_IN_COOKIE), factor.id),
      );
    }

    const passwordless = s.methods.factors.passwordless;
    if (passwordless) {
      app.post('/api/v1/sign-in/passkey-options', { schema: { body: Type.Optional(Empty) } }, async (req) => passwordlessOptions(s, callerOf(req)));
      app.post('/api/v1/sign-in/passkey', { schema: { body: passwordless.body, response: { 200: StepAnswer } } }, async (req, reply) =>
        answer(reply, await signInPasswordless(s, req.body as Record<string, unknown>, callerOf(req))),
      );
    }

    app.post('/api/v1/sign-out', async (req, reply) => {
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
