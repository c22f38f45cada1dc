// The parts of a user's row that the list and the user's page both show.
import { fmtDate, t, tn } from '../../../i18n';
import type { AdminUser } from './api';
import { statusBadge, statusesOf, statusWord } from './words';

export const DateText = ({ iso }: { iso: string | null | undefined }) => (iso ? <time class="date" dateTime={iso}>{fmtDate(iso)}</time> : <>{fmtDate(iso)}</>);

export function Statuses({ user }: { user: Pick<AdminUser, 'disabled' | 'invited' | 'locked'> }) {
  return (
    <span class="badges">
      {statusesOf(user).map((s) => (
        <span class={statusBadge(s)}>{statusWord(s)}</span>
      ))}
    </span>
  );
}

/** Under "Not assigned": by when MAMORI_REQUIRE_MFA wants the user to assign a device, or since when it is overdue. */
export function MfaCell({ user }: { user: Pick<AdminUser, 'mfaDevices' | 'mfaSetupDeadline'> }) {
  if (user.mfaDevices > 0) return <>{tn('admin.mfaCount', user.mfaDevices)}</>;
  const deadline = user.mfaSetupDeadline;
  const overdue = deadline !== null && Date.parse(deadline) <= Date.now();
  return (
    <>
      <span class="badge badge-warn">{t('admin.mfaNone')}</span>
      {deadline && <span class="sub">{t(overdue ? 'admin.mfaOverdue' : 'admin.mfaDeadline', { date: fmtDate(deadline) })}</span>}
    </>
  );
}

export function Groups({ groups }: { groups: readonly string[] }) {
  if (groups.length === 0) return <span class="muted">{t('admin.groupsNone')}</span>;
  return (
    <span class="badges">
      {groups.map((g) => (
        <span class="badge">{g}</span>
      ))}
    </span>
  );
}
