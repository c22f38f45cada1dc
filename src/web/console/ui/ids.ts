import { useMemo } from 'preact/hooks';

let seq = 0;
/** An id unique in the page, stable for the component's life (labels, descriptions, headings). */
export function useId(prefix: string): string {
  return useMemo(() => `${prefix}-${++seq}`, [prefix]);
}
