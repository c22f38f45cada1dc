// The audit log's filters: a user (by email, suggested from the user list), an event type (in
// words), and a time range. Applying them changes the address; the list follows it.
import { LocalError } from '../../../api/errors';
import { CATALOGS } from '../../../i18n/catalogs';
import { lang, locale, t, tKnown } from '../../../i18n';
import { go } from '../../../router';
import { Form, text } from '../../../ui/form';
import { useId } from '../../../ui/ids';
import { filterPath, fromLocalInput, isFiltered, toLocalInput, type AuditFilter } from './query';

export interface UserRef {
  id: string;
  email: string;
}

/** Every event type the console has words for, sorted by those words. */
function eventTypes(): { type: string; label: string }[] {
  const types = new Set<string>();
  for (const c of CATALOGS) for (const k of Object.keys(c.en)) if (k.startsWith('event.')) types.add(k.slice('event.'.length));
  return [...types].map((type) => ({ type, label: tKnown(`event.${type}`, type) })).sort((a, b) => a.label.localeCompare(b.label, locale()));
}

function TimeField({ name, label, value }: { name: string; label: string; value: string | undefined }) {
  const id = useId(name);
  return (
    <div class="field">
      <label for={id}>
        {label}
        <span class="optional"> {t('common.optional')}</span>
      </label>
      <input id={id} name={name} type="datetime-local" class="input" value={toLocalInput(value)} />
    </div>
  );
}

export function Filters({ filter, users }: { filter: AuditFilter; users: readonly UserRef[] }) {
  const userId = useId('audit-user');
  const listId = useId('audit-users');
  const typeId = useId('audit-type');
  const current = users.find((u) => u.id === filter.userId)?.email ?? filter.userId ?? '';
  return (
    // A new filter (or language) draws the form again with its values.
    <Form
      key={`${filterPath(filter)}|${lang.value}`}
      class="audit-filters"
      submitLabel={t('admin.auditApply')}
      secondary={
        isFiltered(filter) ? (
          <button type="button" class="btn" onClick={() => go('/admin/audit')}>
            {t('admin.auditClear')}
          </button>
        ) : undefined
      }
      onSubmit={(data) => {
        const email = text(data, 'user').toLowerCase();
        const user = email ? users.find((u) => u.email.toLowerCase() === email || u.id === email) : undefined;
        if (email && !user) throw new LocalError(t('admin.auditNoSuchUser', { email }));
        const from = fromLocalInput(text(data, 'from'));
        const to = fromLocalInput(text(data, 'to'));
        if (from && to && from > to) throw new LocalError(t('admin.auditRangeBackwards'));
        const type = text(data, 'type');
        go(filterPath({ ...(user ? { userId: user.id } : {}), ...(type ? { type } : {}), ...(from ? { from } : {}), ...(to ? { to } : {}) }));
      }}
    >
      <div class="audit-filter-fields">
        <div class="field">
          <label for={userId}>
            {t('admin.auditUser')}
            <span class="optional"> {t('common.optional')}</span>
          </label>
          <input id={userId} name="user" type="text" class="input" list={listId} value={current} autoComplete="off" spellcheck={false} autoCapitalize="none" />
          <datalist id={listId}>
            {users.map((u) => (
              <option value={u.email} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for={typeId}>{t('admin.auditType')}</label>
          <select id={typeId} name="type" value={filter.type ?? ''}>
            <option value="">{t('admin.auditAllTypes')}</option>
            {eventTypes().map((e) => (
              <option value={e.type}>{e.label}</option>
            ))}
          </select>
        </div>
        <TimeField name="from" label={t('admin.auditFrom')} value={filter.from} />
        <TimeField name="to" label={t('admin.auditTo')} value={filter.to} />
      </div>
    </Form>
  );
}
