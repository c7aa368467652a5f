// The live view of one test: status, requests sent per driver, throughput and latency
// over time, aggregate and per-driver statistics, errors and status codes, Stop.

import type { Api } from '../api';
import { LineChart } from '../charts';
import { h, replaceChildren, setAttr, setText, syncKeyed } from '../dom';
import {
  DASH,
  fmtBytes,
  fmtDateTime,
  fmtDuration,
  fmtInt,
  fmtMs,
  fmtNum,
  fmtPercent,
  fmtRate,
} from '../format';
import { latencyData, nameSeries, nodeIdsOf, requestNames, settledPoints, throughputData, usersData, withTarget } from '../series';
import {
  checksText,
  connectErrors,
  describeConfig,
  FLOW_COLUMNS,
  flowRows,
  REQUEST_COLUMNS,
  requestRows,
  driverStanding,
  elapsedMs,
  errorRows,
  progress,
  startedLate,
  startOffset,
  statusRows,
  successRatio,
  SUMMARY_COLUMNS,
  summaryCells,
  takeoverLines,
  changeableLoad,
  loadChangeLines,
  totalErrors,
} from '../stats';
import { shownTest, shownTestId, type State, type Store } from '../store';
import { thresholdLines } from '../thresholds';
import { isActive, type StatsView, type TestView } from '../types';
import { DataTable, type Row } from './table';

export interface LiveDeps {
  api: Api;
  store: Store;
  /** Shows another test (null: follow the current one). */
  select(id: string | null): void;
}

/** " Error causes: connect: connection refused (os error 111) × 12." or nothing. */
const errorCauses = (agg: StatsView | undefined): string => {
  const causes = Object.entries(agg?.error_reasons ?? {});
  if (causes.length === 0) return '';
  return ` Error causes: ${causes.map(([cause, n]) => `${cause} × ${fmtInt(n)}`).join('; ')}.`;
};

/** Pieces of the view that exist while one test is shown. */
interface Shown {
  id: string;
  title: HTMLElement;
  status: HTMLElement;
  subtitle: HTMLElement;
  message: HTMLElement;
  warnings: HTMLElement;
  actionError: HTMLElement;
  startBtn: HTMLButtonElement;
  stopBtn: HTMLButtonElement;
  followBtn: HTMLButtonElement;
  report: HTMLAnchorElement;
  /** Sets a new rate on a running tsunami at a constant rate, or new users on a running
   * avalanche with constant users (hidden otherwise). */
  rateForm: HTMLFormElement;
  rateInput: HTMLInputElement;
  rateSplit: HTMLSelectElement;
  /** What the form changes: `rate` or `users` (its labels follow). */
  rateKind: 'rate' | 'users';
  rateLabel: HTMLElement;
  rateUnit: HTMLElement;
  /** Which requests the latency chart draws: all (`''`) or one request name's. */
  latencyName: HTMLSelectElement;
  rateBtn: HTMLButtonElement;
  /** The test's load changes and takeovers, one line each. */
  loadChanges: HTMLElement;
  tiles: Record<string, HTMLElement>;
  progressBar: HTMLProgressElement;
  progressLabel: HTMLElement;
  driverRows: HTMLElement;
  /** The thresholds' pass/fail list (hidden without thresholds). */
  thresholds: HTMLElement;
  driverCache: Map<string, HTMLElement>;
  throughput: LineChart;
  /** Users running beside the users curve (an avalanche with stages; hidden otherwise). */
  users: LineChart;
  usersFigure: HTMLElement;
  latency: LineChart;
  aggregate: DataTable;
  /** Locust's per-request table (hidden for a test of one request). */
  requests: DataTable;
  /** The flows' iterations (hidden without flows). */
  flows: DataTable;
  /** Checks passed and failed (hidden without checks). */
  checks: HTMLElement;
  /** What holds `requests`, `flows` and `checks`. */
  perRequest: HTMLElement;
  nodes: DataTable;
  errors: DataTable;
  statuses: DataTable;
  extra: HTMLElement;
  freshness: HTMLElement;
  fresh: Freshness;
  /** A start or stop request is in flight. */
  busy: boolean;
}

/**
 * How fresh the shown data is: at each render of a test update that carries newer metrics, the
 * time since the driver sent them (`Date.now() - last_metrics_sent_at_ms`). Exact when the
 * drivers and this browser share a clock (one machine); otherwise it includes the clock offset.
 */
interface Freshness {
  /** `last_metrics_sent_at_ms` of the last update measured. */
  sentAt: number | null;
  /** Updates measured since this test was first shown. */
  samples: number;
  /** Lag of the latest update, ms. */
  latest: number | null;
  /**
   * Worst lag, ms, leaving out the first update (on load it may be a snapshot fetched while the
   * page was starting, which says nothing about how fast updates arrive).
   */
  max: number | null;
  /** Date.now() of the latest update measured. */
  at: number;
}

/** Past this age without newer metrics, a running test's data is called out as stale. */
const STALE_AFTER_MS = 2_000;

export function mountLive(root: HTMLElement, deps: LiveDeps): void {
  const section = h('section', { class: 'card live', 'data-testid': 'live-view', 'aria-labelledby': 'live-title' });
  root.append(section);
  let shown: Shown | null = null;
  let emptyFor: string | undefined;
  const follow = h('button', { type: 'button', class: 'secondary', 'data-testid': 'follow-current' }, 'Show the current test');
  follow.addEventListener('click', () => deps.select(null));

  function render(state: State): void {
    setAttr(section, 'data-last-update-ms', state.lastEventMs === null ? null : String(state.lastEventMs));
    const id = shownTestId(state);
    const test = shownTest(state);
    setAttr(section, 'data-test-id', test ? test.id : null);
    setAttr(section, 'data-status', test ? test.status : null);
    if (!test) {
      showFreshness(null);
      shown?.throughput.destroy();
      shown?.users.destroy();
      shown?.latency.destroy();
      shown = null;
      const key = `${id}:${id !== null && state.missing.includes(id)}`;
      if (emptyFor !== key || section.childElementCount === 0) {
        emptyFor = key;
        replaceChildren(
          section,
          h('h2', { id: 'live-title' }, 'Live view'),
          h(
            'p',
            { class: 'empty', 'data-testid': 'live-empty' },
            id === null
              ? 'No test yet. Create one with the form.'
              : state.missing.includes(id)
                ? `Test ${id} was not found.`
                : `Loading test ${id}…`,
          ),
          id === null ? null : follow,
        );
      }
      return;
    }
    emptyFor = undefined;
    if (!shown || shown.id !== test.id) {
      shown?.throughput.destroy();
      shown?.users.destroy();
      shown?.latency.destroy();
      shown = build(test.id);
      showFreshness(null);
    }
    update(shown, test, state);
  }

  /** Puts the freshness figures on the live view element, for scripts and browser tests. */
  function showFreshness(f: Freshness | null): void {
    setAttr(section, 'data-freshness-ms', f?.latest == null ? null : String(f.latest));
    setAttr(section, 'data-freshness-max-ms', f?.max == null ? null : String(f.max));
    setAttr(section, 'data-freshness-samples', f ? String(f.samples) : null);
  }

  /** Measures an update that carries newer metrics than the last one shown. */
  function measure(s: Shown, test: TestView, now: number): void {
    const sentAt = test.last_metrics_sent_at_ms;
    if (typeof sentAt !== 'number' || sentAt === s.fresh.sentAt) return;
    const lag = now - sentAt;
    const f = s.fresh;
    f.sentAt = sentAt;
    f.samples += 1;
    f.latest = lag;
    f.at = now;
    if (f.samples > 1) f.max = Math.max(f.max ?? lag, lag);
    showFreshness(f);
  }

  /** "lag 120 ms" while updates flow, "updated 5 s ago" when they stall; only while active. */
  function freshnessText(s: Shown, test: TestView, now: number): void {
    const f = s.fresh;
    const show = isActive(test.status) && f.sentAt !== null && f.latest !== null;
    s.freshness.hidden = !show;
    if (!show) return;
    const age = now - f.sentAt!;
    setText(
      s.freshness,
      now - f.at > STALE_AFTER_MS ? `updated ${fmtDuration(Math.max(0, age))} ago` : `lag ${fmtInt(Math.max(0, f.latest!))} ms`,
    );
    setAttr(
      s.freshness,
      'title',
      'Time from a driver sending its newest statistics to this page showing them' +
        (f.max === null ? '' : ` (worst so far ${fmtInt(Math.max(0, f.max))} ms)`),
    );
  }

  function build(id: string): Shown {
    const tile = (key: string, label: string) => {
      const value = h('dd', { 'data-testid': `tile-${key}` }, DASH);
      return { value, el: h('div', { class: 'tile' }, h('dt', {}, label), value) };
    };
    const tileDefs: [string, string][] = [
      ['sent', 'Requests sent'],
      ['responses', 'Responses'],
      ['errors', 'Errors'],
      ['rps', 'Achieved rate'],
      ['p50', 'Latency p50'],
      ['p99', 'Latency p99'],
      ['elapsed', 'Elapsed'],
      ['success', 'Success (< 500)'],
    ];
    const tiles: Record<string, HTMLElement> = {};
    const tileEls = tileDefs.map(([k, label]) => {
      const t = tile(k, label);
      tiles[k] = t.value;
      return t.el;
    });

    const s: Shown = {
      id,
      title: h('h2', { id: 'live-title' }),
      status: h('span', { class: 'status', 'data-testid': 'live-status', role: 'status' }),
      subtitle: h('p', { class: 'subtitle', 'data-testid': 'live-config' }),
      message: h('p', { class: 'message', 'data-testid': 'live-message', hidden: true }),
      warnings: h('p', { class: 'message', role: 'note', 'data-testid': 'live-warnings', hidden: true }),
      actionError: h('p', { class: 'form-error', role: 'alert', 'data-testid': 'live-error', hidden: true }),
      startBtn: h('button', { type: 'button', 'data-testid': 'start-button' }, 'Start'),
      stopBtn: h('button', { type: 'button', class: 'danger', 'data-testid': 'stop-button' }, 'Stop'),
      followBtn: h(
        'button',
        { type: 'button', class: 'secondary', 'data-testid': 'follow-current' },
        'Follow current test',
      ),
      report: h('a', { class: 'button secondary', 'data-testid': 'live-report-link' }, 'Download report (JSON)'),
      rateForm: h('form', { class: 'rate-change', 'data-testid': 'rate-form', 'aria-label': 'Change the load' }),
      rateKind: 'rate',
      rateLabel: h('span', {}, 'New rate '),
      rateUnit: h('span', {}, ' req/s '),
      rateInput: h('input', {
        type: 'number',
        min: '0.001',
        step: 'any',
        required: true,
        'aria-label': 'New rate, requests per second',
        'data-testid': 'rate-input',
      }),
      rateSplit: h(
        'select',
        { 'aria-label': 'Whose rate', 'data-testid': 'rate-split' },
        h('option', { value: 'driver' }, 'per driver'),
        h('option', { value: 'total' }, 'in total'),
      ),
      rateBtn: h('button', { type: 'submit', 'data-testid': 'rate-button' }, 'Set rate'),
      latencyName: h(
        'select',
        { 'aria-label': 'Latency of which requests', 'data-testid': 'latency-name', hidden: true },
        h('option', { value: '' }, 'all requests'),
      ),
      loadChanges: h('ul', { class: 'load-changes', 'data-testid': 'load-changes', 'aria-label': 'Load changes' }),
      tiles,
      progressBar: h('progress', { max: '1', 'aria-label': 'Progress', 'data-testid': 'live-progress' }),
      progressLabel: h('span', { class: 'progress-label' }),
      driverRows: h('tbody'),
      thresholds: h('ul', { class: 'thresholds', 'data-testid': 'live-thresholds', 'aria-label': 'Thresholds' }),
      driverCache: new Map(),
      throughput: null as unknown as LineChart,
      users: null as unknown as LineChart,
      usersFigure: null as unknown as HTMLElement,
      latency: null as unknown as LineChart,
      aggregate: new DataTable('All drivers together', { 'data-testid': 'aggregate-table' }),
      requests: new DataTable('Each request name, all drivers together', { 'data-testid': 'request-table' }),
      flows: new DataTable('Each flow, all drivers together', { 'data-testid': 'flow-table' }),
      checks: h('p', { class: 'hint', 'data-testid': 'live-checks' }),
      perRequest: h('div', { 'data-testid': 'per-request', hidden: true }),
      nodes: new DataTable('Each driver', { 'data-testid': 'node-table' }),
      errors: new DataTable('Errors by kind', { 'data-testid': 'error-table' }),
      statuses: new DataTable('Status codes', { 'data-testid': 'status-table' }),
      extra: h('p', { class: 'hint', 'data-testid': 'live-extra' }),
      freshness: h('span', { class: 'freshness', 'data-testid': 'live-freshness', hidden: true }),
      fresh: { sentAt: null, samples: 0, latest: null, max: null, at: 0 },
      busy: false,
    };

    s.stopBtn.addEventListener('click', () => act(s, () => deps.api.stopTest(id)));
    s.startBtn.addEventListener('click', () => act(s, () => deps.api.startTest(id)));
    s.followBtn.addEventListener('click', () => deps.select(null));
    s.rateForm.append(h('label', {}, s.rateLabel, s.rateInput, s.rateUnit), s.rateSplit, ' ', s.rateBtn);
    s.latencyName.addEventListener('change', () => render(deps.store.get()));
    s.rateForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = Number(s.rateInput.value);
      const total = s.rateSplit.value === 'total';
      const change =
        s.rateKind === 'users'
          ? total
            ? { users_total: value }
            : { users: value }
          : total
            ? { rate_total: value }
            : { rate: value };
      void act(s, () => deps.api.changeLoad(id, change));
    });

    const throughputHost = h('div', {
      class: 'chart',
      'data-testid': 'throughput-chart',
      role: 'img',
      'aria-label': 'Requests sent per second over time, in total and per driver',
    });
    const usersHost = h('div', {
      class: 'chart',
      'data-testid': 'users-chart',
      role: 'img',
      'aria-label': 'Virtual users running per second over time, and the stages target',
    });
    s.usersFigure = h('figure', { hidden: true }, h('figcaption', {}, 'Virtual users (running, all drivers, and the target)'), usersHost);
    const latencyHost = h('div', {
      class: 'chart',
      'data-testid': 'latency-chart',
      role: 'img',
      'aria-label': 'Latency percentiles p50, p95 and p99 per second over time',
    });

    replaceChildren(
      section,
      h(
        'header',
        { class: 'live-head' },
        h('div', { class: 'live-title' }, s.title, s.status, s.freshness),
        h('div', { class: 'actions' }, s.followBtn, s.startBtn, s.stopBtn, s.report),
      ),
      s.subtitle,
      s.message,
      s.warnings,
      s.actionError,
      s.rateForm,
      s.loadChanges,
      h('div', { class: 'progress' }, s.progressBar, s.progressLabel),
      h('dl', { class: 'tiles' }, tileEls),
      s.thresholds,
      h('h3', {}, 'Requests sent per driver'),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'data drivers-table', 'data-testid': 'driver-requests' },
          h('caption', { class: 'visually-hidden' }, 'Requests sent by each driver, updated live'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Driver'),
              h('th', { scope: 'col' }, 'Sent'),
              h('th', { scope: 'col', class: 'bar-col' }, 'Share of target'),
              h('th', { scope: 'col' }, 'Rate'),
            ),
          ),
          s.driverRows,
        ),
      ),
      h(
        'div',
        { class: 'charts' },
        h('figure', {}, h('figcaption', {}, 'Throughput (requests sent per second)'), throughputHost),
        h('figure', {}, h('figcaption', {}, 'Latency per second (ms) of ', s.latencyName), latencyHost),
        s.usersFigure,
      ),
      s.perRequest,
      h('h3', {}, 'Latency'),
      s.aggregate.element,
      s.nodes.element,
      s.extra,
      h('div', { class: 'counts' }, s.errors.element, s.statuses.element),
    );

    replaceChildren(s.perRequest, h('h3', {}, 'Requests'), s.requests.element, s.checks, s.flows.element);

    s.throughput = new LineChart(throughputHost, {
      height: 220,
      format: (v) => fmtNum(v, 0),
      counts: true,
      emptyText: 'No requests sent yet.',
      styles: {
        total: { stroke: 'var(--fg)', width: 2.5, label: 'total' },
        errors: { stroke: '#d62728', width: 1.5, dash: [6, 4], label: 'errors' },
        target: { stroke: '#7f7f7f', width: 1.5, dash: [2, 3], label: 'target' },
      },
    });
    s.users = new LineChart(usersHost, {
      height: 220,
      format: (v) => fmtNum(v, 1),
      emptyText: 'No users running yet.',
      styles: {
        users: { stroke: 'var(--fg)', width: 2.5, label: 'users' },
        target: { stroke: '#7f7f7f', width: 1.5, dash: [2, 3], label: 'target' },
      },
    });
    s.latency = new LineChart(latencyHost, {
      height: 220,
      format: (v) => fmtMs(v),
      emptyText: 'No responses yet.',
      styles: {
        p50: { stroke: '#0072b2', width: 2 },
        p95: { stroke: '#e69f00', width: 2 },
        p99: { stroke: '#d55e00', width: 2 },
      },
    });
    return s;
  }

  async function act(s: Shown, call: () => Promise<TestView>): Promise<void> {
    s.busy = true;
    s.startBtn.disabled = s.stopBtn.disabled = s.rateBtn.disabled = true;
    s.actionError.hidden = true;
    try {
      const test = await call();
      deps.store.dispatch({ type: 'test-updated', test });
    } catch (error) {
      setText(s.actionError, error instanceof Error ? error.message : String(error));
      s.actionError.hidden = false;
    } finally {
      s.busy = false;
      render(deps.store.get());
    }
  }

  function update(s: Shown, test: TestView, state: State): void {
    const now = Date.now();
    measure(s, test, now);
    freshnessText(s, test, now);
    const cfg = test.config;
    const active = isActive(test.status);
    const drivers = nodeIdsOf(test);

    setText(s.title, `Test ${test.id}`);
    setText(s.status, test.status);
    s.status.className = `status status-${test.status}`;
    setText(s.subtitle, describeConfig(test, drivers.length));
    setText(s.message, test.message ?? '');
    s.message.hidden = !test.message;
    const warnings = test.warnings ?? [];
    setText(s.warnings, warnings.map((w) => `Warning: ${w}`).join(' '));
    s.warnings.hidden = warnings.length === 0;

    s.followBtn.hidden = state.selectedId === null;
    s.startBtn.hidden = test.status !== 'created';
    s.stopBtn.hidden = !active;
    s.startBtn.disabled = s.stopBtn.disabled = s.rateBtn.disabled = s.busy;
    // A running tsunami at a constant rate can change it, an avalanche with constant users its
    // users; stages follow their curve.
    const changeable = changeableLoad(cfg);
    s.rateForm.hidden = !(test.status === 'running' && changeable);
    if (changeable && changeable !== s.rateKind) {
      s.rateKind = changeable;
      const users = changeable === 'users';
      setText(s.rateLabel, users ? 'New users ' : 'New rate ');
      setText(s.rateUnit, users ? ' users ' : ' req/s ');
      setText(s.rateBtn, users ? 'Set users' : 'Set rate');
      setAttr(s.rateInput, 'min', users ? '1' : '0.001');
      setAttr(s.rateInput, 'step', users ? '1' : 'any');
      setAttr(s.rateInput, 'aria-label', users ? 'New virtual users' : 'New rate, requests per second');
      setAttr(s.rateSplit, 'aria-label', users ? 'Whose users' : 'Whose rate');
    }
    const changes = loadChangeLines(test);
    const takeovers = takeoverLines(test);
    s.loadChanges.hidden = changes.length === 0 && takeovers.length === 0;
    replaceChildren(s.loadChanges, [
      ...changes.map((line) => h('li', { 'data-testid': 'load-change' }, line)),
      ...takeovers.map((line) => h('li', { 'data-testid': 'takeover' }, line)),
    ]);
    s.stopBtn.setAttribute('aria-label', `Stop test ${test.id}`);
    s.startBtn.setAttribute('aria-label', `Start test ${test.id}`);
    s.report.hidden = !test.report_path;
    if (test.report_path) {
      setAttr(s.report, 'href', deps.api.reportUrl(test.id));
      setAttr(s.report, 'download', `onslaught-${test.id}.json`);
    }

    const lines = thresholdLines(test, active);
    s.thresholds.hidden = lines.length === 0;
    replaceChildren(
      s.thresholds,
      lines.map((l) =>
        h(
          'li',
          { class: `threshold threshold-${l.verdict}`, 'data-testid': 'threshold' },
          h('span', { class: 'verdict' }, l.verdict === 'pending' ? 'waiting' : l.verdict),
          ' ',
          h('code', {}, l.expression),
          ` measured ${l.measured}`,
        ),
      ),
    );

    const agg: StatsView | undefined = test.aggregate;
    setText(s.tiles.sent!, fmtInt(agg?.requests_sent ?? 0));
    setText(s.tiles.responses!, fmtInt(agg?.responses_received ?? 0));
    setText(s.tiles.errors!, fmtInt(totalErrors(agg)));
    setText(s.tiles.rps!, fmtRate(agg?.rps));
    setText(s.tiles.p50!, agg?.latency?.count ? fmtMs(agg.latency.median) : DASH);
    setText(s.tiles.p99!, agg?.latency?.count ? fmtMs(agg.latency.p99) : DASH);
    setText(s.tiles.elapsed!, fmtDuration(elapsedMs(test, now)));
    setText(s.tiles.success!, fmtPercent(successRatio(agg)));

    const p = progress(test, now);
    if (p.fraction === null) s.progressBar.removeAttribute('value');
    else s.progressBar.value = p.fraction;
    setText(s.progressLabel, test.started_at_ms === null ? 'not started' : p.label);

    // Requests sent per driver, with a bar against the per-driver target (or the leader).
    const sentOf = (id: string) => test.nodes?.[id]?.requests_sent ?? 0;
    const most = Math.max(1, ...drivers.map(sentOf));
    const target = cfg.requests_per_driver ?? most;
    syncKeyed(
      s.driverRows,
      drivers,
      (id) => id,
      (id) => {
        const bar = h('span', { class: 'bar-fill' });
        return h(
          'tr',
          { 'data-testid': `driver-row-${id}` },
          h('th', { scope: 'row' }, id),
          h('td', { class: 'num', 'data-testid': `node-requests-${id}` }),
          h('td', { class: 'bar-col' }, h('span', { class: 'bar', role: 'presentation' }, bar)),
          h('td', { class: 'num' }),
        );
      },
      (row, id) => {
        const sent = sentOf(id);
        const [, sentCell, barCell, rateCell] = [...row.children] as HTMLElement[];
        // Grouped like every number on the page; plain digits in data-value for tests and scripts.
        setText(sentCell!, fmtInt(sent));
        setAttr(sentCell!, 'data-value', String(sent));
        const fill = barCell!.querySelector<HTMLElement>('.bar-fill')!;
        fill.style.width = `${Math.min(100, (sent / Math.max(1, target)) * 100).toFixed(1)}%`;
        setAttr(barCell!, 'title', cfg.requests_per_driver ? `${fmtInt(sent)} of ${fmtInt(target)}` : fmtInt(sent));
        setText(rateCell!, fmtRate(test.nodes?.[id]?.rps));
      },
      s.driverCache,
    );

    const points = settledPoints(test);
    s.throughput.update(withTarget(throughputData(points, drivers, !active), cfg, drivers.length));
    // The names offered grow as they appear; the one chosen stays chosen.
    const names = requestNames(points);
    s.latencyName.hidden = names.length === 0;
    const chosen = s.latencyName.value;
    const offered = [...s.latencyName.options].slice(1).map((o) => o.value);
    if (offered.join('\n') !== names.join('\n')) {
      replaceChildren(s.latencyName, [
        h('option', { value: '' }, 'all requests'),
        ...names.map((name) => h('option', { value: name }, name)),
      ]);
      s.latencyName.value = names.includes(chosen) ? chosen : '';
    }
    const name = s.latencyName.value;
    s.latency.update(latencyData(name === '' ? points : nameSeries(points, name)));
    const users = usersData(points, cfg, drivers.length);
    s.usersFigure.hidden = users === null;
    if (users) s.users.update(users);

    const columns = ['', 'count', ...SUMMARY_COLUMNS.map(([, label]) => label)];
    const aggregateRows: Row[] = [
      { cells: ['Latency', fmtInt(agg?.latency?.count), ...summaryCells(agg?.latency)], attrs: { 'data-testid': 'aggregate-latency' } },
      {
        cells: ['Service time', fmtInt(agg?.service_time?.count), ...summaryCells(agg?.service_time)],
        attrs: { 'data-testid': 'aggregate-service-time' },
      },
    ];
    if (agg?.send_gap) {
      aggregateRows.push({
        cells: ['Gap between sends', fmtInt(agg.send_gap.count), ...summaryCells(agg.send_gap)],
        attrs: { 'data-testid': 'aggregate-send-gap' },
      });
    }
    s.aggregate.update(columns, aggregateRows);

    const requests = requestRows(agg);
    const flows = flowRows(agg);
    const checks = checksText(agg);
    s.perRequest.hidden = requests.length === 0 && flows.length === 0 && checks === null;
    s.requests.element.hidden = requests.length === 0;
    s.requests.update(
      [...REQUEST_COLUMNS],
      requests.map((r) => ({ cells: r.cells, attrs: { 'data-testid': r.name ? `request-row-${r.name}` : 'request-row-all' } })),
    );
    s.flows.element.hidden = flows.length === 0;
    s.flows.update(
      [...FLOW_COLUMNS],
      flows.map((r) => ({ cells: r.cells, attrs: { 'data-testid': `flow-row-${r.name}` } })),
    );
    setText(s.checks, checks ?? '');
    s.checks.hidden = checks === null;
    s.nodes.update(
      [
        'Driver',
        'standing',
        'start',
        'sent',
        'responses',
        'errors',
        'connect errors',
        'rate',
        ...SUMMARY_COLUMNS.map(([, label]) => label),
      ],
      drivers.map((id): Row => {
        const n = test.nodes?.[id];
        return {
          cells: [
            id,
            driverStanding(test, id),
            (startOffset(test, id) ?? DASH) + (startedLate(test, id) ? ' (late)' : ''),
            fmtInt(n?.requests_sent ?? 0),
            fmtInt(n?.responses_received ?? 0),
            fmtInt(totalErrors(n)),
            fmtInt(connectErrors(n)),
            fmtRate(n?.rps),
            ...summaryCells(n?.latency),
          ],
          attrs: { 'data-testid': `node-row-${id}` },
        };
      }),
    );
    setText(
      s.extra,
      `Latency counts from the scheduled send time; service time from the actual send. ` +
        `Sent ${fmtBytes(agg?.bytes_sent)} (written to sockets), received ${fmtBytes(agg?.bytes_received)}, ` +
        `${fmtInt(agg?.requests_attempted ?? agg?.requests_sent ?? 0)} requests attempted ` +
        `(${fmtInt(connectErrors(agg))} could not connect), ` +
        `${fmtInt(agg?.late_sends ?? 0)} late sends. ` +
        `Created ${fmtDateTime(test.created_at_ms)}` +
        (test.started_at_ms ? `, started ${fmtDateTime(test.started_at_ms)}` : '') +
        (test.ended_at_ms ? `, ended ${fmtDateTime(test.ended_at_ms)}` : '') +
        '.' +
        errorCauses(agg),
    );
    const countColumns = (first: string) => [first, 'total', ...drivers];
    const countRow = (prefix: string) => (r: { key: string; total: number; perNode: number[] }): Row => ({
      cells: [r.key, fmtInt(r.total), ...r.perNode.map(fmtInt)],
      attrs: { 'data-testid': `${prefix}-${r.key}` },
    });
    s.errors.update(countColumns('Error'), errorRows(test, drivers).map(countRow('error-row')));
    const statuses = statusRows(test, drivers);
    s.statuses.update(
      countColumns('Status'),
      statuses.length ? statuses.map(countRow('status-row')) : [{ cells: ['none yet', '0', ...drivers.map(() => '0')] }],
    );
  }

  render(deps.store.get());
  deps.store.subscribe((state) => render(state));
  // Keeps "updated … ago" current when no update arrives.
  setInterval(() => {
    const test = shown ? shownTest(deps.store.get()) : null;
    if (shown && test && test.id === shown.id) freshnessText(shown, test, Date.now());
  }, 1_000);
}
