import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorBox } from './alert';

export interface ActionProps {
  /** The work; its rejection is shown beside the button unless `onError` takes it. */
  action: () => Promise<unknown> | unknown;
  children: ComponentChildren;
  variant?: 'primary' | 'danger' | 'plain' | 'small' | 'link';
  /** A name for screen readers when the visible words are not enough ("Remove" → "Remove Phone"). */
  label?: string;
  onError?: (err: unknown) => void;
  disabled?: boolean;
}

const CLASSES = { primary: 'btn btn-primary', danger: 'btn btn-danger', plain: 'btn', small: 'btn btn-small', link: 'link' } as const;

/** A button that runs async work once at a time and shows what went wrong. */
export function ActionButton({ action, children, variant = 'plain', label, onError, disabled = false }: ActionProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      if (onError) onError(err);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={CLASSES[variant]} onClick={run} disabled={busy || disabled} aria-label={label} aria-busy={busy}>
        {children}
      </button>
      {!onError && <ErrorBox error={error} />}
    </>
  );
}
