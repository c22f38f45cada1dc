import type { Transaction } from 'kysely';
import type { Store } from './db.js';
import type { Database } from './schema.js';

/** Group names: short, lower-case, safe in a comma-separated header and in a rule's `group:` subject. */
export const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * The roles, which every user's groups begin with (`Remote-Groups`, the `groups` claim, rule
 * subjects). A user is never given one as a group of their own: `group:admin` would then hold a
 * user who is no administrator, past the two-person rule that guards the role.
 */
export const ROLE_GROUPS: readonly string[] = ['admin', 'user'];

/** Users' groups (forward-auth `Remote-Groups` and rule subjects, the OIDC `groups` claim, client policies). */
export class GroupRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  within(trx: Transaction<Database>): GroupRepository {
    return new GroupRepository({ ...this.store, db: trx });
  }

  async of(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('user_groups').select('name').where('user_id', '=', userId).orderBy('name').execute();
    return rows.map((r) => r.name);
  }

  /**
   * The groups a user acts with: the role first (a group too), then their own. A role name among
   * their own (stored before role names were refused as groups) is not believed.
   */
  async withRole(user: { id: string; role: string }): Promise<string[]> {
    return [...new Set([user.role, ...(await this.of(user.id)).filter((g) => !ROLE_GROUPS.includes(g))])];
  }

  /** Every user's groups at once, for lists and exports. */
  async ofAll(): Promise<Map<string, string[]>> {
    const rows = await this.db.selectFrom('user_groups').select(['user_id', 'name']).orderBy('user_id').orderBy('name').execute();
    const map = new Map<string, string[]>();
    for (const r of rows) {
      const list = map.get(r.user_id);
      if (list) list.push(r.name);
      else map.set(r.user_id, [r.name]);
    }
    return map;
  }

  /** Replaces the user's groups with `names` (already checked against GROUP_NAME). */
  async set(userId: string, names: readonly string[], now: number): Promise<void> {
    await this.db.deleteFrom('user_groups').where('user_id', '=', userId).execute();
    const unique = [...new Set(names)];
    if (unique.length > 0) await this.db.insertInto('user_groups').values(unique.map((name) => ({ user_id: userId, name, created_at: now }))).execute();
  }
}
