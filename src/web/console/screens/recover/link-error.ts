import { ApiError, LocalError } from '../../api/errors';
import { t, type MessageKey } from '../../i18n';
import { linkTokens, route } from '../../router';

/** The token of a mailed link, read again when the route changes (another link opened in this tab). */
export function useLinkToken(kind: keyof typeof linkTokens): string | null {
  // Reading the route subscribes the page to it: the token itself is not a signal.
  return route.value && linkTokens[kind];
}

/** The server says "code" for any token it does not know: here that is the mailed link. */
export async function linkRefusal<T>(request: Promise<T>, words: MessageKey): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'invalid_code') throw new LocalError(t(words));
    throw err;
  }
}
