// The token inventory: every imported token, what it computes, and who holds it. A search narrows
// a long inventory to a serial number or a holder.
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import { t, tn } from '../../../i18n';
import { useLoad } from '../../../store';
import { useId } from '../../../ui/ids';
import { Loading } from '../../../ui/page';
import { Table, type Column } from '../../../ui/table';
import { AdminError } from '../layout';
import { seconds } from './words';

const loadTokens = () => call(client.GET('/api/v1/admin/hardware-tokens'));
type Token = Awaited<ReturnType<typeof loadTokens>>['tokens'][number];

const columns = (): readonly Column<Token>[] => [
  { label: t('admin.col.serial'), primary: true, cell: (x) => <code>{x.serial}</code> },
  { label: t('admin.tokensKind'), cell: (x) => t(x.kind === 'hotp' ? 'admin.tokensKind.hotp' : 'admin.tokensKind.totp') },
  { label: t('admin.col.algorithm'), cell: (x) => `HMAC-${x.algorithm.replace('SHA', 'SHA-')}` },
  { label: t('admin.col.digits'), cell: (x) => String(x.digits) },
  { label: t('admin.col.period'), cell: (x) => (x.kind === 'hotp' ? t('admin.tokensCounter') : seconds(x.period)) },
  { label: t('admin.tokensMaker'), cell: (x) => [x.manufacturer, x.model].filter(Boolean).join(' ') || '—' },
  { label: t('admin.col.assignedTo'), cell: (x) => x.assignedTo ?? <span class="muted">{t('admin.tokensUnassigned')}</span> },
];

function matches(x: Token, q: string): boolean {
  return q === '' || x.serial.toLowerCase().includes(q) || (x.assignedTo ?? '').toLowerCase().includes(q);
}

export function Inventory() {
  const list = useLoad(loadTokens);
  const [query, setQuery] = useState('');
  const searchId = useId('token-search');
  if (!list.data) return list.error ? <AdminError error={list.error} /> : <Loading />;
  const all = list.data.tokens;
  const free = all.filter((x) => x.assignedTo === null).length;
  const q = query.trim().toLowerCase();
  const rows = all.filter((x) => matches(x, q));
  return (
    <>
      <AdminError error={list.error} />
      {all.length > 0 && (
        <div class="inventory-tools">
          <p class="stat">{tn('admin.tokensCount', all.length, { free })}</p>
          <div class="field inventory-search">
            <label for={searchId}>{t('admin.tokensSearch')}</label>
            <input id={searchId} type="search" value={query} autoComplete="off" spellcheck={false} onInput={(e) => setQuery(e.currentTarget.value)} />
          </div>
        </div>
      )}
      <Table caption={t('admin.tokensInventory')} columns={columns()} rows={rows} rowKey={(x) => x.serial} empty={all.length === 0 ? t('admin.tokensNone') : t('admin.tokensNoMatch')} />
    </>
  );
}
