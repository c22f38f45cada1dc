// The account menu at the top right: who is signed in, Security credentials, Administration for
// administrators, sign-out. A disclosure button (not an ARIA menu): links and buttons inside
// keep their own roles, Escape closes it and focus returns to the button.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n';
import { useId } from './ids';

export function AccountMenu({ name, email, isAdmin, onSignOut }: { name: string; email: string; isAdmin: boolean; onSignOut: () => void }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const menuId = useId('account-menu');
  useEffect(() => {
    if (!open) return;
    const outside = (e: Event) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener('pointerdown', outside);
    document.addEventListener('keydown', key);
    return () => {
      document.removeEventListener('pointerdown', outside);
      document.removeEventListener('keydown', key);
    };
  }, [open]);
  const close = () => setOpen(false);
  return (
    <div class="account" ref={box}>
      <button ref={button} type="button" class="btn btn-small account-button" aria-expanded={open} aria-controls={menuId} onClick={() => setOpen(!open)}>
        <span class="account-name">{name || email}</span>
        {/* The name alone may be a common one; the email says which account (and its words come first, as seen). */}
        {name && <span class="visually-hidden"> {email}</span>}
        <span aria-hidden="true">▾</span>
      </button>
      {open && (
        <ul class="account-menu" id={menuId}>
          <li class="account-email">{email}</li>
          <li>
            <a href="#/security" onClick={close}>
              {t('nav.security')}
            </a>
          </li>
          {isAdmin && (
            <li>
              <a href="#/admin" onClick={close}>
                {t('nav.admin')}
              </a>
            </li>
          )}
          <li>
            <button
              type="button"
              onClick={() => {
                close();
                onSignOut();
              }}
            >
              {t('nav.signOut')}
            </button>
          </li>
        </ul>
      )}
    </div>
  );
}
