import type { ComponentChildren } from 'preact';

export interface Column<R> {
  label: string;
  cell: (row: R) => ComponentChildren;
  /** The row's name: the card's heading on a phone. */
  primary?: boolean;
  /** Buttons: right-aligned, and on a phone a row of their own. */
  actions?: boolean;
}

/**
 * A table on wide screens; below 600 px each row becomes a card, each cell labelled by its
 * column (CSS, from `data-label`), so nothing scrolls sideways and no button is off-screen.
 */
export function Table<R>({ caption, columns, rows, rowKey, empty }: { caption: string; columns: readonly Column<R>[]; rows: readonly R[]; rowKey: (row: R) => string; empty?: string }) {
  if (rows.length === 0 && empty) return <p class="muted empty">{empty}</p>;
  return (
    // Explicit roles: below 600 px the cells are display:block, which makes some browsers drop the
    // table from the accessibility tree; the roles keep rows, headers and cells announced.
    <table class="table cards" role="table">
      <caption class="visually-hidden">{caption}</caption>
      <thead role="rowgroup">
        <tr role="row">
          {columns.map((c) => (
            <th scope="col" role="columnheader" class={c.actions ? 'col-actions' : undefined}>
              {c.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody role="rowgroup">
        {rows.map((row) => (
          <tr key={rowKey(row)} role="row">
            {columns.map((c) =>
              c.primary ? (
                <th scope="row" role="rowheader" data-label={c.label} class="cell-primary">
                  {c.cell(row)}
                </th>
              ) : (
                <td role="cell" data-label={c.label} class={c.actions ? 'col-actions' : undefined}>
                  {c.cell(row)}
                </td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
