// Two consecutive codes from one device (assigning an app or a token, resynchronizing): the
// server finds the pair in its window, which proves the device and its clock.
import { LocalError } from '../../../api/errors';
import { t } from '../../../i18n';
import { CodeField } from '../../../ui/field';
import { text } from '../../../ui/form';

export function TwoCodes({ digits, autoFocus = true }: { digits: readonly [number, number]; autoFocus?: boolean }) {
  return (
    <>
      <p class="hint">{t('mfa.twoCodesHint')}</p>
      <CodeField label={t('mfa.code1')} name="code1" digits={digits} autoFocus={autoFocus} />
      <CodeField label={t('mfa.code2')} name="code2" digits={digits} />
    </>
  );
}

/** The pair from a submitted form; the same code twice is refused here, in words, before the server says "invalid". */
export function readTwoCodes(data: FormData): { code1: string; code2: string } {
  const code1 = text(data, 'code1');
  const code2 = text(data, 'code2');
  if (code1 === code2) throw new LocalError(t('mfa.codesEqual'));
  return { code1, code2 };
}
