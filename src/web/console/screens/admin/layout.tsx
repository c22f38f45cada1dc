// Administration: one heading, and the parts as tabs of links (each part its own address, so
// the browser's back button and a shared link work).
import type { ComponentChildren } from 'preact';
import { t, type MessageKey } from '../../i18n';
import { route } from '../../router';
import { Page } from '../../ui/page';

const PARTS: readonly { path: string; label: MessageKey }[] = [
  { path: '/admin/users', label: 'admin.users' },
  { path: '/admin/approvals', label: 'admin.approvals' },
  { path: '/admin/applications', label: 'admin.clients' },
  { path: '/admin/tokens', label: 'admin.tokens' },
  { path: '/admin/audit', label: 'admin.audit' },
];

export function AdminLayout({ children }: { children: ComponentChildren }) {
  const here = route.value.path === '/admin/user' ? '/admin/users' : route.value.path;
  return (
    <Page title={t('admin.title')} lead={t('admin.lead')}>
      <nav class="tabs" aria-label={t('admin.title')}>
        {PARTS.map((p) => (
          <a href={`#${p.path}`} class="tab" aria-current={p.path === here ? 'page' : undefined}>
            {t(p.label)}
          </a>
        ))}
      </nav>
      {children}
    </Page>
  );
}
