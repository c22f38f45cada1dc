import type { ComponentChildren, TargetedEvent } from 'preact';
import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { ErrorBox } from './alert';

/**
 * The browser's own validation bubbles speak the browser's language, not the page's: the
 * message is set here from the input's validity, in the user's language.
 */
function localizeValidity(e: Event): void {
  const input = e.target;
  if (!(input instanceof HTMLInputElement)) return;
  const v = input.validity;
  input.setCustomValidity('');
  let text = '';
  if (v.valueMissing) text = t('validation.required');
  else if (v.typeMismatch && input.type === 'email') text = t('validation.email');
  else if (input.dataset.digits && (v.patternMismatch || v.tooShort || v.tooLong)) text = t('validation.code', { digits: input.dataset.digits });
  else if (v.tooShort) text = t('validation.tooShort', { n: input.minLength });
  if (text) input.setCustomValidity(text);
}

function clearValidity(e: Event): void {
  if (e.target instanceof HTMLInputElement) e.target.setCustomValidity('');
}

export interface FormProps {
  /** Gets the form's fields; a rejection is shown under the form in the user's words. */
  onSubmit: (data: FormData, form: HTMLFormElement) => Promise<unknown> | unknown;
  submitLabel: string;
  children: ComponentChildren;
  /** More buttons beside the submit button (cancel, back). */
  secondary?: ComponentChildren;
  /** Clears the fields after a successful submit. */
  resetOnSuccess?: boolean;
  class?: string;
  danger?: boolean;
}

/** A form that submits once at a time, shows its error, and keeps its fields on failure. */
export function Form({ onSubmit, submitLabel, children, secondary, resetOnSuccess = false, class: cls, danger = false }: FormProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: TargetedEvent<HTMLFormElement, SubmitEvent>) => {
    e.preventDefault();
    if (busy) return;
    const formEl = e.currentTarget;
    setBusy(true);
    setError(null);
    try {
      await onSubmit(new FormData(formEl), formEl);
      if (resetOnSuccess && formEl.isConnected) formEl.reset();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class={cls ? `form ${cls}` : 'form'} onSubmit={submit} onInvalidCapture={localizeValidity} onInputCapture={clearValidity} aria-busy={busy}>
      {children}
      <ErrorBox error={error} />
      <div class="form-actions">
        <button type="submit" class={danger ? 'btn btn-danger' : 'btn btn-primary'} disabled={busy}>
          {submitLabel}
        </button>
        {secondary}
      </div>
    </form>
  );
}

/** The trimmed text of a field of a submitted form. */
export const text = (data: FormData, name: string): string => String(data.get(name) ?? '').trim();
