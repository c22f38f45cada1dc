import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { changePassword, updateProfile } from '../../flows/users.js';
import { revokeOwnSession } from '../../flows/sessions.js';
import { listRemembered, rememberDaysFor, revokeRemembered } from '../../flows/remembered-browsers.js';
import type { Services } from '../../services.js';
import { callerOf, requireRecentSecondFactor, requireSession } from '../auth.js';
import { Id, Locale, Name, NoContent, Password, UserSchema } from './schemas.js';
import { userView } from './views.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function meRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.patch(
      '/api/v1/me',
      {
        schema: {
          body: Type.Object({ name: Type.Optional(Name), locale: Type.Optional(Locale) }, { additionalProperties: false, minProperties: 1 }),
          response: { 200: Type.Object({ user: UserSchema }) },
        },
      },
      async (req) => {
        const { user } = await requireSession(s, req);
        return { user: userView(await updateProfile(s, user, req.body, callerOf(req))) };
      },
    );

    app.get(
      '/api/v1/me/sessions',
      {
        schema: {
          response: {
            200: Type.Object({
              sessions: Type.Array(
                Type.Object({
                  id: Type.String(),
                  current: Type.Boolean(),
                  createdAt: Type.String(),
                  lastSeenAt: Type.String(),
                  ip: Type.Union([Type.String(), Type.Null()]),
                  userAgent: Type.Union([Type.String(), Type.Null()]),
                  aal: Type.Integer(),
                  /** How the session was proved (RFC 8176), so every session can say it, not only the current one. */
                  amr: Type.Array(Type.String()),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const { session, user } = await requireSession(s, req);
        const live = await s.sessions.listLive(user.id, s.clock.now());
        return {
          sessions: live.map((x) => ({
            id: x.id,
            current: x.id === session.id,
            createdAt: iso(x.created_at)!,
            lastSeenAt: iso(x.last_seen_at)!,
            ip: x.ip,
            userAgent: x.user_agent,
            aal: x.aal,
            amr: JSON.parse(x.amr) as string[],
          })),
        };
      },
    );

    app.delete('/api/v1/me/sessions/:id', { schema: { params: Type.Object({ id: Id }), response: { 204: NoContent('The session is ended') } } }, async (req, reply) => {
      const { user } = await requireSession(s, req);
      await revokeOwnSession(s, user.id, req.params.id, callerOf(req));
      return reply.code(204).send();
    });

    // "Remember this browser" grants (src/flows/remembered-browsers.ts): beside the sessions, not
    // among them, since a grant is no session (it signs nobody in without the password).
    app.get(
      '/api/v1/me/remembered-browsers',
      {
        schema: {
          response: {
            200: Type.Object({
              rememberBrowserDays: Type.Union([Type.Integer(), Type.Null()]),
              browsers: Type.Array(
                Type.Object({
                  id: Type.String(),
                  createdAt: Type.String(),
                  expiresAt: Type.String(),
                  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
                  ip: Type.Union([Type.String(), Type.Null()]),
                  userAgent: Type.Union([Type.String(), Type.Null()]),
                  device: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
                  amr: Type.Array(Type.String()),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const { user } = await requireSession(s, req);
        return { rememberBrowserDays: rememberDaysFor(s, user) ?? null, browsers: await listRemembered(s, user) };
      },
    );

    app.delete(
      '/api/v1/me/remembered-browsers/:id',
      { schema: { params: Type.Object({ id: Id }), response: { 204: NoContent('The browser is forgotten') } } },
      async (req, reply) => {
        const { user } = await requireSession(s, req);
        await revokeRemembered(s, user, req.params.id, callerOf(req));
        return reply.code(204).send();
      },
    );

    app.delete('/api/v1/me/remembered-browsers', { schema: { response: { 204: NoContent('Every remembered browser is forgotten') } } }, async (req, reply) => {
      const { user } = await requireSession(s, req);
      await revokeRemembered(s, user, undefined, callerOf(req));
      return reply.code(204).send();
    });

    app.put(
      '/api/v1/me/password',
      {
        schema: {
          body: Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false }),
          response: { 204: NoContent('The password is changed') },
        },
      },
      async (req, reply) => {
        const auth = await requireSession(s, req, { allow: ['password_change'] });
        await requireRecentSecondFactor(s, auth);
        await changePassword(s, auth.user, auth.session, req.body.currentPassword, req.body.newPassword, callerOf(req));
        return reply.code(204).send();
      },
    );

    app.get(
      '/api/v1/me/activity',
      {
        schema: {
          response: {
            200: Type.Object({
              events: Type.Array(
                Type.Object({
                  at: Type.String(),
                  type: Type.String(),
                  ip: Type.Union([Type.String(), Type.Null()]),
                  userAgent: Type.Union([Type.String(), Type.Null()]),
                  /** How: `password`, `email_code`, `passkey`, or the second factor's method (`totp`, `webauthn`, `recovery_code`…). */
                  method: Type.Union([Type.String(), Type.Null()]),
                  /** Which MFA device, by the name the user gave it. */
                  device: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
                  detail: Type.Record(Type.String(), Type.Unknown()),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const { user } = await requireSession(s, req);
        const events = await s.audit.recentForUser(user.id, 100);
        return {
          events: events.map((e) => {
            const detail = JSON.parse(e.detail) as Record<string, unknown>;
            return { at: iso(e.at)!, type: e.type, ip: e.ip, userAgent: e.user_agent, ...activityOf(e.type, detail), detail };
          }),
        };
      },
    );
  };
}

/**
 * The method and device an activity event is about, from what its flow recorded: second factors
 * name their method and device; a sign-in says by its `amr` whether a password or a passkey began it.
 */
function activityOf(type: string, detail: Record<string, unknown>): { method: string | null; device: { id: string; name: string } | null } {
  const device = typeof detail.deviceId === 'string' && typeof detail.deviceName === 'string' ? { id: detail.deviceId, name: detail.deviceName } : null;
  if (typeof detail.method === 'string') return { method: detail.method, device };
  if (type === 'sign_in_succeeded' && typeof detail.amr === 'string') {
    const amr = detail.amr.split(' ');
    return { method: amr.includes('pwd') ? 'password' : amr.includes('hwk') || amr.includes('swk') ? 'passkey' : null, device };
  }
  if (type.startsWith('email_code')) return { method: 'email_code', device };
  return { method: null, device };
}
