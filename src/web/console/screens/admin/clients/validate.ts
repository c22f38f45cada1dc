// The server's rules for a client (src/flows/oidc-clients.ts), checked here first so a mistake is
// named in the user's words and points at the address or group that is wrong.
import { LocalError } from '../../../api/errors';
import { t } from '../../../i18n';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MAX_URIS = 20;
const MAX_GROUPS = 50;

/** The addresses of a text box, one a line (or separated by spaces), each checked. */
export function redirectUris(text: string, required: boolean): string[] {
  const uris = text.split(/\s+/).filter(Boolean);
  if (required && uris.length === 0) throw new LocalError(t('admin.clientUriRequired'));
  if (uris.length > MAX_URIS) throw new LocalError(t('admin.clientUriTooMany', { n: MAX_URIS }));
  for (const uri of uris) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new LocalError(t('admin.clientUriInvalid', { uri }));
    }
    if (url.hash || uri.includes('#')) throw new LocalError(t('admin.clientUriFragment', { uri }));
    if (url.username || url.password) throw new LocalError(t('admin.clientUriCredentials', { uri }));
    // Mamori itself on http (a test or a laptop) allows http everywhere, as the server does.
    const httpAllowed = LOOPBACK.has(url.hostname) || location.protocol === 'http:';
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && httpAllowed)) throw new LocalError(t('admin.clientUriHttps', { uri }));
  }
  return uris;
}

/** "ops, sre" → ["ops", "sre"], each a valid group name. */
export function groupNames(text: string): string[] {
  const names = [...new Set(text.split(/[\s,、]+/).filter(Boolean))];
  if (names.length > MAX_GROUPS) throw new LocalError(t('admin.clientGroupsTooMany', { n: MAX_GROUPS }));
  const bad = names.find((g) => !GROUP_NAME.test(g));
  if (bad !== undefined) throw new LocalError(t('admin.clientGroupInvalid', { group: bad }));
  return names;
}
