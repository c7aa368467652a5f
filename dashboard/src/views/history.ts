// Test history: one row per test with its final (or current) statistics and a link to
// its JSON report. Choosing a row shows that test in the live view; ticking two ended tests
// compares them (views/compare.ts).

import type { Api } from '../api';
import { h, setAttr, setText, syncKeyed } from '../dom';
import { DASH, fmtDateTime, fmtInt, fmtMs, fmtRate, fmtShortDateTime, fmtTestType } from '../format';
import { totalErrors } from '../stats';
import { HISTORY_PAGE, historyTests, shownTestId, type State, type Store } from '../store';
import type { TestView } from '../types';
import { mountCompare } from './compare';

export interface HistoryDeps {
  api: Api;
  store: Store;
  select(id: string): void;
}

const COLUMNS = ['Test', 'Created', 'Type', 'Status', 'Requests', 'Rate', 'p50', 'p99', 'Errors', 'Report', 'Compare'];

export function mountHistory(root: HTMLElement, deps: HistoryDeps): void {
  const body = h('tbody');
  const cache = new Map<string, HTMLTableRowElement>();
  const more = h('button', { type: 'button', class: 'secondary', 'data-testid': 'history-more' }, 'Show older tests');
  const empty = h('p', { class: 'empty', 'data-testid': 'history-empty' }, 'No tests yet.');
  const table = h(
    'table',
    { class: 'data history-table' },
    h('caption', { class: 'visually-hidden' }, 'Tests, newest first'),
    h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    body,
  );
  root.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'history-title', 'data-testid': 'history' },
      h('h2', { id: 'history-title' }, 'History'),
      empty,
      h('div', { class: 'table-scroll' }, table),
      more,
    ),
  );
  const compare = mountCompare(deps.api);
  root.append(compare.element);
  // The ticked tests, oldest tick first; at most two (a third tick replaces the oldest).
  let picked: string[] = [];
  const pickedTests = (): TestView[] => {
    const tests = historyTests(deps.store.get());
    return picked.map((id) => tests.find((t) => t.id === id)).filter((t): t is TestView => t !== undefined);
  };
  function pick(id: string, on: boolean): void {
    picked = picked.filter((p) => p !== id);
    if (on) picked.push(id);
    if (picked.length > 2) picked = picked.slice(-2);
    for (const [rowId, row] of cache) {
      const box = row.querySelector<HTMLInputElement>('input[type=checkbox]');
      if (box) box.checked = picked.includes(rowId);
    }
    compare.show(pickedTests());
  }
  more.addEventListener('click', () => {
    const state = deps.store.get();
    deps.store.dispatch({ type: 'history-limit', limit: state.historyLimit + HISTORY_PAGE });
  });

  function create(t: TestView): HTMLTableRowElement {
    const view = h('button', { type: 'button', class: 'link', 'aria-label': `Show test ${t.id}`, title: t.id }, t.id);
    view.addEventListener('click', (e) => {
      e.stopPropagation();
      deps.select(t.id);
    });
    const report = h('a', { 'data-testid': `report-link-${t.id}`, download: `onslaught-${t.id}.json` }, 'JSON');
    report.addEventListener('click', (e) => e.stopPropagation());
    const box = h('input', {
      type: 'checkbox',
      'data-testid': `compare-pick-${t.id}`,
      'aria-label': `Compare test ${t.id}`,
    });
    box.addEventListener('click', (e) => e.stopPropagation());
    box.addEventListener('change', () => pick(t.id, box.checked));
    const row = h(
      'tr',
      { 'data-testid': `history-row-${t.id}`, class: 'clickable' },
      h('th', { scope: 'row' }, view),
      ...COLUMNS.slice(1, -2).map(() => h('td')),
      h('td', {}, report, h('span', { class: 'muted' }, DASH)),
      h('td', {}, box),
    );
    row.addEventListener('click', () => deps.select(t.id));
    return row;
  }

  function update(row: HTMLTableRowElement, t: TestView, shownId: string | null): void {
    const cells = [...row.children] as HTMLElement[];
    const agg = t.aggregate;
    const hasLatency = (agg?.latency?.count ?? 0) > 0;
    const texts = [
      fmtShortDateTime(t.created_at_ms),
      fmtTestType(t.config?.test_type),
      t.status,
      fmtInt(agg?.requests_sent ?? 0),
      fmtRate(agg?.rps),
      hasLatency && agg.latency ? fmtMs(agg.latency.median) : DASH,
      hasLatency && agg.latency ? fmtMs(agg.latency.p99) : DASH,
      fmtInt(totalErrors(agg)),
    ];
    texts.forEach((text, i) => setText(cells[i + 1]!, text));
    // Only an ended test with a report can be compared.
    const box = cells[cells.length - 1]!.querySelector('input')!;
    box.disabled = !t.report_path;
    setAttr(cells[1]!, 'title', fmtDateTime(t.created_at_ms));
    cells[3]!.className = `status status-${t.status}`;
    setAttr(row, 'data-status', t.status);
    setAttr(row, 'aria-current', t.id === shownId ? 'true' : null);
    const reportCell = cells[cells.length - 2]!;
    const link = reportCell.querySelector('a')!;
    const none = reportCell.querySelector('span')!;
    link.hidden = !t.report_path;
    none.hidden = !!t.report_path;
    if (t.report_path) setAttr(link, 'href', deps.api.reportUrl(t.id));
    else setAttr(link, 'href', null);
    setAttr(link, 'aria-label', `Download the JSON report of test ${t.id}`);
  }

  function render(state: State): void {
    const tests = historyTests(state);
    const shownId = shownTestId(state);
    empty.hidden = tests.length > 0;
    table.hidden = tests.length === 0;
    more.hidden = tests.length >= state.total;
    syncKeyed(body, tests, (t) => t.id, create, (row, t) => update(row, t, shownId), cache);
  }

  render(deps.store.get());
  deps.store.subscribe((state, prev) => {
    if (
      state.tests !== prev.tests ||
      state.order !== prev.order ||
      state.selectedId !== prev.selectedId ||
      state.total !== prev.total
    ) {
      render(state);
    }
  });
}
