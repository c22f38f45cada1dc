import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import { credentialReport } from '../../flows/credential-report.js';
import { listDevices, removeAllDevices, removeDevice } from '../../flows/devices.js';
import { adminFacts, resendInvitation, userSessions, type AdminFacts } from '../../flows/admin-users.js';
import { DEVICE_LIMIT } from '../../store/devices.js';
import { importHardwareTokens, listHardwareTokens, pskcKeys } from '../../flows/hardware-tokens.js';
import { createUser, forcePasswordChange, inviteUser, localeFrom, unlockUser, updateUser } from '../../flows/users.js';
import { fail } from '../../errors.js';
import { adminActionsOf, notifyAdminAction } from '../../flows/notify.js';
import type { Services } from '../../services.js';
import type { User } from '../../store/schema.js';
import { callerOf, requireAdmin } from '../auth.js';
import { AdminUserSchema, DeviceListSchema, Download, Email, GroupedUserSchema, Id, Name, NoContent, Nullable, Password, PskcKeyHex, PskcPassword, Role, UserSchema } from './schemas.js';
import { userView } from './views.js';
import { changeGroups } from '../../flows/user-groups.js';
import { exportUsers } from '../../flows/user-export.js';
import { importUsers } from '../../flows/user-import.js';
import { GroupNames } from '../../schemas/groups.js';
import { ApprovalSchema } from './approvals.js';
import { assertImportGrantsNoAdmin, guardsUserChange, needsApproval, requestAllDevicesRemoval, requestDeviceRemoval, requestUserChange } from '../../flows/approvals.js';

/** A whole directory of users in one file: 100 000 lines with bcrypt hashes and TOTP seeds are about 25 MiB. */
const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Two-person rule (MAMORI_ADMIN_APPROVALS=2): the act waits for a second administrator. */
const Waiting = Type.Object({ approval: ApprovalSchema }, { description: 'Waits for a second administrator' });

/** The console's PSKC upload: the XML document as text, with the key (hex) or passphrase of an encrypted file. */
const PskcUpload = Type.Object(
  {
    pskc: Type.String({ minLength: 1, description: 'The PSKC document (RFC 6030), as XML text' }),
    key: Type.Optional(PskcKeyHex),
    passphrase: Type.Optional(PskcPassword),
  },
  { additionalProperties: false },
);

const HardwareTokenSchema = Type.Object({
  serial: Type.String(),
  kind: Type.Union([Type.Literal('totp'), Type.Literal('hotp')]),
  algorithm: Type.Union([Type.Literal('SHA1'), Type.Literal('SHA256'), Type.Literal('SHA512')]),
  digits: Type.Integer(),
  period: Type.Integer(),
  manufacturer: Nullable(Type.String()),
  model: Nullable(Type.String()),
  /** The holder's email, or null while the token is in the inventory. */
  assignedTo: Nullable(Type.String()),
});

/** A user in the administrators' list and on their own page. */
const AdminUserView = Type.Object({
  ...AdminUserSchema.properties,
  /** Has not chosen a password nor signed in yet: an invitation is (or was) on its way. */
  invited: Type.Boolean(),
  /** When the newest unused invitation expires (maybe past); null when none is on record. */
  invitationExpiresAt: Nullable(Type.String()),
});

const AdminSessionSchema = Type.Object({
  id: Type.String(),
  createdAt: Type.String(),
  lastSeenAt: Type.String(),
  ip: Nullable(Type.String()),
  userAgent: Nullable(Type.String()),
  aal: Type.Integer(),
});

function adminUserView(u: User, f: AdminFacts) {
  return {
    ...userView(u),
    disabled: u.disabled === 1,
    mfaDevices: f.mfaDevices,
    lastSignInAt: isoOrNull(u.last_sign_in_at),
    locked: f.locked,
    mfaSetupDeadline: isoOrNull(f.mfaSetupDeadline),
    groups: f.groups,
    invited: f.invited,
    invitationExpiresAt: isoOrNull(f.invitationExpiresAt),
  };
}

export function adminRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/v1/admin/users', { schema: { response: { 200: Type.Object({ users: Type.Array(AdminUserView) }) } } }, async (req) => {
      await requireAdmin(s, req);
      const users = await s.users.list();
      const facts = await adminFacts(s, users);
      return { users: users.map((u) => adminUserView(u, facts.get(u.id)!)) };
    });

    // One user's page in the console: the list's view of them, their sessions, a new invitation.
    app.get('/api/v1/admin/users/:id', { schema: { params: Type.Object({ id: Id }), response: { 200: Type.Object({ user: AdminUserView }) } } }, async (req) => {
      await requireAdmin(s, req);
      const user = (await s.users.findById(req.params.id)) ?? fail('not_found', 'No such user');
      return { user: adminUserView(user, (await adminFacts(s, [user])).get(user.id)!) };
    });

    app.get(
      '/api/v1/admin/users/:id/sessions',
      { schema: { params: Type.Object({ id: Id }), response: { 200: Type.Object({ sessions: Type.Array(AdminSessionSchema) }) } } },
      async (req) => {
        await requireAdmin(s, req);
        const live = await userSessions(s, req.params.id);
        return {
          sessions: live.map((x) => ({ id: x.id, createdAt: isoOrNull(x.created_at)!, lastSeenAt: isoOrNull(x.last_seen_at)!, ip: x.ip, userAgent: x.user_agent, aal: x.aal })),
        };
      },
    );

    // The first link expired or was lost: a new one (72 hours), the older links void; 409 once a password is set.
    app.post(
      '/api/v1/admin/users/:id/invitation',
      { schema: { params: Type.Object({ id: Id }), response: { 200: Type.Object({ invitationExpiresAt: Type.String() }) } } },
      async (req) => {
        const { user: admin } = await requireAdmin(s, req);
        return { invitationExpiresAt: isoOrNull(await resendInvitation(s, req.params.id, admin.name))! };
      },
    );

    app.post(
      '/api/v1/admin/users',
      {
        schema: {
          body: Type.Object(
            { email: Email, password: Type.Optional(Password), name: Type.Optional(Name), role: Type.Optional(Role) },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ user: UserSchema }), 202: Type.Object({ user: UserSchema, approval: ApprovalSchema }) },
        },
      },
      async (req, reply) => {
        const { user: admin } = await requireAdmin(s, req);
        // Two-person rule: a new administrator is made a user, and the role waits for a second administrator (202).
        const grant = req.body.role === 'admin' && s.config.adminApprovals === 2;
        const user = await createUser(
          s,
          { ...req.body, ...(grant ? { role: 'user' as const } : {}), locale: localeFrom(req.headers['accept-language']) },
          { caller: callerOf(req), actor: `admin:${admin.id}` },
        );
        if (req.body.password === undefined) await inviteUser(s, user, admin.name);
        if (grant) return reply.code(202).send({ user: userView(user), approval: await requestUserChange(s, admin, user, { role: 'admin' }, callerOf(req)) });
        return reply.code(201).send({ user: userView(user) });
      },
    );

    app.patch(
      '/api/v1/admin/users/:id',
      {
        schema: {
          params: Type.Object({ id: Id }),
          body: Type.Object(
            { name: Type.Optional(Name), role: Type.Optional(Role), disabled: Type.Optional(Type.Boolean()), groups: Type.Optional(GroupNames) },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: Type.Object({ user: GroupedUserSchema }), 202: Waiting },
        },
      },
      async (req, reply) => {
        const { user: admin } = await requireAdmin(s, req);
        const { groups, ...changes } = req.body;
        const actor = `admin:${admin.id}`;
        // What the account was, so its owner can be told what changed (issue 10: admin acted on the account).
        const before = Object.keys(changes).length > 0 ? await s.users.findById(req.params.id) : undefined;
        // Two-person rule: granting the admin role or disabling another user waits, the whole change with it.
        if (before && needsApproval(s, admin, before) && guardsUserChange(before, changes)) {
          if (groups !== undefined) fail('validation_failed', 'This change waits for a second administrator: send the groups in a change of their own');
          return reply.code(202).send({ approval: await requestUserChange(s, admin, before, changes, callerOf(req)) });
        }
        // Groups change in a transaction and audit event of their own (user_groups_changed); the
        // schema has checked every name already, so a bad one changes nothing at all.
        const user =
          Object.keys(changes).length > 0
            ? await updateUser(s, req.params.id, changes, actor, callerOf(req))
            : ((await s.users.findById(req.params.id)) ?? fail('not_found', 'No such user'));
        const now = groups === undefined ? await s.groups.of(user.id) : await changeGroups(s, user.id, { set: groups }, actor, callerOf(req));
        if (before) await notifyAdminAction(s, user, adminActionsOf(before, user), callerOf(req), user.role);
        return { user: { ...userView(user), groups: now } };
      },
    );

    // All-or-nothing: `200 {imported, refused: []}`, or `400` with every refused line. The caller
    // must be an administrator before the body (up to 64 MiB) is read at all.
    app.post(
      '/api/v1/admin/users/import',
      {
        bodyLimit: IMPORT_BODY_LIMIT,
        config: { rawBody: true },
        onRequest: async (req) => void (await requireAdmin(s, req)),
        schema: {
          response: {
            200: Type.Object({
              imported: Type.Integer(),
              /** Always empty here: a refused line answers 400 with all of them. */
              refused: Type.Array(Type.Object({ line: Type.Integer(), reason: Type.String() })),
            }),
          },
        },
      },
      async (req) => {
        const { user: admin } = await requireAdmin(s, req);
        const type = (req.headers['content-type'] ?? '').toLowerCase();
        if (!Buffer.isBuffer(req.body) || !type.startsWith('application/x-ndjson')) fail('unsupported_media_type', 'Send one JSON object a line with Content-Type: application/x-ndjson');
        assertImportGrantsNoAdmin(s, req.body);
        return importUsers(s, req.body, `admin:${admin.id}`, callerOf(req));
      },
    );

    // The import format without password hashes and TOTP seeds.
    app.get('/api/v1/admin/users/export', { schema: { response: { 200: Download('application/x-ndjson', 'One user a line, as JSON (the import format)') } } }, async (req, reply) => {
      const { user: admin } = await requireAdmin(s, req);
      const body = await exportUsers(s, `admin:${admin.id}`, callerOf(req));
      return reply.type('application/x-ndjson; charset=utf-8').header('content-disposition', 'attachment; filename="users.jsonl"').send(body);
    });

    app.post('/api/v1/admin/users/:id/unlock', { schema: { params: Type.Object({ id: Id }), response: { 204: NoContent('The user is unlocked') } } }, async (req, reply) => {
      const { user: admin } = await requireAdmin(s, req);
      const user = (await s.users.findById(req.params.id)) ?? fail('not_found', 'No such user');
      await unlockUser(s, user, `admin:${admin.id}`, callerOf(req));
      await notifyAdminAction(s, user, ['unlocked'], callerOf(req));
      return reply.code(204).send();
    });

    // SEC-05: the next sign-in answers password_change_required and allows only that.
    app.post(
      '/api/v1/admin/users/:id/force-password-change',
      { schema: { params: Type.Object({ id: Id }), response: { 204: NoContent('The next sign-in must change the password') } } },
      async (req, reply) => {
        const { user: admin } = await requireAdmin(s, req);
        await forcePasswordChange(s, req.params.id, `admin:${admin.id}`, callerOf(req));
        const user = await s.users.findById(req.params.id);
        if (user) await notifyAdminAction(s, user, ['password_change_forced'], callerOf(req));
        return reply.code(204).send();
      },
    );

    app.get('/api/v1/admin/users/:id/mfa-devices', { schema: { params: Type.Object({ id: Id }), response: { 200: DeviceListSchema } } }, async (req) => {
      await requireAdmin(s, req);
      const user = (await s.users.findById(req.params.id)) ?? fail('not_found', 'No such user');
      return { devices: await listDevices(s, user), limit: DEVICE_LIMIT };
    });

    // Recovery of a user who lost every device: all of them deactivated in one act.
    app.delete(
      '/api/v1/admin/users/:id/mfa-devices',
      { schema: { params: Type.Object({ id: Id }), response: { 202: Waiting, 204: NoContent('Every device is deactivated (or there was none)') } } },
      async (req, reply) => {
        const { user: admin } = await requireAdmin(s, req);
        const user = (await s.users.findById(req.params.id)) ?? fail('not_found', 'No such user');
        if (needsApproval(s, admin, user)) {
          const approval = await requestAllDevicesRemoval(s, admin, user, callerOf(req));
          // No device: nothing to strip, so nothing to ask (the act would change nothing either).
          return approval ? reply.code(202).send({ approval }) : reply.code(204).send();
        }
        await removeAllDevices(s, user, callerOf(req), `admin:${admin.id}`);
        return reply.code(204).send();
      },
    );

    app.delete(
      '/api/v1/admin/users/:id/mfa-devices/:deviceId',
      { schema: { params: Type.Object({ id: Id, deviceId: Id }), response: { 202: Waiting, 204: NoContent('The device is deactivated') } } },
      async (req, reply) => {
        const { user: admin } = await requireAdmin(s, req);
        const user = (await s.users.findById(req.params.id)) ?? fail('not_found', 'No such user');
        if (needsApproval(s, admin, user)) return reply.code(202).send({ approval: await requestDeviceRemoval(s, admin, user, req.params.deviceId, callerOf(req)) });
        await removeDevice(s, user, req.params.deviceId, callerOf(req), { admin: `admin:${admin.id}` });
        return reply.code(204).send();
      },
    );

    app.post(
      '/api/v1/admin/hardware-tokens',
      {
        config: { rawBody: true },
        schema: {
          headers: Type.Object({
            'mamori-pskc-key': Type.Optional(Type.String({ pattern: '^([0-9a-fA-F]{2}){16,32}$' })),
            'mamori-pskc-password': Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          }),
          // Beside the raw XML (Content-Type: application/pskc+xml, keys in the headers above): the
          // file and its key or passphrase as JSON, as the console sends them. A header carries
          // Latin-1 at most; a passphrase in JSON may be in any script.
          body: { content: { 'application/json': { schema: PskcUpload } } },
          response: {
            200: Type.Object({
              imported: Type.Integer(),
              /** Serials already in the inventory (`duplicate_serial`): a re-run of the same file is harmless. */
              skipped: Type.Array(Type.Object({ serial: Type.String(), reason: Type.String() })),
            }),
          },
        },
      },
      async (req) => {
        const { user: admin } = await requireAdmin(s, req);
        const psk = req.headers['mamori-pskc-key'];
        const password = req.headers['mamori-pskc-password'];
        if (req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) {
          // Validated against PskcUpload: the only body that is neither raw nor refused.
          const upload = req.body as Static<typeof PskcUpload>;
          if (psk || password) fail('validation_failed', 'Give the key or passphrase in the JSON body or in a header, not both');
          return importHardwareTokens(s, upload.pskc, pskcKeys(upload.key, upload.passphrase), `admin:${admin.id}`, callerOf(req));
        }
        if (!Buffer.isBuffer(req.body)) fail('unsupported_media_type', 'Send the PSKC file with Content-Type: application/pskc+xml');
        return importHardwareTokens(s, req.body, pskcKeys(psk, password), `admin:${admin.id}`, callerOf(req));
      },
    );

    app.get('/api/v1/admin/hardware-tokens', { schema: { response: { 200: Type.Object({ tokens: Type.Array(HardwareTokenSchema) }) } } }, async (req) => {
      await requireAdmin(s, req);
      return { tokens: await listHardwareTokens(s) };
    });

    app.get('/api/v1/admin/credential-report', { schema: { response: { 200: Download('text/csv', 'One user a row, RFC 4180 CSV with a header row') } } }, async (req, reply) => {
      await requireAdmin(s, req);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="credential-report.csv"')
        .send(await credentialReport(s));
    });

    // The audit log's routes are in ./audit.ts.
  };
}
