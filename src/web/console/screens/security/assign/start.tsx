// The wizard's first two steps: the device's name, then what kind of device it is, each kind
// with the words that explain it.
import { useState } from 'preact/hooks';
import { t } from '../../../i18n';
import { Field } from '../../../ui/field';
import { Form, text } from '../../../ui/form';
import { useId } from '../../../ui/ids';
import { CancelButton } from '../parts';
import type { Kind } from './kinds';

// Fields here keep what is typed in state: the wizard draws again under them (a step-up dialog
// opening, the factors arriving) and must not put back what it started with.
export function NameStep({ name, onNext, onCancel }: { name: string; onNext: (name: string) => void; onCancel: () => void }) {
  const [value, setValue] = useState(name);
  return (
    <Form submitLabel={t('common.next')} secondary={<CancelButton onClick={onCancel} />} onSubmit={(data) => onNext(text(data, 'name'))}>
      <Field
        label={t('mfa.deviceName')}
        name="name"
        value={value}
        onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
        maxLength={100}
        autoComplete="off"
        hint={t('assign.nameHint')}
      />
    </Form>
  );
}

/** The whole box is the label (a big target); the name is the title alone, the words its description. */
function Choice({ kind, checked, onPick }: { kind: Kind; checked: boolean; onPick: (path: string) => void }) {
  const id = useId('kind');
  const textId = `${id}-text`;
  const titleId = `${id}-title`;
  return (
    <div class="choice">
      <input type="radio" name="kind" id={id} value={kind.path} checked={checked} onChange={() => onPick(kind.path)} required aria-labelledby={titleId} aria-describedby={kind.text ? textId : undefined} />
      <label for={id}>
        <span class="choice-title" id={titleId}>
          {kind.label}
        </span>
        {kind.text && (
          <span class="choice-text" id={textId}>
            {kind.text}
          </span>
        )}
      </label>
    </div>
  );
}

export function ChooseStep({ kinds, chosen, onNext, onBack }: { kinds: readonly Kind[]; chosen: string; onNext: (path: string) => Promise<unknown>; onBack: () => void }) {
  const [picked, setPicked] = useState(chosen);
  return (
    <Form
      submitLabel={t('common.next')}
      secondary={<CancelButton onClick={onBack}>{t('common.back')}</CancelButton>}
      onSubmit={() => onNext(picked)}
    >
      <fieldset class="choices">
        <legend>{t('assign.kindLegend')}</legend>
        {kinds.map((k) => (
          <Choice key={k.path} kind={k} checked={k.path === picked} onPick={setPicked} />
        ))}
      </fieldset>
    </Form>
  );
}
