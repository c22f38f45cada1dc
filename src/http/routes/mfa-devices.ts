import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import {
  activateAuthenticatorApp,
  assignHardwareToken,
  assignWebauthn,
  webauthnRegistrationOptions,
  listDevices,
  regenerateRecoveryCodes,
  removeDevice,
  renameDevice,
  resyncDevice,
  startAuthenticatorApp,
} from '../../flows/devices.js';
import { stepUp } from '../../flows/step-up.js';
import { DEVICE_LIMIT } from '../../store/devices.js';
import type { Services } from '../../services.js';
import { callerOf, requireRecentAuthForBinding, requireRecentSecondFactor, requireSession } from '../auth.js';
import { setSessionCookie } from '../cookies.js';
import { Code, Empty, Id, Name, SessionSchema } from './schemas.js';

const CodePair = { code1: Code, code2: Code };
/** A PublicKeyCredential as JSON; SimpleWebAuthn checks its inside. */
export const Credential = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 1400 }),
    rawId: Type.String({ minLength: 1, maxLength: 1400 }),
    type: Type.Literal('public-key'),
    response: Type.Object({ clientDataJSON: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: true, maxProperties: 16 }),
    clientExtensionResults: Type.Optional(Type.Object({}, { additionalProperties: true })),
    authenticatorAttachment: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export const SecondFactorBody = Type.Union([
  Type.Object({ method: Type.Literal('totp'), code: Code }, { additionalProperties: false }),
  Type.Object({ method: Type.Literal('recovery_code'), code: Code }, { additionalProperties: false }),
  Type.Object({ method: Type.Literal('webauthn'), credential: Credential }, { additionalProperties: false }),
]);

export function mfaDeviceRoutes(s: Services): FastifyPluginAsyncTypebox {
  const secure = s.config.publicUrl.startsWith('https:');
  return async (app) => {
    // A session that must enroll first may use these: it has no other way to get a device.
    const enrolling = { allow: ['mfa_setup' as const] };

    app.get('/api/v1/me/mfa-devices', async (req) => {
      const { user } = await requireSession(s, req, enrolling);
      return { devices: await listDevices(s, user), limit: DEVICE_LIMIT };
    });

    app.post(
      '/api/v1/me/mfa-devices/totp',
      { schema: { body: Type.Object({ name: Name }, { additionalProperties: false }) } },
      async (req, reply) => {
        const auth = await requireSession(s, req, enrolling);
        await requireRecentAuthForBinding(s, auth);
        return reply.code(201).send(await startAuthenticatorApp(s, auth.user, req.body.name, callerOf(req)));
      },
    );

    app.post(
      '/api/v1/me/mfa-devices/:id/activate',
      { schema: { params: Type.Object({ id: Id }), body: Type.Object(CodePair, { additionalProperties: false }) } },
      async (req, reply) => {
        const auth = await requireSession(s, req, enrolling);
        const r = await activateAuthenticatorApp(s, auth.user, auth.session, req.params.id, req.body.code1, req.body.code2, callerOf(req));
        if (r.sessionToken) setSessionCookie(reply, r.sessionToken, secure);
        return { device: r.device, ...(r.recoveryCodes ? { recoveryCodes: r.recoveryCodes } : {}) };
      },
    );

    app.post(
      '/api/v1/me/mfa-devices/hardware',
      { schema: { body: Type.Object({ name: Name, serial: Type.String({ minLength: 1, maxLength: 64 }), ...CodePair }, { additionalProperties: false }) } },
      async (req, reply) => {
        const auth = await requireSession(s, req, enrolling);
        await requireRecentAuthForBinding(s, auth);
        const r = await assignHardwareToken(s, auth.user, auth.session, req.body, callerOf(req));
        if (r.sessionToken) setSessionCookie(reply, r.sessionToken, secure);
        return reply.code(201).send({ device: r.device, ...(r.recoveryCodes ? { recoveryCodes: r.recoveryCodes } : {}) });
      },
    );

    app.post('/api/v1/me/mfa-devices/webauthn-options', { schema: { body: Type.Optional(Empty) } }, async (req) => {
      const auth = await requireSession(s, req, enrolling);
      await requireRecentAuthForBinding(s, auth);
      return webauthnRegistrationOptions(s, auth.user);
    });

    app.post(
      '/api/v1/me/mfa-devices/webauthn',
      { schema: { body: Type.Object({ name: Name, credential: Credential }, { additionalProperties: false }) } },
      async (req, reply) => {
        const auth = await requireSession(s, req, enrolling);
        await requireRecentAuthForBinding(s, auth);
        const r = await assignWebauthn(s, auth.user, auth.session, req.body.name, req.body.credential as unknown as RegistrationResponseJSON, callerOf(req));
        if (r.sessionToken) setSessionCookie(reply, r.sessionToken, secure);
        return reply.code(201).send({ device: r.device, ...(r.recoveryCodes ? { recoveryCodes: r.recoveryCodes } : {}) });
      },
    );

    // Step-up serves both errands: a user with a device may need a fresh factor to set a forced new password.
    const steppingUp = { allow: ['mfa_setup' as const, 'password_change' as const] };

    app.post('/api/v1/me/step-up/webauthn-options', { schema: { body: Type.Optional(Empty) } }, async (req) => {
      const { user } = await requireSession(s, req, steppingUp);
      return s.methods.webauthn.authenticationOptions('step_up', user);
    });

    app.post(
      '/api/v1/me/mfa-devices/:id/resync',
      { schema: { params: Type.Object({ id: Id }), body: Type.Object(CodePair, { additionalProperties: false }) } },
      async (req) => {
        const { user } = await requireSession(s, req);
        return { device: await resyncDevice(s, user, req.params.id, req.body.code1, req.body.code2, callerOf(req)) };
      },
    );

    app.patch(
      '/api/v1/me/mfa-devices/:id',
      { schema: { params: Type.Object({ id: Id }), body: Type.Object({ name: Name }, { additionalProperties: false }) } },
      async (req) => {
        const { user } = await requireSession(s, req);
        return { device: await renameDevice(s, user, req.params.id, req.body.name, callerOf(req)) };
      },
    );

    app.delete('/api/v1/me/mfa-devices/:id', { schema: { params: Type.Object({ id: Id }) } }, async (req, reply) => {
      const auth = await requireSession(s, req);
      await requireRecentSecondFactor(s, auth);
      await removeDevice(s, auth.user, req.params.id, callerOf(req), { keepSessionId: auth.session.id });
      return reply.code(204).send();
    });

    app.post('/api/v1/me/step-up', { schema: { body: SecondFactorBody, response: { 200: Type.Object({ session: SessionSchema }) } } }, async (req, reply) => {
      const auth = await requireSession(s, req, steppingUp);
      const r = await stepUp(s, auth.user, auth.session, req.body as { method: string } & Record<string, unknown>, callerOf(req));
      setSessionCookie(reply, r.token, secure);
      return { session: r.view };
    });

    app.get('/api/v1/me/recovery-codes', async (req) => {
      const { user } = await requireSession(s, req);
      return { remaining: await s.methods.recoveryCodes.remaining(user.id) };
    });

    app.post('/api/v1/me/recovery-codes', async (req) => {
      const auth = await requireSession(s, req);
      await requireRecentSecondFactor(s, auth);
      return { codes: await regenerateRecoveryCodes(s, auth.user, callerOf(req)) };
    });
  };
}
