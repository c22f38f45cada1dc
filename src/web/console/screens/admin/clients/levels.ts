import { t } from '../../../i18n';

/** The levels a client may demand (src/flows/levels.ts ACR_VALUES); none means a password is enough. */
export const LEVELS = ['', 'urn:mamori:aal2', 'urn:mamori:phr'] as const;

export function levelName(acr: string | null): string {
  if (acr === 'urn:mamori:phr') return t('admin.clientLevel.phr');
  if (acr === 'urn:mamori:aal2') return t('admin.clientLevel.aal2');
  return t('admin.clientLevel.any');
}
