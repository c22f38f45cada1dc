// Modal dialogs on the native <dialog>: the browser keeps focus inside and Escape closes. When
// one closes, focus goes back to what opened it (or to the page's heading when that is gone).
import { signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../i18n';
import { useId } from './ids';

export interface DialogProps {
  title: string;
  onClose: () => void;
  /** While locked, neither Escape nor a close button ends it (recovery codes not yet saved). */
  locked?: boolean;
  wide?: boolean;
  children: ComponentChildren;
}

function restoreFocus(opener: Element | null): void {
  // After the dialog is gone from the page, else the browser puts focus on the body.
  setTimeout(() => {
    if (document.querySelector('dialog[open]')) return;
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    else document.querySelector<HTMLElement>('main h1')?.focus();
  }, 0);
}

export function Dialog({ title, onClose, locked = false, wide = false, children }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const titleId = useId('dialog-title');
  useEffect(() => {
    const opener = document.activeElement;
    const dlg = ref.current;
    if (dlg && !dlg.open) dlg.showModal();
    // The first field of the dialog takes focus if it has one; else the title, so it is read first.
    const first = dlg?.querySelector<HTMLElement>('input:not([type=hidden]), select, textarea');
    (first ?? headingRef.current)?.focus();
    return () => restoreFocus(opener);
  }, []);
  return (
    <dialog
      ref={ref}
      class={wide ? 'dialog dialog-wide' : 'dialog'}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        if (!locked) onClose();
      }}
    >
      <div class="dialog-head">
        <h2 id={titleId} class="dialog-title" tabIndex={-1} ref={headingRef}>
          {title}
        </h2>
        {!locked && (
          <button type="button" class="btn-icon" aria-label={t('common.close')} onClick={onClose}>
            ×
          </button>
        )}
      </div>
      <div class="dialog-body">{children}</div>
    </dialog>
  );
}

interface Entry {
  id: number;
  node: (close: (value?: unknown) => void) => ComponentChildren;
  resolve: (value: unknown) => void;
}

const open = signal<readonly Entry[]>([]);
let seq = 0;

function closeEntry(entry: Entry, value?: unknown): void {
  open.value = open.value.filter((e) => e.id !== entry.id);
  entry.resolve(value);
}

/**
 * Opens a dialog from code (a step-up asked for in the middle of an action) and resolves with
 * the value it closes with (undefined when dismissed). `render` gets `close`.
 */
export function showDialog<T>(render: (close: (value?: T) => void) => ComponentChildren): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve) => {
    const entry: Entry = { id: ++seq, node: (close) => render(close), resolve: (v) => resolve(v as T | undefined) };
    open.value = [...open.value, entry];
  });
}

/** Closes every dialog opened from code (the session ended under them). */
export function closeAllDialogs(): void {
  for (const e of open.value) closeEntry(e);
}

/** Where dialogs opened from code are drawn; the app shell mounts it once. */
export function DialogHost() {
  return (
    <>
      {open.value.map((e) => (
        <div key={e.id}>{e.node((v) => closeEntry(e, v))}</div>
      ))}
    </>
  );
}
