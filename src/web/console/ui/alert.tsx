import type { ComponentChildren } from 'preact';
import { describeError, shown } from './errors';

type Kind = 'info' | 'success' | 'warning' | 'error';

/** A box of words; `error` boxes are announced at once (role=alert), others politely. */
export function Alert({ kind, title, children }: { kind: Kind; title?: string; children?: ComponentChildren }) {
  return (
    <div class={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {title && <p class="alert-title">{title}</p>}
      {children}
    </div>
  );
}

/** An error in the user's words, or nothing when there is none. */
export function ErrorBox({ error }: { error: unknown }) {
  if (!shown(error)) return null;
  const [first, ...rest] = describeError(error);
  return (
    <Alert kind="error" title={first}>
      {rest.map((line) => (
        <p class="alert-detail">{line}</p>
      ))}
    </Alert>
  );
}
