// Comparing two tests from the history: the person ticks two ended tests, the older is the base
// and the newer the new run; the orchestrator judges every metric (GET
// /api/tests/{new}/compare?base={base}, the same verdicts as `onslaught compare`) and this panel
// shows its rows, its rows per request name (tests with flows) and a link to the comparison page.

import type { Api } from '../api';
import { h, setText } from '../dom';
import { DASH, fmtFixed, fmtMs, fmtNum, fmtRate } from '../format';
import type { ComparisonRow, ComparisonView, TestView } from '../types';

/** The value of a row in its metric's unit. */
export function fmtCompared(metric: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  if (metric === 'throughput') return fmtRate(value);
  if (metric === 'error_rate') return `${fmtFixed(value * 100, 2)}%`;
  return fmtMs(value);
}

/** The change from base to new: percentage points for the error rate, else relative. */
export function fmtChange(row: ComparisonRow): string {
  const { base, new: next } = row;
  if (base === null || base === undefined || next === null || next === undefined) return DASH;
  if (row.metric === 'error_rate') {
    const pp = (next - base) * 100;
    return `${pp >= 0 ? '+' : ''}${fmtFixed(pp, 2)}pp`;
  }
  if (base === 0) return next === 0 ? '0' : DASH;
  const pct = ((next - base) / base) * 100;
  return `${pct >= 0 ? '+' : ''}${fmtNum(pct, 1)}%`;
}

/** Which runs a request name is in, as the panel says it. */
export function presence(p: string): string {
  if (p === 'base_only') return 'base run only';
  if (p === 'new_only') return 'new run only';
  return 'both runs';
}

/** Base and new of two picked tests: the one created first is the base. */
export function orderPicked(a: TestView, b: TestView): { base: TestView; next: TestView } {
  return a.created_at_ms <= b.created_at_ms ? { base: a, next: b } : { base: b, next: a };
}

export interface ComparePanel {
  /** The panel's element. */
  element: HTMLElement;
  /** Shows the comparison of the picked tests (fewer than two: how to pick them). */
  show(picked: TestView[]): void;
}

export function mountCompare(api: Api): ComparePanel {
  const hint = h('p', { class: 'muted', 'data-testid': 'compare-hint' }, 'Tick two ended tests to compare them.');
  const title = h('p', { 'data-testid': 'compare-title' });
  const verdict = h('p', { 'data-testid': 'compare-verdict' });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'data', 'data-testid': 'compare-table' },
    h('caption', { class: 'visually-hidden' }, 'Each metric of both runs and its verdict'),
    h(
      'thead',
      {},
      h('tr', {}, ['Metric', 'Base', 'New', 'Change', 'Tolerance', 'Verdict'].map((c) => h('th', { scope: 'col' }, c))),
    ),
    body,
  );
  const nameBody = h('tbody');
  const nameTable = h(
    'table',
    { class: 'data', 'data-testid': 'compare-name-table' },
    h('caption', { class: 'visually-hidden' }, 'Each request name of both runs and its verdict'),
    h(
      'thead',
      {},
      h('tr', {}, ['Request', 'In', 'Metric', 'Base', 'New', 'Change', 'Tolerance', 'Verdict'].map((c) => h('th', { scope: 'col' }, c))),
    ),
    nameBody,
  );
  const page = h('a', { 'data-testid': 'compare-page', target: '_blank', rel: 'noopener' }, 'Comparison page');
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'compare-error' });
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': 'compare-heading', 'data-testid': 'compare' },
    h('h2', { id: 'compare-heading' }, 'Compare'),
    hint,
    title,
    verdict,
    h('div', { class: 'table-scroll' }, table),
    h('div', { class: 'table-scroll' }, nameTable),
    page,
    error,
  );
  let asked = '';

  function reset(showHint: boolean): void {
    hint.hidden = !showHint;
    title.hidden = verdict.hidden = table.hidden = nameTable.hidden = page.hidden = error.hidden = true;
  }

  function render(view: ComparisonView): void {
    setText(title, `Base ${view.base} → new ${view.new}`);
    const regressed = view.regressions.length > 0;
    setText(verdict, regressed ? `Regression: ${view.regressions.join(', ')}` : 'No regression.');
    verdict.className = regressed ? 'status status-failed' : 'status status-completed';
    body.replaceChildren(
      ...view.rows.map((row) =>
        h(
          'tr',
          { 'data-testid': `compare-row-${row.metric}`, 'data-verdict': row.verdict },
          h('th', { scope: 'row' }, row.metric),
          h('td', {}, fmtCompared(row.metric, row.base)),
          h('td', {}, fmtCompared(row.metric, row.new)),
          h('td', {}, fmtChange(row)),
          h('td', {}, row.tolerance ?? DASH),
          h('td', {}, row.verdict === 'regression' ? 'REGRESSION' : row.verdict),
        ),
      ),
    );
    const names = view.by_name ?? [];
    nameBody.replaceChildren(
      ...names.flatMap((name) =>
        name.rows.map((row) =>
          h(
            'tr',
            { 'data-testid': `compare-name-row-${name.name}-${row.metric}`, 'data-verdict': row.verdict, 'data-presence': name.presence },
            h('th', { scope: 'row' }, name.name),
            h('td', {}, presence(name.presence)),
            h('td', {}, row.metric),
            h('td', {}, fmtCompared(row.metric, row.base)),
            h('td', {}, fmtCompared(row.metric, row.new)),
            h('td', {}, fmtChange(row)),
            h('td', {}, row.tolerance ?? DASH),
            h('td', {}, row.verdict === 'regression' ? 'REGRESSION' : row.verdict),
          ),
        ),
      ),
    );
    page.setAttribute('href', api.comparePageUrl(view.new, view.base));
    title.hidden = verdict.hidden = table.hidden = page.hidden = false;
    nameTable.hidden = names.length === 0;
  }

  function show(picked: TestView[]): void {
    if (picked.length !== 2) {
      asked = '';
      reset(true);
      return;
    }
    const { base, next } = orderPicked(picked[0]!, picked[1]!);
    const key = `${base.id}|${next.id}`;
    if (key === asked) return;
    asked = key;
    reset(false);
    api.compareTests(next.id, base.id).then(
      (view) => {
        if (asked === key) render(view);
      },
      (e: unknown) => {
        if (asked !== key) return;
        setText(error, e instanceof Error ? e.message : String(e));
        error.hidden = false;
      },
    );
  }

  reset(true);
  return { element, show };
}
