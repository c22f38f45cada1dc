import { fieldLabel, valueText, type Who } from './values';

/** An event's detail as a short list of named values (the raw event is in the export). */
export function Detail({ detail, who }: { detail: Readonly<Record<string, unknown>>; who: Who }) {
  const entries = Object.entries(detail);
  if (entries.length === 0) return <span class="muted">—</span>;
  return (
    <dl class="audit-detail">
      {entries.map(([k, v]) => (
        <div>
          <dt>{fieldLabel(k)}</dt>
          <dd>{valueText(k, v, who)}</dd>
        </div>
      ))}
    </dl>
  );
}
