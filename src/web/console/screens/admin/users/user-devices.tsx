// A user's MFA devices, each with Deactivate, and Deactivate all devices for one who lost them all.
import { t, tn } from '../../../i18n';
import { ensureFactors, useLoad } from '../../../store';
import { Loading, Panel } from '../../../ui/page';
import { Table } from '../../../ui/table';
import { AdminError } from '../layout';
import { deactivateAll, deactivateDevice } from './acts';
import { loadDevices, type AdminUser } from './api';
import { DateText } from './cells';
import { deviceTypeLabel } from './words';

export function UserDevices({ user: u }: { user: AdminUser }) {
  // The factors' descriptions name device types the console has no words of its own for.
  const devices = useLoad(async () => (await Promise.all([loadDevices(u.id), ensureFactors()]))[0], [u.id]);
  const list = devices.data;
  return (
    <Panel
      title={t('mfa.title')}
      description={list ? tn('admin.devicesCount', list.length) : undefined}
      actions={
        list && list.length > 1 ? (
          <button type="button" class="btn btn-danger" aria-label={t('admin.deactivateAllNamed', { email: u.email })} onClick={() => void deactivateAll(u, list.length)}>
            {t('admin.deactivateAll')}
          </button>
        ) : undefined
      }
    >
      <div class="panel-body">
        <AdminError error={devices.error} />
        {list === undefined ? (
          !devices.error && <Loading />
        ) : (
          <Table
            caption={t('mfa.title')}
            rows={list}
            rowKey={(d) => d.id}
            empty={t('admin.devicesNone')}
            columns={[
              { label: t('mfa.col.name'), primary: true, cell: (d) => d.name },
              { label: t('mfa.col.type'), cell: (d) => deviceTypeLabel(d.type) },
              { label: t('mfa.col.created'), cell: (d) => <DateText iso={d.createdAt} /> },
              { label: t('mfa.col.lastUsed'), cell: (d) => <DateText iso={d.lastUsedAt} /> },
              {
                label: t('common.actions'),
                actions: true,
                cell: (d) => (
                  <button type="button" class="btn btn-small btn-danger" aria-label={t('admin.deactivateDeviceNamed', { name: d.name, email: u.email })} onClick={() => void deactivateDevice(u, d)}>
                    {t('admin.deactivateDevice')}
                  </button>
                ),
              },
            ]}
          />
        )}
      </div>
    </Panel>
  );
}
