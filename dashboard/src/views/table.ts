// A plain data table that rebuilds its body only when the rows' text changes, so a
// finished test's tables stay still (and selectable) while events keep arriving.

import { h, replaceChildren } from '../dom';

export interface Row {
  /** Cell texts; the first is the row header. */
  cells: string[];
  /** Extra attributes for the <tr>, e.g. data-testid. */
  attrs?: Record<string, string>;
}

export class DataTable {
  readonly element: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly head: HTMLTableSectionElement;
  private readonly body: HTMLTableSectionElement;
  private lastHead = '';
  private lastBody = '';

  constructor(caption: string, attrs: Record<string, string> = {}) {
    this.head = h('thead');
    this.body = h('tbody');
    this.table = h('table', { class: 'data', ...attrs }, h('caption', {}, caption), this.head, this.body);
    this.element = h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': caption }, this.table);
  }

  update(columns: string[], rows: Row[]): void {
    const headKey = JSON.stringify(columns);
    if (headKey !== this.lastHead) {
      this.lastHead = headKey;
      replaceChildren(this.head, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c))));
    }
    const bodyKey = JSON.stringify(rows);
    if (bodyKey === this.lastBody) return;
    this.lastBody = bodyKey;
    replaceChildren(
      this.body,
      rows.map((r) =>
        h(
          'tr',
          r.attrs ?? {},
          r.cells.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c))),
        ),
      ),
    );
  }
}
