// Where a user is signed in now. Disabling the account ends every one of them.
import { t } from '../../../i18n';
import { useLoad } from '../../../store';
import { Loading, Panel } from '../../../ui/page';
import { Table } from '../../../ui/table';
import { AdminError } from '../layout';
import { loadSessions, type AdminUser } from './api';
import { DateText } from './cells';
import { shortAgent } from './words';

export function UserSessions({ user: u }: { user: AdminUser }) {
  const sessions = useLoad(() => loadSessions(u.id), [u.id]);
  const list = sessions.data;
  return (
    <Panel title={t('sessions.title')} description={t('admin.sessionsText', { email: u.email })}>
      <div class="panel-body">
        <AdminError error={sessions.error} />
        {list === undefined ? (
          !sessions.error && <Loading />
        ) : (
          <Table
            caption={t('sessions.title')}
            rows={list}
            rowKey={(x) => x.id}
            empty={t('admin.sessionsNone')}
            columns={[
              { label: t('sessions.col.device'), primary: true, cell: (x) => <span title={x.userAgent ?? undefined}>{shortAgent(x.userAgent)}</span> },
              { label: t('sessions.col.started'), cell: (x) => <DateText iso={x.createdAt} /> },
              { label: t('sessions.col.lastSeen'), cell: (x) => <DateText iso={x.lastSeenAt} /> },
              { label: t('sessions.col.ip'), cell: (x) => x.ip ?? t('common.unknown') },
              { label: t('sessions.col.level'), cell: (x) => t(x.aal >= 2 ? 'sessions.aal2' : 'sessions.aal1') },
            ]}
          />
        )}
      </div>
    </Panel>
  );
}
