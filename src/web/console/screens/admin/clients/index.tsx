// Administration → Applications: the OpenID Connect clients that sign users in with Mamori, their
// policy (level, groups, consent), a new one's secret shown once, and deleting one.
import { call, client } from '../../../api/client';
import { fmtDate, t } from '../../../i18n';
import { changed, useLoad } from '../../../store';
import { announce } from '../../../ui/announce';
import { showDialog } from '../../../ui/dialog';
import { Loading, Panel } from '../../../ui/page';
import { Table, type Column } from '../../../ui/table';
import { withStepUp } from '../../sign-in/step-up';
import { AdminError, AdminLayout } from '../layout';
import { AddClientDialog } from './add';
import { confirmAct } from '../../../ui/confirm';
import { levelName } from './levels';
import './clients.css';

export const loadClients = () => call(client.GET('/api/v1/admin/oidc-clients'));
export type OidcClient = Awaited<ReturnType<typeof loadClients>>['clients'][number];

function Kind({ c }: { c: OidcClient }) {
  return (
    <>
      {t(c.public ? 'admin.clientKind.public' : 'admin.clientKind.confidential')}
      {c.thirdParty && <span class="badge badge-warn">{t('admin.clientKind.thirdParty')}</span>}
    </>
  );
}

async function remove(c: OidcClient): Promise<void> {
  const ok = await confirmAct({
    title: t('admin.clientDeleteTitle', { name: c.name }),
    text: t('admin.clientDeleteConfirm', { name: c.name }),
    confirmLabel: t('admin.clientDelete'),
    danger: true,
    action: () => withStepUp(() => call(client.DELETE('/api/v1/admin/oidc-clients/{clientId}', { params: { path: { clientId: c.clientId } } }))),
  });
  if (!ok) return;
  changed();
  announce(t('admin.clientDeleted', { name: c.name }));
}

const columns = (): readonly Column<OidcClient>[] => [
  {
    label: t('admin.clientName'),
    primary: true,
    cell: (c) => (
      <>
        {c.name}
        <code class="sub client-id">{c.clientId}</code>
        <span class="sub client-added">
          {t('admin.clientAddedOn', { at: fmtDate(c.createdAt) })}
        </span>
      </>
    ),
  },
  { label: t('admin.clientKind'), cell: (c) => <Kind c={c} /> },
  { label: t('admin.clientLevel'), cell: (c) => levelName(c.minAcr) },
  { label: t('admin.clientGroups'), cell: (c) => (c.allowedGroups.length ? c.allowedGroups.join(', ') : t('admin.clientEveryone')) },
  {
    label: t('admin.clientRedirectUris'),
    cell: (c) => (
      <ul class="uri-list">
        {c.redirectUris.map((u) => (
          <li>
            <code>{u}</code>
          </li>
        ))}
      </ul>
    ),
  },
  {
    label: t('admin.col.actions'),
    actions: true,
    cell: (c) => (
      <button type="button" class="btn btn-small btn-danger" aria-label={t('admin.clientDeleteNamed', { name: c.name })} onClick={() => void remove(c)}>
        {t('admin.clientDelete')}
      </button>
    ),
  },
];

function ClientList() {
  const list = useLoad(loadClients);
  if (!list.data) return list.error ? <AdminError error={list.error} /> : <Loading />;
  return (
    <>
      <AdminError error={list.error} />
      <div class="client-list">
        <Table caption={t('admin.clientsList')} columns={columns()} rows={list.data.clients} rowKey={(c) => c.clientId} empty={t('admin.clientsNone')} />
      </div>
    </>
  );
}

export function ClientsPage() {
  const add = () => void showDialog<void>((close) => <AddClientDialog onClose={() => close()} />);
  return (
    <AdminLayout>
      <Panel
        title={t('admin.clients')}
        description={t('admin.clientsText')}
        actions={
          <button type="button" class="btn btn-primary" onClick={add}>
            {t('admin.clientCreate')}
          </button>
        }
      >
        <div class="panel-body">
          <ClientList />
        </div>
      </Panel>
    </AdminLayout>
  );
}
