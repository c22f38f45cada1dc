import { locale, t, type MessageKey } from '../../../i18n';

const SKIPS: Readonly<Record<string, MessageKey>> = { duplicate_serial: 'admin.skip.duplicate_serial' };

/** Why the import left a token out, in words (an unknown reason as the server wrote it). */
export const skipReason = (reason: string): string => {
  const key = SKIPS[reason];
  return key ? t(key) : reason;
};

/** "30 seconds", "30 秒". */
export const seconds = (n: number): string => new Intl.NumberFormat(locale(), { style: 'unit', unit: 'second', unitDisplay: 'long' }).format(n);
