// The console's one state store. Nothing here is secret or written to storage: codes, passwords
// and tokens live only in the components (and the few tokens from mailed links, in memory).
// Every change the user makes calls `changed()`, and every panel that loaded data with `useLoad`
// loads it again, so no panel shows what was true before the change.
import { signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { call, client, whenSessionEnds } from '../api/client';
import { t } from '../i18n';

export const loadSession = () => call(client.GET('/api/v1/session'));
export const loadFactors = () => call(client.GET('/api/v1/factors'));

export type Session = Awaited<ReturnType<typeof loadSession>>;
export type Factors = Awaited<ReturnType<typeof loadFactors>>;
export type Factor = Factors['factors'][number];

/** First run: no user yet, only the setup page. */
export const setupNeeded = signal(false);
/** GET /api/v1/session, or null while signed out. */
export const session = signal<Session | null>(null);
/** GET /api/v1/factors: what each factor asks for and how its devices are assigned (public). */
export const factors = signal<Factors | null>(null);
/** Bumped by every change; everything loaded with `useLoad` loads again. */
export const revision = signal(0);

export type NoticeKind = 'info' | 'success' | 'warning';
/** A one-time word for the next page ("You have signed out"), already in the user's words. */
export const notice = signal<{ kind: NoticeKind; text: string } | null>(null);

/** Something changed on the server: reload every panel, and the session (its level and methods may have moved). */
export function changed(): void {
  revision.value++;
  void refreshSession();
}

export async function refreshSession(): Promise<void> {
  try {
    session.value = await loadSession();
  } catch {
    session.value = null;
  }
}

let factorsLoading: Promise<Factors | null> | null = null;
/** GET /api/v1/factors once per page (asked again next time when it failed). */
export function ensureFactors(): Promise<Factors | null> {
  factorsLoading ??= loadFactors().then(
    (f) => (factors.value = f),
    () => {
      factorsLoading = null;
      return null;
    },
  );
  return factorsLoading;
}

// A signed-in request found the session gone (it ran out, or was revoked elsewhere).
whenSessionEnds(() => {
  if (session.value === null) return;
  session.value = null;
  notice.value = { kind: 'info', text: t('signIn.sessionEnded') };
});

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
}

/**
 * Data for a panel: loaded on mount, again when `deps` change and after every `changed()`. The
 * last data stays on screen while it reloads, so panels do not flicker.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[] = []): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: null, loading: true });
  const rev = revision.value;
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error: unknown) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `load` is a new closure each render; deps name what it reads
  }, [rev, ...deps]);
  return state;
}
