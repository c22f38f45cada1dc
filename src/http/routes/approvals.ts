import { Type, type FastifyPluginAsyncTypebox, type TSchema } from '@fastify/type-provider-typebox';
import { approve, cancelApproval, freshSecondFactor, listApprovals } from '../../flows/approvals.js';
import type { Services } from '../../services.js';
import { STEP_UP_WINDOW_MS, callerOf, requireAdmin } from '../auth.js';
import { Id } from './schemas.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Person = Type.Object({ id: Type.String(), email: Nullable(Type.String()), name: Nullable(Type.String()) });

/** A request under the two-person rule, as every route that files or shows one answers it. */
export const ApprovalSchema = Type.Object({
  id: Type.String(),
  action: Type.String(),
  target: Person,
  requestedBy: Person,
  requestedAt: Type.String(),
  expiresAt: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('expired'), Type.Literal('executed'), Type.Literal('cancelled'), Type.Literal('failed')]),
  change: Type.Record(Type.String(), Type.Unknown()),
  approvedBy: Nullable(Person),
  approvedAt: Nullable(Type.String()),
  executedAt: Nullable(Type.String()),
  cancelledBy: Nullable(Person),
  cancelledAt: Nullable(Type.String()),
  failure: Nullable(Type.String()),
});

const Approved = Type.Object({ approval: ApprovalSchema });

/**
 * The two-person rule's requests (MAMORI_ADMIN_APPROVALS=2, src/flows/approvals.ts): listed for
 * every administrator, approved by one other than the requester with a fresh second factor,
 * cancelled by the requester or any other administrator.
 */
export function approvalRoutes(s: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/v1/admin/approvals', { schema: { response: { 200: Type.Object({ approvals: Type.Array(ApprovalSchema), administratorsRequired: Type.Integer() }) } } }, async (req) => {
      await requireAdmin(s, req);
      // `administratorsRequired` says whether the rule is on (2) or off (1), so a console knows to show the panel.
      return { approvals: await listApprovals(s), administratorsRequired: s.config.adminApprovals };
    });

    app.post('/api/v1/admin/approvals/:id/approve', { schema: { params: Type.Object({ id: Id }), response: { 200: Approved } } }, async (req) => {
      const { user, session } = await requireAdmin(s, req);
      // A second factor from the start of a long session is not enough to approve: it must be recent.
      return { approval: await approve(s, user, req.params.id, callerOf(req), freshSecondFactor(s, session, STEP_UP_WINDOW_MS)) };
    });

    app.post('/api/v1/admin/approvals/:id/cancel', { schema: { params: Type.Object({ id: Id }), response: { 200: Approved } } }, async (req) => {
      const { user } = await requireAdmin(s, req);
      return { approval: await cancelApproval(s, user, req.params.id, callerOf(req)) };
    });
  };
}
