import type { Session } from '../store/schema.js';

/** The OpenID Connect `acr` values, lowest first. `phr` (phishing-resistant) implies aal 2. */
export const ACR_VALUES = ['urn:mamori:aal1', 'urn:mamori:aal2', 'urn:mamori:phr'] as const;
export type Acr = (typeof ACR_VALUES)[number];

/** A level as a rank: 1 (password), 2 (a second factor), 3 (a phishing-resistant one). */
export function rankOf(acr: Acr): 1 | 2 | 3 {
  return acr === 'urn:mamori:phr' ? 3 : acr === 'urn:mamori:aal2' ? 2 : 1;
}

export function isAcr(value: unknown): value is Acr {
  return typeof value === 'string' && (ACR_VALUES as readonly string[]).includes(value);
}

export interface SessionLevel {
  aal: 1 | 2;
  phishingResistant: boolean;
  acr: Acr;
  amr: string[];
}

/** What a session proves: the one reading of levels that forward-auth and OpenID Connect share. */
export function sessionLevel(session: Pick<Session, 'aal' | 'amr' | 'phr_verified_at'>): SessionLevel {
  const aal = session.aal >= 2 ? 2 : 1;
  const phishingResistant = aal === 2 && session.phr_verified_at !== null;
  return { aal, phishingResistant, acr: phishingResistant ? 'urn:mamori:phr' : aal === 2 ? 'urn:mamori:aal2' : 'urn:mamori:aal1', amr: JSON.parse(session.amr) as string[] };
}

/** Whether a session's level meets a required one. */
export function meets(level: SessionLevel, required: Acr): boolean {
  return rankOf(level.acr) >= rankOf(required);
}
