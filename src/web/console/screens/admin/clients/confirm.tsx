import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { t } from '../../../i18n';
import { ErrorBox } from '../../../ui/alert';
import { ActionButton } from '../../../ui/button';
import { Dialog } from '../../../ui/dialog';

/** "Delete Grafana?": the act runs from the dialog, so a refusal is shown where it was asked. */
export function ConfirmDialog({ title, confirmLabel, onConfirm, onCancel, children }: { title: string; confirmLabel: string; onConfirm: () => Promise<void>; onCancel: () => void; children: ComponentChildren }) {
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog title={title} onClose={onCancel}>
      {children}
      <ErrorBox error={error} />
      <div class="form-actions">
        <ActionButton variant="danger" action={async () => {
            setError(null);
            await onConfirm();
          }}
          onError={setError}
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
