import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';
import {
  activateDevice,
  assignmentOptions,
  listDevices,
  recoveryCodesLeft,
  regenerateRecoveryCodes,
  removeDevice,
  renameDevice,
  resyncDevice,
  startAssignment,
} from '../../flows/devices.js';
import { stepUp } from '../../flows/step-up.js';
import type { Factor } from '../../methods/types.js';
import { DEVICE_LIMIT } from '../../store/devices.js';
import { fail } from '../../errors.js';
import type { Services } from '../../services.js';
import { callerOf, requireRecentAuthForAssigning, requireRecentSecondFactor, requireSession } from '../auth.js';
import { sessionCookieSettings, setSessionCookie } from '../cookies.js';
import {
  AssignedDeviceSchema,
  Code,
  DeviceListSchema,
  DeviceSchema,
  Empty,
  Id,
  Name,
  NoContent,
  PendingDeviceSchema,
  SessionSchema,
  ceremonyOptionsSchema,
} from './schemas.js';

const CodePair = { code1: Code, code2: Code };

/** The body of a second-factor step: one shape per registered factor, told apart by `method`. */
export function secondFactorBody(factors: readonly Factor[]): TSchema {
  return Type.Union(factors.map((f) => Type.Object({ method: Type.Literal(f.id), ...f.proofFields }, { additionalProperties: false })));
}

/** Wrong codes at assignment are the user's typing, not a credential: 400, as the contract says. */
const typedCodes = { statuses: { invalid_code: 400 } } as const;

export function mfaDeviceRoutes(s: Services): FastifyPluginAsyncTypebox {
  const sessionCookie = sessionCookieSettings(s.config);
  const factors = s.methods.factors;
  return async (app) => {
    // A session that must assign a device first may use these: it has no other way to get a device.
    const assigning = { allow: ['mfa_setup' as const] };
    // Step-up serves both errands: a user with a device may need a fresh factor to set a forced new password.
    const steppingUp = { allow: ['mfa_setup' as const, 'password_change' as const] };

    app.get('/api/v1/me/mfa-devices', { schema: { response: { 200: DeviceListSchema } } }, async (req) => {
      const { user } = await requireSession(s, req, assigning);
      return { devices: await listDevices(s, user), limit: DEVICE_LIMIT };
    });

    // Every assignment ceremony of every factor: `POST …/{path}` starts it, `…/{path}-options` prepares the browser.
    for (const { assignment } of factors.assignments()) {
      if (assignment.options) {
        app.post(
          `/api/v1/me/mfa-devices/${assignment.path}-options`,
          { schema: { body: Type.Optional(Empty), response: { 200: ceremonyOptionsSchema(assignment.ui.fields, 'create') } } },
          async (req) => {
            const auth = await requireSession(s, req, assigning);
            await requireRecentAuthForAssigning(s, auth);
            return assignmentOptions(s, auth.user, assignment);
          },
        );
      }
      // An assignment that is confirmed afterwards (`activate`) answers with the pending device instead.
      const made = assignment.activate ? Type.Union([AssignedDeviceSchema, PendingDeviceSchema]) : AssignedDeviceSchema;
      app.post(
        `/api/v1/me/mfa-devices/${assignment.path}`,
        { config: typedCodes, schema: { body: assignment.startBody, response: { 201: made } } },
        async (req, reply) => {
          const auth = await requireSession(s, req, assigning);
          await requireRecentAuthForAssigning(s, auth);
          const r = await startAssignment(s, auth.user, auth.session, assignment, req.body as Record<string, unknown>, callerOf(req));
          if ('pending' in r) return reply.code(201).send(r.pending);
          if (r.sessionToken) setSessionCookie(reply, r.sessionToken, sessionCookie);
          return reply.code(201).send({ device: r.device, ...(r.recoveryCodes ? { recoveryCodes: r.recoveryCodes } : {}) });
        },
      );
    }

    const activateBodies = factors.assignments().flatMap(({ assignment }) => (assignment.activateBody ? [assignment.activateBody] : []));
    if (activateBodies.length > 0) {
      app.post(
        '/api/v1/me/mfa-devices/:id/activate',
        {
          config: typedCodes,
          schema: {
            params: Type.Object({ id: Id }),
            body: activateBodies.length === 1 ? activateBodies[0]! : Type.Union(activateBodies),
            response: { 200: AssignedDeviceSchema },
          },
        },
        async (req, reply) => {
          const auth = await requireSession(s, req, assigning);
          const r = await activateDevice(s, auth.user, auth.session, req.params.id, req.body as Record<string, unknown>, callerOf(req));
          if (r.sessionToken) setSessionCookie(reply, r.sessionToken, sessionCookie);
          return { device: r.device, ...(r.recoveryCodes ? { recoveryCodes: r.recoveryCodes } : {}) };
        },
      );
    }

    app.post(
      '/api/v1/me/mfa-devices/:id/resync',
      {
        config: typedCodes,
        schema: { params: Type.Object({ id: Id }), body: Type.Object(CodePair, { additionalProperties: false }), response: { 200: Type.Object({ device: DeviceSchema }) } },
      },
      async (req) => {
        const { user } = await requireSession(s, req);
        return { device: await resyncDevice(s, user, req.params.id, req.body.code1, req.body.code2, callerOf(req)) };
      },
    );

    app.patch(
      '/api/v1/me/mfa-devices/:id',
      { schema: { params: Type.Object({ id: Id }), body: Type.Object({ name: Name }, { additionalProperties: false }), response: { 200: Type.Object({ device: DeviceSchema }) } } },
      async (req) => {
        const { user } = await requireSession(s, req);
        return { device: await renameDevice(s, user, req.params.id, req.body.name, callerOf(req)) };
      },
    );

    app.delete('/api/v1/me/mfa-devices/:id', { schema: { params: Type.Object({ id: Id }), response: { 204: NoContent('The device is removed') } } }, async (req, reply) => {
      const auth = await requireSession(s, req);
      await requireRecentSecondFactor(s, auth);
      await removeDevice(s, auth.user, req.params.id, callerOf(req), { keepSessionId: auth.session.id });
      return reply.code(204).send();
    });

    // Factors with a browser ceremony hand out its challenge first (`/me/step-up/webauthn-options`).
    for (const factor of factors.all) {
      const challenge = factor.challenge;
      if (!challenge) continue;
      app.post(
        `/api/v1/me/step-up/${factor.id}-options`,
        { schema: { body: Type.Optional(Empty), response: { 200: ceremonyOptionsSchema(factor.ui.proof, 'get') } } },
        async (req) => {
          const { user } = await requireSession(s, req, steppingUp);
          return challenge(user, 'step_up');
        },
      );
    }

    app.post('/api/v1/me/step-up', { schema: { body: secondFactorBody(factors.all), response: { 200: Type.Object({ session: SessionSchema }) } } }, async (req, reply) => {
      const auth = await requireSession(s, req, steppingUp);
      const r = await stepUp(s, auth.user, auth.session, req.body as { method: string } & Record<string, unknown>, callerOf(req));
      setSessionCookie(reply, r.token, sessionCookie);
      return { session: r.view };
    });

    app.get('/api/v1/me/recovery-codes', { schema: { response: { 200: Type.Object({ remaining: Type.Integer() }) } } }, async (req) => {
      const { user } = await requireSession(s, req);
      return { remaining: await recoveryCodesLeft(s, user) };
    });

    // The new set, shown once; the old one is void.
    app.post('/api/v1/me/recovery-codes', { schema: { response: { 200: Type.Object({ codes: Type.Array(Type.String()) }) } } }, async (req) => {
      const auth = await requireSession(s, req);
      if (!factors.backup) fail('not_found', 'Recovery codes are not offered');
      await requireRecentSecondFactor(s, auth);
      return { codes: await regenerateRecoveryCodes(s, auth.user, callerOf(req)) };
    });
  };
}
