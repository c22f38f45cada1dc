// Small pieces the panels of Security credentials share: dates, the device list's loading, and
// the Cancel button of their dialogs.
import type { ComponentChildren } from 'preact';
import { call, client } from '../../api/client';
import { ApiError } from '../../api/errors';
import { fmtDate, t } from '../../i18n';

/** A moment in the user's language, machine-readable too. */
export function When({ iso }: { iso: string | null | undefined }) {
  return iso ? <time dateTime={iso}>{fmtDate(iso)}</time> : <>{fmtDate(iso)}</>;
}

/** The user's devices; a session that may only assign one is answered as "none yet". */
export async function loadDevices() {
  try {
    return await call(client.GET('/api/v1/me/mfa-devices'));
  } catch (err) {
    if (err instanceof ApiError && err.code === 'mfa_setup_required') return { devices: [], limit: 8 };
    throw err;
  }
}

export type DeviceList = Awaited<ReturnType<typeof loadDevices>>;
export type Device = DeviceList['devices'][number];

/** A Cancel button that closes the dialog it is in. */
export const CancelButton = ({ onClick, children }: { onClick: () => void; children?: ComponentChildren }) => (
  <button type="button" class="btn" onClick={onClick}>
    {children ?? t('common.cancel')}
  </button>
);
