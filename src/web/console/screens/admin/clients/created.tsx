// A new application's settings for its configuration: the issuer, its client ID and, for a
// confidential client, the secret — shown here once and never again (the server keeps it sealed).
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../../i18n';
import { Alert } from '../../../ui/alert';

export interface NewClient {
  name: string;
  clientId: string;
  clientSecret?: string;
}

/** Copies a value; where the browser refuses (no clipboard on plain http), says to select it instead. */
function CopyButton({ value, label }: { value: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <>
      <button type="button" class="btn btn-small" aria-label={label} onClick={() => void copy()}>
        {t('admin.copy')}
      </button>
      <span class={state === 'failed' ? 'copy-note copy-failed' : 'copy-note'} role="status">
        {state === 'copied' ? t('admin.copied') : state === 'failed' ? t('admin.copyFailed') : ''}
      </span>
    </>
  );
}

function Value({ term, value, copyLabel, secret = false }: { term: string; value: string; copyLabel: string; secret?: boolean }) {
  return (
    <div class="created-value">
      <dt>{term}</dt>
      <dd>
        <code class={secret ? 'secret' : undefined}>{value}</code>
        <CopyButton value={value} label={copyLabel} />
      </dd>
    </div>
  );
}

export function Created({ made, onDone }: { made: NewClient; onDone: () => void }) {
  const top = useRef<HTMLDivElement>(null);
  // The form that had focus is gone: the news (and the warning) is read first, from the top of
  // the dialog (which kept the long form's scroll position).
  useEffect(() => {
    top.current?.focus({ preventScroll: true });
    top.current?.closest('dialog')?.scrollTo(0, 0);
  }, []);
  return (
    <div class="created" ref={top} tabIndex={-1}>
      {made.clientSecret !== undefined ? (
        <Alert kind="warning" title={t('admin.clientSecretOnce')}>
          <p>{t('admin.clientSecretWhere', { name: made.name })}</p>
        </Alert>
      ) : (
        <Alert kind="success" title={t('admin.clientPublicMade', { name: made.name })} />
      )}
      <dl class="created-values">
        <Value term={t('admin.clientIssuer')} value={location.origin} copyLabel={t('admin.copyIssuer')} />
        <Value term={t('admin.clientId')} value={made.clientId} copyLabel={t('admin.copyClientId')} />
        {made.clientSecret !== undefined && <Value term={t('admin.clientSecret')} value={made.clientSecret} copyLabel={t('admin.copySecret')} secret />}
      </dl>
      <div class="form-actions">
        <button type="button" class="btn btn-primary" onClick={onDone}>
          {t('common.done')}
        </button>
      </div>
    </div>
  );
}
