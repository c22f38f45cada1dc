// New recovery codes, shown once: copy, download, print, and "I have saved these" before the
// dialog may close. While they are on screen, printing the page prints only them.
import { useEffect, useState } from 'preact/hooks';
import { fmtDate, t } from '../../../i18n';
import { session } from '../../../store';
import { Alert } from '../../../ui/alert';
import { useId } from '../../../ui/ids';
import { saveFile } from '../../../ui/download';

const FILE = 'mamori-recovery-codes.txt';


/** An element with text, for the print sheet (outside the app's tree, so built by hand). */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, ...children: Node[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  e.append(...children);
  return e;
}

/**
 * The sheet the print stylesheet shows instead of the page (security.css), beside the app's
 * root: a modal dialog cannot be printed alone, but everything but this sheet can be hidden.
 */
function usePrintSheet(codes: readonly string[], email: string): void {
  useEffect(() => {
    const list = el('ol', undefined, ...codes.map((c) => el('li', undefined, el('code', c))));
    list.className = 'print-codes';
    const sheet = el('div', undefined, el('h1', t('recovery.fileHeading')), el('p', email), el('p', fmtDate(new Date().toISOString())), list, el('p', t('recovery.explain')));
    sheet.className = 'print-sheet';
    document.body.append(sheet);
    document.documentElement.classList.add('print-codes');
    return () => {
      document.documentElement.classList.remove('print-codes');
      sheet.remove();
    };
  }, [codes, email]);
}

export function RecoveryCodes({ codes, onDone }: { codes: readonly string[]; onDone: () => void }) {
  const [saved, setSaved] = useState(false);
  const [status, setStatus] = useState('');
  const checkId = useId('saved');
  const email = session.value?.user.email ?? '';
  usePrintSheet(codes, email);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      setStatus(t('recovery.copied'));
    } catch {
      setStatus(t('recovery.copyFailed'));
    }
  };
  const download = () => {
    saveFile(FILE, [t('recovery.fileHeading'), email, new Date().toISOString(), '', ...codes, ''].join('\n'), 'text/plain;charset=utf-8');
    setStatus(t('recovery.downloaded'));
  };
  return (
    <>
      <Alert kind="warning">
        <p>{t('recovery.onceWarning')}</p>
      </Alert>
      <p>{t('recovery.explain')}</p>
      <ol class="codes" aria-label={t('recovery.title')}>
        {codes.map((c) => (
          <li>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <div class="form-actions">
        <button type="button" class="btn" onClick={() => void copy()}>
          {t('recovery.copy')}
        </button>
        <button type="button" class="btn" onClick={download}>
          {t('recovery.download')}
        </button>
        <button type="button" class="btn" onClick={() => window.print()}>
          {t('recovery.print')}
        </button>
      </div>
      <p class="muted" role="status">
        {status}
      </p>
      <div class="check">
        <input type="checkbox" id={checkId} checked={saved} onChange={(e) => setSaved(e.currentTarget.checked)} />
        <label for={checkId}>{t('recovery.saved')}</label>
      </div>
      <div class="form-actions">
        <button type="button" class="btn btn-primary" disabled={!saved} onClick={onDone}>
          {t('common.done')}
        </button>
      </div>
    </>
  );
}
