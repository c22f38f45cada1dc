import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';

/**
 * `mamori user export` and `GET /api/v1/admin/users/export`: every user as a line of the import
 * format (docs/moving-in.md), without `password` and `totp`: no hash and no seed ever leaves
 * through it. `disabled` appears only when true, so a disabled account stays disabled when the
 * file is imported elsewhere.
 */
export async function exportUsers(s: Pick<Services, 'users' | 'groups' | 'audit'>, actor: string, caller: Caller): Promise<string> {
  const [users, groups] = await Promise.all([s.users.list(), s.groups.ofAll()]);
  const out: string[] = [];
  for (const u of users) {
    out.push(
      JSON.stringify({
        email: u.email,
        name: u.name,
        role: u.role,
        locale: u.locale,
        groups: groups.get(u.id) ?? [],
        ...(u.disabled ? { disabled: true } : {}),
      }),
    );
  }
  // Not a change, but every address leaving at once is worth a line in the security log.
  await s.audit.append({ type: 'users_exported', actor, ip: caller.ip, userAgent: caller.userAgent, detail: { users: users.length } });
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
