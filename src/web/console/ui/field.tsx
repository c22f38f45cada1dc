import { useId } from './ids';
import { t } from '../i18n';

/** The input attributes the console's fields use. */
interface InputProps {
  type?: 'text' | 'email' | 'password' | 'search' | 'url' | 'number';
  autoComplete?: string;
  inputMode?: 'numeric' | 'text' | 'email' | 'url' | 'search';
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  spellcheck?: boolean;
  autoCapitalize?: 'none' | 'off' | 'sentences' | 'words';
  placeholder?: string;
  value?: string;
  disabled?: boolean;
  readOnly?: boolean;
  onInput?: (e: Event) => void;
  'data-digits'?: string;
}

export interface FieldProps extends InputProps {
  label: string;
  name: string;
  hint?: string;
  /** Marks the field optional in its label (fields are required unless said). */
  optional?: boolean;
  mono?: boolean;
  /** Focus this field when it first appears (the first field of a step). */
  autoFocus?: boolean;
}

/** Focus a field the first time it appears, not at every render. */
function focusOnce(el: HTMLInputElement | null): void {
  if (el && !el.dataset.focused) {
    el.dataset.focused = '1';
    el.focus();
  }
}

/** A labelled input with its hint tied to it (aria-describedby), required unless `optional`. */
export function Field({ label, name, hint, optional = false, mono = false, autoFocus = false, type = 'text', ...input }: FieldProps) {
  const id = useId(name);
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>
        {label}
        {optional && <span class="optional"> {t('common.optional')}</span>}
      </label>
      <input
        id={id}
        name={name}
        // Preact types inputs as a union keyed by `type`; the attribute is the same for each.
        type={type as 'text'}
        class={mono ? 'input mono' : 'input'}
        required={!optional}
        aria-describedby={hintId}
        ref={autoFocus ? focusOnce : undefined}
        {...input}
      />
      {hint && (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      )}
    </div>
  );
}

/** A one-time code input: digits only, the phone's number pad, the browser's one-time-code autofill. */
export function CodeField({ label, name = 'code', digits = [6, 6], hint, autoFocus }: { label: string; name?: string; digits?: readonly [number, number]; hint?: string; autoFocus?: boolean }) {
  const [min, max] = digits;
  return (
    <Field
      label={label}
      name={name}
      hint={hint}
      mono
      autoFocus={autoFocus}
      inputMode="numeric"
      autoComplete="one-time-code"
      pattern={`[0-9]{${min},${max}}`}
      minLength={min}
      maxLength={max}
      spellcheck={false}
      data-digits={min === max ? String(min) : `${min}–${max}`}
    />
  );
}
