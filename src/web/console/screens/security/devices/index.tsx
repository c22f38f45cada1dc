// The MFA panel: the user's devices (a table, cards on a phone), how many of the limit are used,
// and the one "Assign MFA device" button.
import { useRef } from 'preact/hooks';
import { t, tn } from '../../../i18n';
import type { Loaded } from '../../../store';
import { ErrorBox } from '../../../ui/alert';
import { Loading, Panel } from '../../../ui/page';
import { Table, type Column } from '../../../ui/table';
import { openAssignWizard } from '../assign';
import { When, type Device, type DeviceList } from '../parts';
import { deviceTypeLabel } from '../words';
import { removeDevice, renameDevice, resyncDevice } from './dialogs';

/** Devices whose codes can drift: resynchronized with two consecutive codes. */
const RESYNCABLE = new Set(['totp', 'hardware_totp']);

function Actions({ device, count }: { device: Device; count: number }) {
  return (
    <div class="row-actions">
      <button type="button" class="btn btn-small" aria-label={t('mfa.renameNamed', { name: device.name })} onClick={() => renameDevice(device)}>
        {t('mfa.rename')}
      </button>
      {RESYNCABLE.has(device.type) && (
        <button type="button" class="btn btn-small" aria-label={t('mfa.resyncNamed', { name: device.name })} onClick={() => resyncDevice(device)}>
          {t('mfa.resync')}
        </button>
      )}
      <button type="button" class="btn btn-small btn-danger" aria-label={t('mfa.removeNamed', { name: device.name })} onClick={() => removeDevice(device, count)}>
        {t('mfa.remove')}
      </button>
    </div>
  );
}

export function DevicesPanel({ loaded }: { loaded: Loaded<DeviceList> }) {
  const assign = useRef<HTMLButtonElement>(null);
  const { data, error } = loaded;
  const devices = data?.devices ?? [];
  const limit = data?.limit ?? 8;
  const full = devices.length >= limit;
  const columns: Column<Device>[] = [
    { label: t('mfa.col.name'), primary: true, cell: (d) => d.name },
    {
      label: t('mfa.col.type'),
      cell: (d) => (
        <>
          <span>{deviceTypeLabel(d.type)}</span>
          {d.serial && <span class="sub">{t('mfa.serialValue', { serial: d.serial })}</span>}
        </>
      ),
    },
    { label: t('mfa.col.created'), cell: (d) => <When iso={d.createdAt} /> },
    { label: t('mfa.col.lastUsed'), cell: (d) => <When iso={d.lastUsedAt} /> },
    { label: t('common.actions'), actions: true, cell: (d) => <Actions device={d} count={devices.length} /> },
  ];
  const open = async () => {
    await openAssignWizard();
    // Back to the button that opened it, also where a click does not focus buttons (Safari).
    assign.current?.focus();
  };
  return (
    <Panel
      title={t('mfa.title')}
      description={t('mfa.description')}
      actions={
        <button ref={assign} type="button" class="btn btn-primary" disabled={!data || full} onClick={() => void open()}>
          {t('mfa.assign')}
        </button>
      }
    >
      <div class="panel-body">
        <ErrorBox error={error} />
        {!data && !error && <Loading />}
        {data && <p class="muted">{tn('mfa.count', devices.length, { limit })}</p>}
        {data && <Table caption={t('mfa.title')} columns={columns} rows={devices} rowKey={(d) => d.id} empty={t('mfa.none')} />}
        {data && full && <p class="muted">{t('mfa.limitReached', { limit })}</p>}
      </div>
    </Panel>
  );
}
