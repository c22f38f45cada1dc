// "Disable bob@example.com?", "Remove Work phone?", "Delete Grafana?": the one yes/no dialog of
// the console. The answer runs the act from the dialog itself, so a refusal (or the step-up it
// may need first) is shown where it was asked.
import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { ErrorBox } from './alert';
import { ActionButton } from './button';
import { Dialog, showDialog } from './dialog';

export interface ConfirmOptions {
  title: string;
  /** One paragraph, or several. */
  text: string | readonly string[];
  confirmLabel: string;
  danger?: boolean;
  action: () => Promise<unknown>;
}

function ConfirmDialog({ title, text, confirmLabel, danger = false, action, onDone, onCancel }: ConfirmOptions & { onDone: () => void; onCancel: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const lines = typeof text === 'string' ? [text] : text;
  return (
    <Dialog title={title} onClose={onCancel}>
      {lines.map((line) => (
        <p>{line}</p>
      ))}
      <ErrorBox error={error} />
      <div class="form-actions">
        <ActionButton
          variant={danger ? 'danger' : 'primary'}
          onError={setError}
          action={async () => {
            setError(null);
            await action();
            onDone();
          }}
        >
          {confirmLabel}
        </ActionButton>
        <button type="button" class="btn" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </Dialog>
  );
}

/** Asks, and runs `action` on yes; resolves true when it ran, false when the dialog was dismissed. */
export function confirmAct(opts: ConfirmOptions): Promise<boolean> {
  return showDialog<boolean>((close) => <ConfirmDialog {...opts} onDone={() => close(true)} onCancel={() => close(false)} />).then((v) => v === true);
}
