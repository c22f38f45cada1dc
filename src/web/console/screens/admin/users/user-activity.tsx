// What happened to a user, newest first, from the audit log (filtered to them): sign-ins,
// failures, device changes and what administrators did to the account.
import { useState } from 'preact/hooks';
import { t, tKnown } from '../../../i18n';
import { useLoad } from '../../../store';
import { Loading, Panel } from '../../../ui/page';
import { Table } from '../../../ui/table';
import { AdminError } from '../layout';
import { loadActivity, loadUsers, type AdminUser } from './api';
import { DateText } from './cells';
import { actorLabel, shortAgent } from './words';

const PAGE = 20;

export function UserActivity({ user: u }: { user: AdminUser }) {
  const [limit, setLimit] = useState(PAGE);
  const events = useLoad(() => loadActivity(u.id, limit), [u.id, limit]);
  // Administrators are named in events by id: their emails come from the list.
  const users = useLoad(loadUsers).data;
  const emailOf = (id: string) => users?.find((x) => x.id === id)?.email;
  const list = events.data?.events;
  return (
    <Panel title={t('activity.title')} description={t('admin.activityText', { email: u.email })}>
      <div class="panel-body">
        <AdminError error={events.error} />
        {list === undefined ? (
          !events.error && <Loading />
        ) : (
          <>
            <Table
              caption={t('activity.title')}
              rows={list}
              rowKey={(e) => String(e.id)}
              empty={t('activity.none')}
              columns={[
                { label: t('activity.col.at'), primary: true, cell: (e) => <DateText iso={e.at} /> },
                { label: t('activity.col.event'), cell: (e) => tKnown(`event.${e.type}`, e.type) },
                { label: t('admin.col.actor'), cell: (e) => actorLabel(e.actor, emailOf) },
                { label: t('activity.col.ip'), cell: (e) => e.ip ?? '—' },
                { label: t('activity.col.device'), cell: (e) => (e.userAgent ? <span title={e.userAgent}>{shortAgent(e.userAgent)}</span> : '—') },
              ]}
            />
            {events.data?.next !== null && (
              <button type="button" class="btn btn-small" onClick={() => setLimit(limit + PAGE * 2)} disabled={events.loading}>
                {t('common.showMore')}
              </button>
            )}
          </>
        )}
      </div>
    </Panel>
  );
}
