// Administration → Users: search by email or name, filter by MFA status, users without MFA first.
// The search and the filter live in the address (#/admin/users?q=…&mfa=none), so Back from a
// user's page returns to the same list.
import { t, tn } from '../../../i18n';
import { replace, route } from '../../../router';
import { session, useLoad } from '../../../store';
import { useId } from '../../../ui/ids';
import { Loading, Panel } from '../../../ui/page';
import { Table, type Column } from '../../../ui/table';
import { AdminError } from '../layout';
import { addUser } from './add';
import { loadUsers, type AdminUser } from './api';
import { RowActions } from './row-actions';
import { DateText, Groups, MfaCell, Statuses } from './cells';
import { roleLabel } from './words';

export type MfaFilter = 'all' | 'none' | 'some';
const FILTERS: readonly MfaFilter[] = ['all', 'none', 'some'];

export function readFilters(params: URLSearchParams): { q: string; mfa: MfaFilter } {
  const mfa = params.get('mfa');
  return { q: params.get('q') ?? '', mfa: FILTERS.find((f) => f === mfa) ?? 'all' };
}

function writeFilters(q: string, mfa: MfaFilter): void {
  const p = new URLSearchParams();
  if (q) p.set('q', q);
  if (mfa !== 'all') p.set('mfa', mfa);
  const query = p.toString();
  replace(query ? `/admin/users?${query}` : '/admin/users');
}

/** The users a search and filter leave, those without an MFA device first, then by email. */
export function filterUsers(users: readonly AdminUser[], q: string, mfa: MfaFilter): AdminUser[] {
  const needle = q.trim().toLowerCase();
  return users
    .filter((u) => !needle || u.email.toLowerCase().includes(needle) || u.name.toLowerCase().includes(needle))
    .filter((u) => mfa === 'all' || (mfa === 'none' ? u.mfaDevices === 0 : u.mfaDevices > 0))
    .sort((a, b) => Number(a.mfaDevices > 0) - Number(b.mfaDevices > 0) || a.email.localeCompare(b.email));
}

export const userLink = (id: string) => `#/admin/user?id=${encodeURIComponent(id)}`;

function Filters({ q, mfa }: { q: string; mfa: MfaFilter }) {
  const searchId = useId('user-search');
  const mfaId = useId('mfa-filter');
  return (
    <div class="filters" role="search">
      <div class="field">
        <label for={searchId}>{t('admin.search')}</label>
        <input id={searchId} type="search" class="input" value={q} autoComplete="off" spellcheck={false} onInput={(e) => writeFilters(e.currentTarget.value, mfa)} />
      </div>
      <div class="field">
        <label for={mfaId}>{t('admin.mfaFilter')}</label>
        <select id={mfaId} value={mfa} onChange={(e) => writeFilters(q, readFilters(new URLSearchParams({ mfa: e.currentTarget.value })).mfa)}>
          {FILTERS.map((f) => (
            <option value={f}>{t(f === 'all' ? 'admin.mfaFilter.all' : f === 'none' ? 'admin.mfaFilter.none' : 'admin.mfaFilter.some')}</option>
          ))}
        </select>
      </div>
    </div>
  );
}

function columns(me: string | undefined): Column<AdminUser>[] {
  return [
    {
      label: t('admin.col.user'),
      primary: true,
      cell: (u) => (
        <>
          <a href={userLink(u.id)}>{u.email}</a>
          {u.name && <span class="sub">{u.name}</span>}
        </>
      ),
    },
    { label: t('admin.col.role'), cell: (u) => roleLabel(u.role) },
    { label: t('admin.col.groups'), cell: (u) => <Groups groups={u.groups} /> },
    { label: t('admin.col.mfa'), cell: (u) => <MfaCell user={u} /> },
    { label: t('admin.col.lastSignIn'), cell: (u) => <DateText iso={u.lastSignInAt} /> },
    { label: t('admin.col.status'), cell: (u) => <Statuses user={u} /> },
    { label: t('common.actions'), actions: true, cell: (u) => <RowActions user={u} self={u.id === me} /> },
  ];
}

export function UsersPanel() {
  const users = useLoad(loadUsers);
  const { q, mfa } = readFilters(route.value.params);
  const all = users.data;
  const shown = all ? filterUsers(all, q, mfa) : [];
  return (
    <Panel
      title={t('admin.users')}
      description={t('admin.usersText')}
      actions={
        <button type="button" class="btn btn-primary" onClick={() => void addUser()}>
          {t('admin.addUser')}
        </button>
      }
    >
      <div class="panel-body">
        <Filters q={q} mfa={mfa} />
        <AdminError error={users.error} />
        {all === undefined ? (
          !users.error && <Loading />
        ) : (
          <>
            <p class="muted result-count" role="status">
              {tn('admin.usersShown', shown.length, { total: all.length })}
            </p>
            <Table caption={t('admin.users')} columns={columns(session.value?.user.id)} rows={shown} rowKey={(u) => u.id} empty={t('admin.usersNoMatch')} />
          </>
        )}
      </div>
    </Panel>
  );
}
