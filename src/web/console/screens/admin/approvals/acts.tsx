// Approve and Cancel. Approving needs a second factor from the last 15 minutes: the server says
// step_up_required and withStepUp asks for it, then approves.
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { changed } from '../../../store';
import { announce } from '../../../ui/announce';
import { withStepUp } from '../../sign-in/step-up';
import type { Approval } from '../users/api';
import { confirmAct } from '../../../ui/confirm';
import { approvalText, personLabel } from './words';

const path = (a: Approval) => ({ params: { path: { id: a.id } } });

export async function approve(a: Approval): Promise<void> {
  const request = approvalText(a);
  const done = await confirmAct({
    title: t('admin.approveTitle'),
    text: t('admin.approveConfirm', { request, email: personLabel(a.requestedBy) }),
    confirmLabel: t('admin.approve'),
    danger: true,
    action: () => withStepUp(() => call(client.POST('/api/v1/admin/approvals/{id}/approve', path(a)))),
  });
  if (done) announce(t('admin.approved', { request }));
  // Whatever came of it (done, failed, someone else first), every list says what the request is now.
  changed();
}

export async function cancel(a: Approval): Promise<void> {
  const done = await confirmAct({
    title: t('admin.cancelRequestTitle'),
    text: t('admin.cancelRequestConfirm', { request: approvalText(a) }),
    confirmLabel: t('admin.cancelRequest'),
    action: () => withStepUp(() => call(client.POST('/api/v1/admin/approvals/{id}/cancel', path(a)))),
  });
  if (done) announce(t('admin.requestCancelled'));
  changed();
}
