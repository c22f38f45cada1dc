import type { User } from '../../store/schema.js';

export function userView(u: User) {
  return { id: u.id, email: u.email, name: u.name, role: u.role, locale: u.locale, createdAt: new Date(u.created_at).toISOString() };
}
