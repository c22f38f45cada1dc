// Where the user is signed in: this session marked, how each one was authenticated, and a way to
// end the others. After every change the list is loaded again (an assigned device raises this
// session to MFA and ends the others, a new password ends the others).
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { changed, useLoad } from '../../../store';
import { ErrorBox } from '../../../ui/alert';
import { announce } from '../../../ui/announce';
import { ActionButton } from '../../../ui/button';
import { Loading, Panel } from '../../../ui/page';
import { Table, type Column } from '../../../ui/table';
import { signOut } from '../../../app';
import { When } from '../parts';
import { amrWords, shortAgent } from '../words';

const loadSessions = () => call(client.GET('/api/v1/me/sessions'));
type Row = Awaited<ReturnType<typeof loadSessions>>['sessions'][number];

/** Every session says how it was proved (its `amr`), this one and the others alike. */
export function SessionsPanel() {
  const { data, error } = useLoad(loadSessions);
  const columns: Column<Row>[] = [
    {
      label: t('sessions.col.device'),
      primary: true,
      cell: (x) => (
        <>
          <span title={x.userAgent ?? undefined}>{shortAgent(x.userAgent)}</span>
          {x.current && <span class="badge badge-ok">{t('sessions.current')}</span>}
        </>
      ),
    },
    { label: t('sessions.col.started'), cell: (x) => <When iso={x.createdAt} /> },
    { label: t('sessions.col.lastSeen'), cell: (x) => <When iso={x.lastSeenAt} /> },
    { label: t('sessions.col.ip'), cell: (x) => x.ip ?? t('common.unknown') },
    {
      label: t('sessions.col.level'),
      cell: (x) => (
        <>
          <span>{t(x.aal >= 2 ? 'sessions.aal2' : 'sessions.aal1')}</span>
          {x.aal >= 2 && x.amr.length > 0 && <span class="sub">{amrWords(x.amr)}</span>}
        </>
      ),
    },
    {
      label: t('common.actions'),
      actions: true,
      cell: (x) =>
        x.current ? (
          <ActionButton variant="small" action={signOut}>
            {t('nav.signOut')}
          </ActionButton>
        ) : (
          <ActionButton
            variant="small"
            label={t('sessions.revokeNamed', { device: shortAgent(x.userAgent), ip: x.ip ?? t('common.unknown') })}
            action={async () => {
              await call(client.DELETE('/api/v1/me/sessions/{id}', { params: { path: { id: x.id } } }));
              announce(t('sessions.revoked'));
              changed();
            }}
          >
            {t('sessions.revoke')}
          </ActionButton>
        ),
    },
  ];
  return (
    <Panel title={t('sessions.title')} description={t('sessions.description')}>
      <div class="panel-body">
        <ErrorBox error={error} />
        {!data && !error && <Loading />}
        {data && <Table caption={t('sessions.title')} columns={columns} rows={data.sessions} rowKey={(x) => x.id} />}
      </div>
    </Panel>
  );
}
