// "Deactivate MFA device" from the users list: the user's devices to choose from, and "Deactivate
// all devices" for a user who lost every one.
import { call, client } from '../../../api/client';
import { fmtDate, t } from '../../../i18n';
import { ensureFactors, useLoad } from '../../../store';
import { ErrorBox } from '../../../ui/alert';
import { Dialog, showDialog } from '../../../ui/dialog';
import { Form, text } from '../../../ui/form';
import { useId } from '../../../ui/ids';
import { Loading } from '../../../ui/page';
import { deactivateAll } from './acts';
import { adminAct, loadDevices, type AdminDevice, type AdminUser } from './api';
import { deviceTypeLabel } from './words';

type Target = Pick<AdminUser, 'id' | 'email'>;

function DeviceChoice({ devices }: { devices: readonly AdminDevice[] }) {
  const name = useId('device');
  return (
    <fieldset class="choices">
      <legend>{t('admin.deactivateWhich')}</legend>
      {devices.map((d, i) => (
        <div class="choice">
          <input type="radio" name="deviceId" id={`${name}-${i}`} value={d.id} checked={i === 0} required />
          <label for={`${name}-${i}`}>
            <span class="choice-title">{d.name}</span>
            <span class="choice-text">
              {deviceTypeLabel(d.type)} · {t('mfa.col.lastUsed')}: {fmtDate(d.lastUsedAt)}
            </span>
          </label>
        </div>
      ))}
    </fieldset>
  );
}

function DeactivateDialog({ user, close }: { user: Target; close: (done?: boolean) => void }) {
  const devices = useLoad(async () => (await Promise.all([loadDevices(user.id), ensureFactors()]))[0], [user.id]);
  const list = devices.data;
  return (
    <Dialog title={t('admin.deactivateTitle')} onClose={() => close(false)}>
      <p>{t('admin.deactivateText', { email: user.email })}</p>
      <ErrorBox error={devices.error} />
      {list === undefined ? (
        !devices.error && <Loading />
      ) : list.length === 0 ? (
        <p class="muted">{t('admin.devicesNone')}</p>
      ) : (
        <Form
          danger
          submitLabel={t('admin.deactivate')}
          onSubmit={async (data) => {
            const deviceId = text(data, 'deviceId');
            await adminAct(
              () => call(client.DELETE('/api/v1/admin/users/{id}/mfa-devices/{deviceId}', { params: { path: { id: user.id, deviceId } } })),
              t('admin.deactivated', { email: user.email }),
            );
            close(true);
          }}
          secondary={
            <>
              {list.length > 1 && (
                <button type="button" class="btn btn-danger" onClick={() => void deactivateAll(user, list.length).then((done) => done && close(true))}>
                  {t('admin.deactivateAll')}
                </button>
              )}
              <button type="button" class="btn" onClick={() => close(false)}>
                {t('common.cancel')}
              </button>
            </>
          }
        >
          <DeviceChoice devices={list} />
        </Form>
      )}
    </Dialog>
  );
}

export function chooseAndDeactivate(user: Target): Promise<boolean | undefined> {
  return showDialog<boolean>((close) => <DeactivateDialog user={user} close={close} />);
}
