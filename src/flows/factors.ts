import type { Services } from '../services.js';

/** Active second factors of a user, in the registry's order. */
export async function enrolledFactors(s: Pick<Services, 'methods'>, userId: string): Promise<string[]> {
  const ids: string[] = [];
  for (const m of s.methods.secondFactors.values()) if (await m.isEnrolled(userId)) ids.push(m.id);
  return ids;
}
