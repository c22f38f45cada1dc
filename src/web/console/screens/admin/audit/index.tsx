// Administration → Audit log: every sign-in and change, newest first, filtered by user, type and
// time, each event's detail in words; the filtered log as a file; and the hash chain's check.
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { route } from '../../../router';
import { useLoad } from '../../../store';
import { ErrorBox } from '../../../ui/alert';
import { announce } from '../../../ui/announce';
import { ActionButton } from '../../../ui/button';
import { Panel } from '../../../ui/page';
import { AdminLayout } from '../layout';
import { exportLog } from './export';
import { Filters } from './filters';
import { EventList } from './list';
import { filterFrom } from './query';
import { VerifyResult, verifyChain, type LogCheck } from './verify';
import './audit.css';

const loadUsers = () => call(client.GET('/api/v1/admin/users'));

function Actions({ onVerified, onError, exportIt }: { onVerified: (c: LogCheck) => void; onError: (e: unknown) => void; exportIt: () => Promise<void> }) {
  return (
    <>
      <ActionButton
        action={async () => {
          onError(null);
          onVerified(await verifyChain());
        }}
        onError={onError}
      >
        {t('admin.auditVerify')}
      </ActionButton>
      <ActionButton
        action={async () => {
          onError(null);
          await exportIt();
          announce(t('admin.auditExported'));
        }}
        onError={onError}
      >
        {t('admin.auditExport')}
      </ActionButton>
    </>
  );
}

export function AuditPage() {
  const filter = filterFrom(route.value.params);
  // For the emails of the users and administrators the events name by id; without it, the ids.
  const users = useLoad(loadUsers);
  const [check, setCheck] = useState<LogCheck | null>(null);
  const [error, setError] = useState<unknown>(null);
  const list = users.data?.users ?? [];
  const byId = new Map(list.map((u) => [u.id, u.email]));
  const who = (id: string) => byId.get(id) ?? id;
  return (
    <AdminLayout>
      <Panel title={t('admin.audit')} description={t('admin.auditText')} actions={<Actions onVerified={setCheck} onError={setError} exportIt={() => exportLog(filter)} />}>
        <div class="panel-body">
          <ErrorBox error={error} />
          {check && <VerifyResult check={check} />}
          <Filters filter={filter} users={list} />
          <EventList filter={filter} who={who} />
        </div>
      </Panel>
    </AdminLayout>
  );
}
