// The recovery codes panel: how many are left, and a new set (with a fresh second factor).
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import { t, tn } from '../../../i18n';
import { changed, useLoad } from '../../../store';
import { ErrorBox } from '../../../ui/alert';
import { ActionButton } from '../../../ui/button';
import { Dialog, showDialog } from '../../../ui/dialog';
import { Loading, Panel } from '../../../ui/page';
import { withStepUp } from '../../sign-in/step-up';
import { CancelButton, type Device } from '../parts';
import { RecoveryCodes } from './codes';

const loadRemaining = () => call(client.GET('/api/v1/me/recovery-codes'));

/** Asks first (the current codes stop working), then shows the new set once, locked until saved. */
function RegenerateDialog({ close }: { close: () => void }) {
  const [codes, setCodes] = useState<readonly string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog title={t(codes ? 'recovery.saveTitle' : 'recovery.regenerateTitle')} locked={codes !== null} onClose={close}>
      {codes ? (
        <RecoveryCodes codes={codes} onDone={close} />
      ) : (
        <>
          <p>{t('recovery.regenerateConfirm')}</p>
          <ErrorBox error={error} />
          <div class="form-actions">
            <ActionButton
              variant="primary"
              onError={setError}
              action={async () => {
                setError(null);
                const r = await withStepUp(() => call(client.POST('/api/v1/me/recovery-codes')));
                setCodes(r.codes);
                changed();
              }}
            >
              {t('recovery.regenerate')}
            </ActionButton>
            <CancelButton onClick={close} />
          </div>
        </>
      )}
    </Dialog>
  );
}

/** `devices`: undefined while the list loads; without any device, "0 left" is no warning. */
export function RecoveryPanel({ devices }: { devices: readonly Device[] | undefined }) {
  const { data, error } = useLoad(loadRemaining);
  const remaining = data?.remaining;
  const noneYet = remaining === 0 && devices !== undefined && devices.length === 0;
  const low = remaining !== undefined && remaining <= 3;
  return (
    <Panel
      title={t('recovery.title')}
      description={t('recovery.description')}
      actions={
        !noneYet && (
          <button type="button" class="btn" onClick={() => void showDialog((close) => <RegenerateDialog close={() => close()} />)}>
            {t('recovery.regenerate')}
          </button>
        )
      }
    >
      <div class="panel-body">
        <ErrorBox error={error} />
        {remaining === undefined && !error && <Loading />}
        {noneYet && <p class="muted">{t('recovery.noneYet')}</p>}
        {remaining !== undefined && !noneYet && <p class={low ? 'stat stat-low' : 'stat'}>{tn('recovery.remaining', remaining)}</p>}
        {remaining !== undefined && !noneYet && low && <p class="muted">{t('recovery.low')}</p>}
      </div>
    </Panel>
  );
}
