// The administrator's acts on a user, shared by the users list and the user's page. Each asks
// first, runs through adminAct (step-up when needed, "waits for a second administrator" under the
// two-person rule, changed() afterwards) and says what it did.
import { call, client } from '../../../api/client';
import { fmtDate, t } from '../../../i18n';
import { changed } from '../../../store';
import { announce } from '../../../ui/announce';
import { withStepUp } from '../../sign-in/step-up';
import { adminAct, type AdminDevice, type AdminUser } from './api';
import { confirmAct } from '../../../ui/confirm';

type Target = Pick<AdminUser, 'id' | 'email'>;
const path = (u: Target) => ({ params: { path: { id: u.id } } });

export function setDisabled(u: Target, disabled: boolean): Promise<boolean> {
  return confirmAct({
    title: t(disabled ? 'admin.disableTitle' : 'admin.enableTitle'),
    text: t(disabled ? 'admin.disableConfirm' : 'admin.enableConfirm', { email: u.email }),
    confirmLabel: t(disabled ? 'admin.disable' : 'admin.enable'),
    danger: disabled,
    action: () =>
      adminAct(() => call(client.PATCH('/api/v1/admin/users/{id}', { ...path(u), body: { disabled } })), t(disabled ? 'admin.disabled' : 'admin.enabled', { email: u.email })),
  });
}

export function unlock(u: Target): Promise<boolean> {
  return confirmAct({
    title: t('admin.unlockTitle'),
    text: t('admin.unlockConfirm', { email: u.email }),
    confirmLabel: t('admin.unlock'),
    action: () => adminAct(() => call(client.POST('/api/v1/admin/users/{id}/unlock', path(u))), t('admin.unlocked', { email: u.email })),
  });
}

/** One known device (a row of the user's page). */
export function deactivateDevice(u: Target, d: Pick<AdminDevice, 'id' | 'name'>): Promise<boolean> {
  return confirmAct({
    title: t('admin.deactivateTitle'),
    text: [t('admin.deactivateOneConfirm', { email: u.email, name: d.name }), t('admin.deactivateMailed')],
    confirmLabel: t('admin.deactivateDevice'),
    danger: true,
    action: () =>
      adminAct(
        () => call(client.DELETE('/api/v1/admin/users/{id}/mfa-devices/{deviceId}', { params: { path: { id: u.id, deviceId: d.id } } })),
        t('admin.deactivated', { email: u.email }),
      ),
  });
}

/** Every device at once (the user lost them all): one act, audited once, the user mailed once. */
export function deactivateAll(u: Target, count: number): Promise<boolean> {
  return confirmAct({
    title: t('admin.deactivateAll'),
    text: t('admin.deactivateAllConfirm', { email: u.email, n: count }),
    confirmLabel: t('admin.deactivateAll'),
    danger: true,
    action: () => adminAct(() => call(client.DELETE('/api/v1/admin/users/{id}/mfa-devices', path(u))), t('admin.deactivatedAll', { email: u.email })),
  });
}

/** A new invitation link (the old ones stop working); nothing to confirm, it only sends a mail. */
export async function resendInvitation(u: Target): Promise<void> {
  const r = await withStepUp(() => call(client.POST('/api/v1/admin/users/{id}/invitation', path(u))));
  announce(t('admin.invitationResent', { email: u.email, date: fmtDate(r.invitationExpiresAt) }));
  changed();
}
