// What Administration → Users reads from the server, and how its changes are sent: every change
// through withStepUp (administration needs a second factor proved in this session, approving a
// recent one), then changed(), so the list, the user's page and Approvals all show the result.
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { changed } from '../../../store';
import { announce } from '../../../ui/announce';
import { withStepUp } from '../../sign-in/step-up';

export const loadUsers = () => call(client.GET('/api/v1/admin/users')).then((r) => r.users);
export const loadUser = (id: string) => call(client.GET('/api/v1/admin/users/{id}', { params: { path: { id } } })).then((r) => r.user);
export const loadDevices = (id: string) => call(client.GET('/api/v1/admin/users/{id}/mfa-devices', { params: { path: { id } } })).then((r) => r.devices);
export const loadSessions = (id: string) => call(client.GET('/api/v1/admin/users/{id}/sessions', { params: { path: { id } } })).then((r) => r.sessions);
export const loadApprovals = () => call(client.GET('/api/v1/admin/approvals'));

/** One page of what happened to a user, newest first; `before` is the cursor of the next page. */
export const loadActivity = (userId: string, limit: number, before?: number) =>
  call(client.GET('/api/v1/admin/audit', { params: { query: { userId, order: 'desc', limit: String(limit), ...(before === undefined ? {} : { before: String(before) }) } } }));

export type AdminUser = Awaited<ReturnType<typeof loadUsers>>[number];
export type AdminDevice = Awaited<ReturnType<typeof loadDevices>>[number];
export type AdminSession = Awaited<ReturnType<typeof loadSessions>>[number];
export type AuditEvent = Awaited<ReturnType<typeof loadActivity>>['events'][number];
export type Approval = Awaited<ReturnType<typeof loadApprovals>>['approvals'][number];

/** Whether the server filed the act as a request for a second administrator (202) instead of doing it. */
export function waitsForApproval(answer: unknown): boolean {
  return typeof answer === 'object' && answer !== null && 'approval' in answer;
}

/**
 * Runs an administrator's act (asking for a fresh second factor when the server wants one), says
 * what came of it — done, or waiting for a second administrator — and reloads every panel.
 */
export async function adminAct<T>(act: () => Promise<T>, done: string): Promise<T> {
  const answer = await withStepUp(act);
  announce(waitsForApproval(answer) ? t('admin.approvalWaiting') : done);
  changed();
  return answer;
}

