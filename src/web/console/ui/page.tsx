import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../i18n';
import { useId } from './ids';

/**
 * A page: its title as the one h1, focused when the page appears so keyboards and screen
 * readers start there, and as the document title.
 */
export function Page({ title, lead, narrow = false, children }: { title: string; lead?: ComponentChildren; narrow?: boolean; children?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (!document.querySelector('dialog[open]')) ref.current?.focus();
  }, []);
  useEffect(() => {
    document.title = `${title} – ${t('app.name')}`;
  }, [title]);
  return (
    <section class={narrow ? 'page card card-narrow' : 'page'}>
      <h1 tabIndex={-1} ref={ref}>
        {title}
      </h1>
      {lead && <p class="lead">{lead}</p>}
      {children}
    </section>
  );
}

/** A titled part of a page (Security credentials → MFA devices). */
export function Panel({ title, description, actions, children }: { title: string; description?: ComponentChildren; actions?: ComponentChildren; children?: ComponentChildren }) {
  const id = useId('panel');
  return (
    <section class="panel" aria-labelledby={id}>
      <div class="panel-head">
        <div>
          <h2 id={id}>{title}</h2>
          {description && <p class="muted">{description}</p>}
        </div>
        {actions && <div class="panel-actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

export const Loading = () => (
  <p class="muted" role="status">
    {t('common.loading')}
  </p>
);
