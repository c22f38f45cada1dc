// The audit log, newest first, 50 events a page: "Load more" pages back from the oldest shown
// (`order=desc&before=`), so events written meanwhile never shift the pages.
import { useRef, useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import { fmtDate, t, tKnown, tn } from '../../../i18n';
import { useLoad } from '../../../store';
import { ActionButton } from '../../../ui/button';
import { Loading } from '../../../ui/page';
import { Table, type Column } from '../../../ui/table';
import { withStepUp } from '../../sign-in/step-up';
import { Detail } from './detail';
import { AdminError } from '../layout';
import { apiFilter, filterPath, isFiltered, type AuditFilter } from './query';
import { actorLabel, type Who } from './detail/values';

const PAGE = 50;

const loadPage = (filter: AuditFilter, before?: number) =>
  call(client.GET('/api/v1/admin/audit', { params: { query: { order: 'desc', limit: String(PAGE), ...apiFilter(filter), ...(before === undefined ? {} : { before: String(before) }) } } }));

type AuditPage = Awaited<ReturnType<typeof loadPage>>;
export type AuditEvent = AuditPage['events'][number];

const columns = (who: Who): readonly Column<AuditEvent>[] => [
  // The event names the row (a card's heading on a phone); its number (which "Verify chain"
  // names when the chain breaks) goes under its time.
  { label: t('admin.auditCol.event'), primary: true, cell: (e) => tKnown(`event.${e.type}`, e.type) },
  {
    label: t('admin.auditCol.at'),
    cell: (e) => (
      <>
        <time class="date" dateTime={e.at}>
          {fmtDate(e.at)}
        </time>
        <span class="sub">
          {t('admin.col.id')} {e.id}
        </span>
      </>
    ),
  },
  { label: t('admin.col.user'), cell: (e) => (e.userId ? who(e.userId) : '—') },
  { label: t('admin.col.actor'), cell: (e) => actorLabel(e.actor, who) },
  { label: t('admin.auditCol.ip'), cell: (e) => e.ip ?? '—' },
  { label: t('admin.col.detail'), cell: (e) => <Detail detail={e.detail} who={who} /> },
];

export function EventList({ filter, who }: { filter: AuditFilter; who: Who }) {
  const key = filterPath(filter);
  const first = useLoad(() => loadPage(filter), [key]);
  // Older pages belong to the first page they were loaded after: a new first page (another
  // filter, or a change anywhere) starts the paging again.
  const [older, setOlder] = useState<{ base: AuditPage | undefined; events: AuditEvent[]; next: number | null }>({ base: undefined, events: [], next: null });
  const status = useRef<HTMLParagraphElement>(null);
  const data = first.data;
  if (!data) return first.error ? <AdminError error={first.error} /> : <Loading />;
  const paged = older.base === data ? older : { base: data, events: [], next: data.next };
  const events = [...data.events, ...paged.events];
  const next = paged.next;
  const more = async () => {
    if (next === null) return;
    const page = await withStepUp(() => loadPage(filter, next));
    setOlder({ base: data, events: [...paged.events, ...page.events], next: page.next });
    // The button goes with the last page: focus moves to the count instead of the page's end.
    if (page.next === null) setTimeout(() => status.current?.focus(), 0);
  };
  return (
    <>
      <AdminError error={first.error} />
      <p class="muted audit-count" role="status" tabIndex={-1} ref={status}>
        {events.length === 0 ? '' : tn(next === null ? 'admin.auditShown' : 'admin.auditShownMore', events.length)}
      </p>
      <div class="audit-events">
        <Table caption={t('admin.audit')} columns={columns(who)} rows={events} rowKey={(e) => String(e.id)} empty={t(isFiltered(filter) ? 'admin.auditNoMatch' : 'admin.auditNone')} />
      </div>
      {next !== null && (
        <div class="form-actions">
          <ActionButton variant="small" action={more}>
            {t('common.loadMore')}
          </ActionButton>
        </div>
      )}
    </>
  );
}
