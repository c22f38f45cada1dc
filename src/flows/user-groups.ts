import { fail } from '../errors.js';
import type { Caller } from '../methods/types.js';
import { GROUP_NAME_RULE, MAX_GROUPS } from '../schemas/groups.js';
import type { Services } from '../services.js';
import { GROUP_NAME, ROLE_GROUPS } from '../store/groups.js';

/** Replace the groups, or add and remove some. */
export type GroupChange = { set: readonly string[] } | { add?: readonly string[]; remove?: readonly string[] };

export function checkGroupNames(names: readonly string[], field = 'groups'): void {
  for (const n of names) if (!GROUP_NAME.test(n)) fail('validation_failed', `${field}: group names are ${GROUP_NAME_RULE}`);
}

/** Names a user may be given as groups: a role name is given as the role (see ROLE_GROUPS). */
export function checkGivenGroups(names: readonly string[], field = 'groups'): void {
  checkGroupNames(names, field);
  const role = names.find((n) => ROLE_GROUPS.includes(n));
  if (role !== undefined) fail('validation_failed', `${field}: "${role}" is a role, not a group; change the user's role instead`);
}

/**
 * An administrator changes a user's groups (what forward-auth rules, `Remote-Groups` and the
 * OIDC `groups` claim see). Read, change and audit in one transaction under the user's row lock,
 * so two concurrent additions both land. Returns the groups afterwards.
 */
export async function changeGroups(
  s: Pick<Services, 'store' | 'users' | 'groups' | 'audit' | 'clock'>,
  userId: string,
  change: GroupChange,
  actor: string,
  caller: Caller,
): Promise<string[]> {
  // A role name may be removed (left from before it was refused), never given.
  checkGivenGroups('set' in change ? change.set : (change.add ?? []));
  checkGroupNames('set' in change ? [] : (change.remove ?? []));
  return s.store.db.transaction().execute(async (trx) => {
    const users = s.users.within(trx);
    if (!(await users.findById(userId))) fail('not_found', 'No such user');
    await users.lockRow(userId);
    const groups = s.groups.within(trx);
    const before = await groups.of(userId);
    let after: string[];
    if ('set' in change) after = [...new Set(change.set)];
    else {
      const removed = new Set(change.remove ?? []);
      after = [...new Set([...before, ...(change.add ?? [])])].filter((g) => !removed.has(g));
    }
    after.sort();
    if (after.length > MAX_GROUPS) fail('validation_failed', `A user has at most ${MAX_GROUPS} groups`);
    const added = after.filter((g) => !before.includes(g));
    const removed = before.filter((g) => !after.includes(g));
    if (added.length === 0 && removed.length === 0) return before;
    await groups.set(userId, after, s.clock.now());
    await s.audit.append(
      { type: 'user_groups_changed', userId, actor, ip: caller.ip, userAgent: caller.userAgent, detail: { groups: after.join(','), added: added.join(','), removed: removed.join(',') } },
      trx,
    );
    return after;
  });
}
