// The audit log's filters live in the address (#/admin/audit?user=…&type=…&from=…&to=…), so the
// back button and a shared link show the same events.
export interface AuditFilter {
  userId?: string;
  type?: string;
  /** ISO times of the minutes the user chose; `to` includes its whole minute. */
  from?: string;
  to?: string;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$/;
const TYPE = /^[a-z0-9_]{1,100}$/;

export function filterFrom(params: URLSearchParams): AuditFilter {
  const f: AuditFilter = {};
  const user = params.get('user');
  const type = params.get('type');
  const from = params.get('from');
  const to = params.get('to');
  if (user && user.length <= 64) f.userId = user;
  if (type && TYPE.test(type)) f.type = type;
  if (from && ISO.test(from)) f.from = from;
  if (to && ISO.test(to)) f.to = to;
  return f;
}

export function filterPath(f: AuditFilter): string {
  const q = new URLSearchParams();
  if (f.userId) q.set('user', f.userId);
  if (f.type) q.set('type', f.type);
  if (f.from) q.set('from', f.from);
  if (f.to) q.set('to', f.to);
  const s = q.toString();
  return s ? `/admin/audit?${s}` : '/admin/audit';
}

export const isFiltered = (f: AuditFilter): boolean => Boolean(f.userId || f.type || f.from || f.to);

/** The filters as the API takes them: the server's `to` is exclusive, so one minute on. */
export function apiFilter(f: AuditFilter): { userId?: string; type?: string; from?: string; to?: string } {
  return {
    ...(f.userId ? { userId: f.userId } : {}),
    ...(f.type ? { type: f.type } : {}),
    ...(f.from ? { from: f.from } : {}),
    ...(f.to ? { to: new Date(Date.parse(f.to) + 60_000).toISOString() } : {}),
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An ISO time as a datetime-local input shows it (the browser's time zone). */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (local time) as ISO, or undefined when empty or unreadable. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
