// Every refusal in the user's words. The server's `detail` is English: it is shown only in
// English and only when the code has no words of its own, never under a Japanese title.
import { ApiError, Cancelled, LocalError } from '../api/errors';
import { fmtWait, has, lang, t, tKnown } from '../i18n';

/** The lines to show for an error: a main line, and maybe one that says more. */
export function describeError(err: unknown): string[] {
  if (err instanceof ApiError) {
    if (err.status === 0) return [t('problem.network_error')];
    if (err.code === 'too_many_attempts' || err.status === 429) {
      return [err.retryAfter ? t('problem.retryAfter', { wait: fmtWait(err.retryAfter) }) : t('problem.too_many_attempts')];
    }
    const code = err.code ?? '';
    const main = code && has(`problem.${code}`) ? tKnown(`problem.${code}`, '') : '';
    const reason = typeof err.problem.reason === 'string' ? tKnown(`problem.${code}.${err.problem.reason}`, '') : '';
    if (main) return reason ? [main, reason] : [main];
    const detail = lang.value === 'en' && typeof err.problem.detail === 'string' ? [err.problem.detail] : [];
    return [t('problem.status', { status: err.status }), ...detail];
  }
  if (err instanceof LocalError) return [err.message];
  if (err instanceof DOMException || (err instanceof Error && err.name.endsWith('Error'))) {
    // WebAuthn ceremonies fail with DOMExceptions named by the spec.
    const text = tKnown(`webauthn.${err.name}`, '');
    if (text) return [text];
  }
  return [t('problem.unexpected')];
}

/** Whether an error is worth showing at all (a closed dialog is not). */
export const shown = (err: unknown): boolean => err !== null && err !== undefined && !(err instanceof Cancelled);
