// Hash routes (`#/security`, `#/sign-in?rd=…`): the server and its mails link to them, so their
// shapes are part of the contract. Tokens from mailed links are taken out of the address at once
// and kept in memory only.
import { signal } from '@preact/signals';

export interface Route {
  path: string;
  params: URLSearchParams;
}

/** Tokens of mailed links (an invitation, a recovery, its cancel link), never left in the address or the history. */
export const linkTokens: { invite: string | null; recover: string | null; cancel: string | null } = { invite: null, recover: null, cancel: null };

function takeTokens(): void {
  const invite = /^#\/invite\/([A-Za-z0-9_-]{10,200})$/.exec(location.hash);
  if (invite?.[1]) {
    linkTokens.invite = invite[1];
    history.replaceState(null, '', '#/invite');
  }
  const recover = /^#\/recover(\/cancel)?\?token=([A-Za-z0-9_-]{20,200})$/.exec(location.hash);
  if (recover?.[2]) {
    if (recover[1]) linkTokens.cancel = recover[2];
    else linkTokens.recover = recover[2];
    history.replaceState(null, '', recover[1] ? '#/recover-cancel' : '#/recover');
  }
}

function parse(): Route {
  takeTokens();
  const m = /^#((?:\/[a-z0-9-]+)*\/?)(?:\?(.*))?$/.exec(location.hash);
  return { path: m?.[1] ?? '', params: new URLSearchParams(m?.[2] ?? '') };
}

export const route = signal<Route>(parse());

window.addEventListener('hashchange', () => {
  route.value = parse();
});

/** Goes to `path` (`/security`, `/admin/users?id=…`); the same path draws the page again. */
export function go(path: string): void {
  if (location.hash === `#${path}`) route.value = parse();
  else location.hash = `#${path}`;
}

/** Replaces the current address without a history entry (a redirect). */
export function replace(path: string): void {
  history.replaceState(null, '', `#${path}`);
  route.value = parse();
}

/** `/console/sign-in` and friends (links in mails and logs) land on their hash routes. */
export function mapPagePath(): void {
  const page = /^\/console\/(setup|sign-in|security|admin)$/.exec(location.pathname);
  if (page && !location.hash) {
    history.replaceState(null, '', `/console/${location.search}#/${page[1]}`);
    route.value = parse();
  }
}
