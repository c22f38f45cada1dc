import { ApiError, LocalError } from '../../api/errors';
import { t, type MessageKey } from '../../i18n';

/** The server says "code" for any token it does not know: here that is the mailed link. */
export async function linkRefusal<T>(request: Promise<T>, words: MessageKey): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'invalid_code') throw new LocalError(t(words));
    throw err;
  }
}
