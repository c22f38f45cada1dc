// Administration: one heading, and the parts as tabs of links (each part its own address, so
// the browser's back button and a shared link work). Approvals shows how many requests wait, and
// is left out while the two-person rule is off and nothing was ever asked.
import type { ComponentChildren } from 'preact';
import { call, client } from '../../api/client';
import { ApiError } from '../../api/errors';
import { t, tn, type MessageKey } from '../../i18n';
import { route } from '../../router';
import { changed, useLoad } from '../../store';
import { Alert, ErrorBox } from '../../ui/alert';
import { ActionButton } from '../../ui/button';
import { Page } from '../../ui/page';
import { stepUp } from '../sign-in/step-up';
import './layout.css';

/**
 * Approvals comes last: it is shown until its summary has loaded and may then go (or gain its
 * count), and a tab that goes or grows must not move the others under a pointer about to click.
 */
const PARTS: readonly { path: string; label: MessageKey }[] = [
  { path: '/admin/users', label: 'admin.users' },
  { path: '/admin/applications', label: 'admin.clients' },
  { path: '/admin/tokens', label: 'admin.tokens' },
  { path: '/admin/audit', label: 'admin.audit' },
  { path: '/admin/approvals', label: 'admin.approvals' },
];

/** Whether the two-person rule is on (or was: requests remain), and how many requests wait. */
function useApprovalsSummary(): { shown: boolean; pending: number } {
  const r = useLoad(() => call(client.GET('/api/v1/admin/approvals')));
  const list = r.data;
  // Until it is known (or when it cannot be read), the tab stays: better one tab too many than a missing one.
  if (!list) return { shown: true, pending: 0 };
  return { shown: list.administratorsRequired >= 2 || list.approvals.length > 0, pending: list.approvals.filter((a) => a.status === 'pending').length };
}

/**
 * A panel's load error; when the session has no second factor proved in it (an administrator
 * signed in with a password only), the way to give one instead of a bare refusal.
 */
export function AdminError({ error }: { error: unknown }) {
  if (!(error instanceof ApiError && error.code === 'step_up_required')) return <ErrorBox error={error} />;
  return (
    <Alert kind="warning" title={t('admin.stepUpTitle')}>
      <p>{t('admin.stepUpText')}</p>
      <div class="form-actions">
        <ActionButton variant="primary" action={async () => (await stepUp()) && changed()}>
          {t('admin.stepUpButton')}
        </ActionButton>
      </div>
    </Alert>
  );
}

export function AdminLayout({ children }: { children: ComponentChildren }) {
  const here = route.value.path === '/admin/user' ? '/admin/users' : route.value.path;
  const approvals = useApprovalsSummary();
  const parts = PARTS.filter((p) => p.path !== '/admin/approvals' || approvals.shown || here === p.path);
  return (
    <Page title={t('admin.title')} lead={t('admin.lead')}>
      <nav class="tabs" aria-label={t('admin.title')}>
        {parts.map((p) => (
          <a href={`#${p.path}`} class="tab" aria-current={p.path === here ? 'page' : undefined}>
            {t(p.label)}
            {p.path === '/admin/approvals' && approvals.pending > 0 && ' '}
            {p.path === '/admin/approvals' && approvals.pending > 0 && <span class="tab-count">{tn('admin.approvalsPending', approvals.pending)}</span>}
          </a>
        ))}
      </nav>
      {children}
    </Page>
  );
}
