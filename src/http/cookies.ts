import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';

export const SESSION_COOKIE = 'mamori_session';
export const SIGN_IN_COOKIE = 'mamori_signin';

/** How the session cookie is set: `Secure` on an https public URL, for the cookie domain when one is configured. */
export interface SessionCookieSettings {
  secure: boolean;
  domain?: string;
}

export function sessionCookieSettings(config: Pick<Config, 'publicUrl' | 'cookieDomain'>): SessionCookieSettings {
  const secure = config.publicUrl.startsWith('https:');
  return config.cookieDomain === undefined ? { secure } : { secure, domain: config.cookieDomain };
}

/** A browser-session cookie: the server enforces the idle and absolute limits itself. */
export function setSessionCookie(reply: FastifyReply, token: string, c: SessionCookieSettings): void {
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/', ...c });
}

export function clearSessionCookie(reply: FastifyReply, c: SessionCookieSettings): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', path: '/', ...c });
}

export function setSignInCookie(reply: FastifyReply, token: string, secure: boolean): void {
  reply.setCookie(SIGN_IN_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/api/v1/sign-in', secure, maxAge: 300 });
}

export function clearSignInCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SIGN_IN_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/api/v1/sign-in', secure });
}

export function readCookie(req: FastifyRequest, name: string): string | undefined {
  // Parsed on first use and kept on the request (@fastify/cookie runs with `hook: false`).
  req.cookies ??= req.headers.cookie ? req.server.parseCookie(req.headers.cookie) : {};
  const v = req.cookies[name];
  return v && v.length <= 256 ? v : undefined;
}

export const BROWSER_COOKIE = 'mamori_browser';

/**
 * The long-lived browser cookie (src/flows/known-browsers.ts): random, only its hash is stored.
 * Host-only and for the whole site; Lax so that arriving from a mailed link still sends it.
 */
export function setBrowserCookie(reply: FastifyReply, token: string, secure: boolean, maxAgeSeconds: number): void {
  reply.setCookie(BROWSER_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/', secure, maxAge: maxAgeSeconds });
}

export const REMEMBER_COOKIE = 'mamori_remember';

/**
 * "Remember this browser" (src/flows/remembered-browsers.ts): a random token, only its hash is
 * stored. Sent only to the sign-in steps (the password step is where it stands in for the second
 * factor); Lax like the sign-in itself; it lives exactly as long as the grant.
 */
export function setRememberCookie(reply: FastifyReply, token: string, secure: boolean, maxAgeSeconds: number): void {
  reply.setCookie(REMEMBER_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/api/v1/sign-in', secure, maxAge: maxAgeSeconds });
}

export function clearRememberCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(REMEMBER_COOKIE, { httpOnly: true, sameSite: 'lax', path: '/api/v1/sign-in', secure });
}
