// Small pieces the panels of Security credentials share: dates, the device list's loading, and
// dialogs opened from a button.
import type { ComponentChildren } from 'preact';
import { call, client } from '../../api/client';
import { ApiError } from '../../api/errors';
import { fmtDate, t } from '../../i18n';
import { Dialog, showDialog } from '../../ui/dialog';
import { ActionButton } from '../../ui/button';
import { ErrorBox } from '../../ui/alert';
import { useState } from 'preact/hooks';

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

export interface ConfirmOptions {
  title: string;
  text: readonly string[];
  confirmLabel: string;
  danger?: boolean;
  /** The work; its refusal shows in the dialog, which stays open. */
  action: () => Promise<unknown>;
}

/** A yes/no dialog whose confirm button runs `action`; resolves true once it ran. */
export async function confirm(opts: ConfirmOptions): Promise<boolean> {
  const done = await showDialog<boolean>((close) => (
    <Dialog title={opts.title} onClose={() => close(false)}>
      <ConfirmBody {...opts} close={close} />
    </Dialog>
  ));
  return done === true;
}

function ConfirmBody({ text, confirmLabel, danger = false, action, close }: ConfirmOptions & { close: (v: boolean) => void }) {
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      {text.map((p) => (
        <p>{p}</p>
      ))}
      <ErrorBox error={error} />
      <div class="form-actions">
        <ActionButton
          variant={danger ? 'danger' : 'primary'}
          onError={setError}
          action={async () => {
            setError(null);
            await action();
            close(true);
          }}
        >
          {confirmLabel}
        </ActionButton>
        <CancelButton onClick={() => close(false)} />
      </div>
    </>
  );
}

/** A Cancel button that closes the dialog it is in. */
export const CancelButton = ({ onClick, children }: { onClick: () => void; children?: ComponentChildren }) => (
  <button type="button" class="btn" onClick={onClick}>
    {children ?? t('common.cancel')}
  </button>
);
