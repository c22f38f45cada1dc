// Recent activity: sign-ins, failures and changes to the credentials, newest first, each with how
// it was done and with which device.
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import { t, tKnown } from '../../../i18n';
import { useLoad } from '../../../store';
import { ErrorBox } from '../../../ui/alert';
import { Loading, Panel } from '../../../ui/page';
import { Table, type Column } from '../../../ui/table';
import { When, type Device } from '../parts';
import { deviceTypeLabel, methodLabel, shortAgent } from '../words';

const loadActivity = () => call(client.GET('/api/v1/me/activity'));
type Event = Awaited<ReturnType<typeof loadActivity>>['events'][number];
/** Events carry no id; two of a kind may share a millisecond, so rows are keyed by place. */
type Row = Event & { n: number };

const PAGE = 15;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * How and with what: the method the server names, else, for an event about a device, its type;
 * the device by the name it had then, else by its id among today's devices (a resync names only the id).
 */
function How({ e, names }: { e: Event; names: ReadonlyMap<string, string> }) {
  const aboutDevice = e.type.startsWith('mfa_device_');
  const type = aboutDevice ? str(e.detail.type) : null;
  const how = e.method ? methodLabel(e.method) : type ? deviceTypeLabel(type) : null;
  const id = e.device?.id ?? (aboutDevice ? str(e.detail.deviceId) : null);
  const device = e.device?.name ?? (aboutDevice ? str(e.detail.name) : null) ?? (id ? names.get(id) : undefined) ?? null;
  if (!how && !device) return <>—</>;
  return (
    <>
      {how && <span>{how}</span>}
      {device && <span class="sub">{device}</span>}
    </>
  );
}

/** `devices`: today's devices, to name the ones an event knows only by id. */
export function ActivityPanel({ devices }: { devices: readonly Device[] | undefined }) {
  const { data, error } = useLoad(loadActivity);
  const [shown, setShown] = useState(PAGE);
  const names = new Map((devices ?? []).map((d) => [d.id, d.name]));
  const events: Row[] = (data?.events ?? []).map((e, n) => ({ ...e, n }));
  const columns: Column<Row>[] = [
    { label: t('activity.col.event'), primary: true, cell: (e) => tKnown(`event.${e.type}`, e.type) },
    { label: t('activity.col.at'), cell: (e) => <When iso={e.at} /> },
    { label: t('activity.col.method'), cell: (e) => <How e={e} names={names} /> },
    { label: t('activity.col.ip'), cell: (e) => e.ip ?? t('common.unknown') },
    { label: t('activity.col.device'), cell: (e) => <span title={e.userAgent ?? undefined}>{shortAgent(e.userAgent)}</span> },
  ];
  return (
    <Panel title={t('activity.title')} description={t('activity.description')}>
      <div class="panel-body">
        <ErrorBox error={error} />
        {!data && !error && <Loading />}
        {data && <Table caption={t('activity.title')} columns={columns} rows={events.slice(0, shown)} rowKey={(e) => String(e.n)} empty={t('activity.none')} />}
        {events.length > shown && (
          <button type="button" class="btn btn-small" onClick={() => setShown(shown + PAGE * 2)}>
            {t('common.showMore')}
          </button>
        )}
      </div>
    </Panel>
  );
}
