// Browsers that skip the second factor ("Remember this browser"), each with Forget. Hidden while
// the service does not offer it and none is left. A new password or a removed device ends every
// one of them, which the reload after each change shows.
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { changed, useLoad } from '../../../store';
import { ErrorBox } from '../../../ui/alert';
import { announce } from '../../../ui/announce';
import { ActionButton } from '../../../ui/button';
import { Panel } from '../../../ui/page';
import { Table, type Column } from '../../../ui/table';
import { When } from '../parts';
import { shortAgent } from '../words';

const loadBrowsers = () => call(client.GET('/api/v1/me/remembered-browsers'));
type Row = Awaited<ReturnType<typeof loadBrowsers>>['browsers'][number];

async function forget(id?: string): Promise<void> {
  if (id) {
    await call(client.DELETE('/api/v1/me/remembered-browsers/{id}', { params: { path: { id } } }));
    announce(t('remembered.forgotten'));
  } else {
    await call(client.DELETE('/api/v1/me/remembered-browsers'));
    announce(t('remembered.allForgotten'));
  }
  changed();
}

export function RememberedPanel() {
  const { data, error } = useLoad(loadBrowsers);
  const browsers = data?.browsers ?? [];
  if (!error && (!data || (data.rememberBrowserDays === null && browsers.length === 0))) return null;
  const columns: Column<Row>[] = [
    { label: t('sessions.col.device'), primary: true, cell: (x) => <span title={x.userAgent ?? undefined}>{shortAgent(x.userAgent)}</span> },
    { label: t('remembered.col.since'), cell: (x) => <When iso={x.createdAt} /> },
    { label: t('remembered.col.until'), cell: (x) => <When iso={x.expiresAt} /> },
    { label: t('remembered.col.lastUsed'), cell: (x) => (x.lastUsedAt ? <When iso={x.lastUsedAt} /> : t('remembered.notUsed')) },
    { label: t('sessions.col.ip'), cell: (x) => x.ip ?? t('common.unknown') },
    { label: t('remembered.col.device'), cell: (x) => x.device?.name ?? t('remembered.recoveryCode') },
    {
      label: t('common.actions'),
      actions: true,
      cell: (x) => (
        <ActionButton variant="small" label={t('remembered.forgetNamed', { device: shortAgent(x.userAgent), ip: x.ip ?? t('common.unknown') })} action={() => forget(x.id)}>
          {t('remembered.forget')}
        </ActionButton>
      ),
    },
  ];
  return (
    <Panel
      title={t('remembered.title')}
      description={t('remembered.description')}
      actions={
        browsers.length >= 2 && (
          <ActionButton variant="small" action={() => forget()}>
            {t('remembered.forgetAll')}
          </ActionButton>
        )
      }
    >
      <div class="panel-body">
        <ErrorBox error={error} />
        {data && <Table caption={t('remembered.title')} columns={columns} rows={browsers} rowKey={(x) => x.id} empty={t('remembered.none')} />}
      </div>
    </Panel>
  );
}
