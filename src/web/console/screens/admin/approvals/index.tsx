// Administration → Approvals (MAMORI_ADMIN_APPROVALS=2): the acts waiting for a second
// administrator, in words, with Approve (another administrator, with a fresh second factor) and
// Cancel; and the last week's finished ones, with what came of them.
import { session, useLoad } from '../../../store';
import { fmtDate, t, type MessageKey } from '../../../i18n';
import { Loading, Panel } from '../../../ui/page';
import { Table } from '../../../ui/table';
import { AdminError, AdminLayout } from '../layout';
import { loadApprovals, type Approval } from '../users/api';
import { DateText } from '../users/cells';
import { approve, cancel } from './acts';
import { approvalText, failureText, personLabel } from './words';
import '../users/users.css';

const STATUS: Readonly<Record<Approval['status'], { key: MessageKey; badge: string }>> = {
  pending: { key: 'admin.approval.status.pending', badge: 'badge badge-warn' },
  executed: { key: 'admin.approval.status.executed', badge: 'badge badge-ok' },
  expired: { key: 'admin.approval.status.expired', badge: 'badge badge-off' },
  cancelled: { key: 'admin.approval.status.cancelled', badge: 'badge badge-off' },
  failed: { key: 'admin.approval.status.failed', badge: 'badge badge-warn' },
};

function RequestCell({ a, mine }: { a: Approval; mine: boolean }) {
  const failure = a.status === 'failed' ? failureText(a.failure) : '';
  return (
    <>
      {approvalText(a)}
      {a.status === 'pending' && mine && <span class="sub">{t('admin.approval.yours')}</span>}
      {a.approvedBy && a.status !== 'pending' && <span class="sub">{t('admin.approval.approvedBy', { email: personLabel(a.approvedBy), date: fmtDate(a.approvedAt) })}</span>}
      {a.cancelledBy && <span class="sub">{t('admin.approval.cancelledBy', { email: personLabel(a.cancelledBy), date: fmtDate(a.cancelledAt) })}</span>}
      {failure && <span class="sub">{failure}</span>}
    </>
  );
}

function Actions({ a, mine }: { a: Approval; mine: boolean }) {
  if (a.status !== 'pending') return null;
  const request = approvalText(a);
  return (
    <div class="row-actions">
      {!mine && (
        <button type="button" class="btn btn-small btn-primary" aria-label={t('admin.approveNamed', { request })} onClick={() => void approve(a)}>
          {t('admin.approve')}
        </button>
      )}
      <button type="button" class="btn btn-small" aria-label={t('admin.cancelRequestNamed', { request })} onClick={() => void cancel(a)}>
        {t('admin.cancelRequest')}
      </button>
    </div>
  );
}

function ApprovalsPanel() {
  const r = useLoad(loadApprovals);
  const me = session.value?.user.id;
  const rows = r.data?.approvals ?? [];
  const off = r.data !== undefined && r.data.administratorsRequired < 2;
  return (
    <Panel title={t('admin.approvals')} description={t('admin.approvalsText')}>
      <div class="panel-body">
        <AdminError error={r.error} />
        {off && <p class="muted">{t('admin.approvalsOff')}</p>}
        {r.data === undefined ? (
          !r.error && <Loading />
        ) : (
          <Table
            caption={t('admin.approvals')}
            rows={rows}
            rowKey={(a) => a.id}
            empty={t('admin.approvalsNone')}
            columns={[
              { label: t('admin.col.request'), primary: true, cell: (a) => <RequestCell a={a} mine={a.requestedBy.id === me} /> },
              { label: t('admin.col.requestedBy'), cell: (a) => personLabel(a.requestedBy) },
              { label: t('admin.col.requestedAt'), cell: (a) => <DateText iso={a.requestedAt} /> },
              { label: t('admin.col.expires'), cell: (a) => <DateText iso={a.expiresAt} /> },
              { label: t('admin.col.status'), cell: (a) => <span class={STATUS[a.status].badge}>{t(STATUS[a.status].key)}</span> },
              { label: t('common.actions'), actions: true, cell: (a) => <Actions a={a} mine={a.requestedBy.id === me} /> },
            ]}
          />
        )}
      </div>
    </Panel>
  );
}

export function ApprovalsPage() {
  return (
    <AdminLayout>
      <ApprovalsPanel />
    </AdminLayout>
  );
}
