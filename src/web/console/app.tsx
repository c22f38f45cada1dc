// The shell: top bar (brand, Administration for administrators, language, account menu), the
// page of the current route, dialogs opened from code, and the live region for confirmations.
import { useEffect } from 'preact/hooks';
import { call, client } from './api/client';
import { LANGS, lang, setLang, t, type Lang } from './i18n';
import { ROUTES } from './routes';
import { replace, route } from './router';
import { returns } from './screens/sign-in/returns';
import { notice, session, setupNeeded } from './store';
import { AccountMenu } from './ui/account-menu';
import { closeAllDialogs, DialogHost } from './ui/dialog';
import { Toast } from './ui/announce';
import { useId } from './ui/ids';

/** Where a path may not be shown in the current state, where to go instead (null: show it). */
export function redirectFor(path: string): string | null {
  if (setupNeeded.value) return path === '/setup' ? null : '/setup';
  const s = session.value;
  if (path === '/admin') return s ? '/admin/users' : '/sign-in';
  const r = ROUTES[path];
  if (!r) return s ? '/security' : '/sign-in';
  if (r.access === 'public') return null;
  if (r.access === 'setup') return s ? '/security' : '/sign-in';
  if (!s) return r.access === 'signedOut' ? null : '/sign-in';
  // Signed in: the sign-in page stays only to return to an application or to sign in again for one.
  if (r.access === 'signedOut') return returns.reauth || returns.returnTo !== null || returns.forward !== null ? null : '/security';
  if (r.access === 'admin' && (s.user.role !== 'admin' || s.mfaSetupRequired)) return '/security';
  return null;
}

export async function signOut(): Promise<void> {
  try {
    await call(client.POST('/api/v1/sign-out'));
  } finally {
    closeAllDialogs();
    session.value = null;
    notice.value = { kind: 'info', text: t('signOut.done') };
    replace('/sign-in');
  }
}

function chooseLang(next: Lang): void {
  setLang(next);
  // Signed in, the choice is also the language of the security emails.
  const s = session.value;
  if (s && !s.mfaSetupRequired) void call(client.PATCH('/api/v1/me', { body: { locale: next } })).catch(() => {});
}

function Header({ path }: { path: string }) {
  const s = session.value;
  const selectId = useId('lang');
  const isAdmin = s?.user.role === 'admin' && !s.mfaSetupRequired;
  return (
    <header class="topbar">
      <a class="brand" href={s ? '#/security' : '#/sign-in'}>
        <span class="brand-mark" aria-hidden="true" />
        {t('app.name')}
      </a>
      <nav class="nav" aria-label={t('nav.label')}>
        {isAdmin && (
          <a href="#/admin" class="nav-link" aria-current={path.startsWith('/admin') ? 'page' : undefined}>
            {t('nav.admin')}
          </a>
        )}
      </nav>
      <div class="header-tools">
        <label for={selectId} class="visually-hidden">
          {t('lang.label')}
        </label>
        <select id={selectId} class="lang-select" value={lang.value} onChange={(e) => chooseLang(e.currentTarget.value as Lang)}>
          {LANGS.map((l) => (
            <option value={l}>{t(`lang.${l}`)}</option>
          ))}
        </select>
        {s && !setupNeeded.value && <AccountMenu name={s.user.name} email={s.user.email} isAdmin={isAdmin} onSignOut={() => void signOut()} />}
      </div>
    </header>
  );
}

export function App() {
  const path = route.value.path;
  const target = redirectFor(path);
  useEffect(() => {
    // Decided again from the address as it is now: a hash change that landed after this render
    // (a link, a return address) must not be overwritten by a redirect meant for the old one.
    const now = route.value.path;
    const to = redirectFor(now);
    if (to !== null && to !== now) replace(to);
  }, [target, path]);
  useEffect(() => {
    if (session.value === null) closeAllDialogs();
  }, [session.value]);
  useEffect(() => {
    document.documentElement.lang = lang.value;
  }, [lang.value]);
  if (target !== null && target !== path) return null;
  const View = ROUTES[path]?.view;
  return (
    <>
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => {
          // The hash is the router's: move focus instead of navigating.
          e.preventDefault();
          (document.querySelector<HTMLElement>('main h1') ?? document.querySelector<HTMLElement>('main'))?.focus();
        }}
      >
        {t('app.skip')}
      </a>
      <Header path={path} />
      <main id="main" class="main" tabIndex={-1}>
        {View && <View key={path} />}
      </main>
      <DialogHost />
      <Toast />
    </>
  );
}
