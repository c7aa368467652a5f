// The self-contained HTML report page (report.html): reads the report data the orchestrator
// filled into <script type="application/json" id="report-data"> and draws it with the
// dashboard's own charts, tables and formatting. No request ever leaves the page.

import { LineChart } from '../charts';
import { h } from '../dom';
import { DASH, fmtBytes, fmtDateTime, fmtDuration, fmtInt, fmtMs, fmtNum, fmtPercent, fmtRate } from '../format';
import {
  latencyData,
  nameSeries,
  perDriverData,
  requestNames,
  throughputData,
  usersData,
  withTarget,
  type ChartData,
  type LatencyKey,
} from '../series';
import { checksText, errorRows, loadChangeLines, statusRows, takeoverLines, totalErrors } from '../stats';
import '../styles.css';
import type { ReportPage } from '../types';
import { DataTable } from '../views/table';
import {
  causeRows,
  chartColumns,
  comparisonRegressions,
  comparisonTable,
  configRows,
  driverIds,
  driverTable,
  fateTable,
  flowTable,
  latencyTable,
  nameComparisonTable,
  nodeSeries,
  overlayData,
  passed,
  readReportPage,
  requestTable,
  scheduleTable,
  spectrumData,
  thresholdRows,
  type Table,
} from './data';
import { drawSpectra, drawSpectrum, mergeSpectra } from './spectrum-chart';
import './report.css';

/** The percentiles the report's latency chart draws. */
const LATENCY_KEYS: LatencyKey[] = ['p50', 'p90', 'p99', 'max'];

const root = document.getElementById('app')!;
const page = readReportPage(document.getElementById('report-data')?.textContent);
if (typeof page === 'string') {
  root.append(h('main', { class: 'report' }, h('p', { class: 'form-error', role: 'alert', 'data-testid': 'report-error' }, page)));
} else {
  render(page);
}

/** A section with a heading. */
function section(title: string, testid: string, ...children: (Node | null)[]): HTMLElement {
  return h('section', { class: 'card', 'data-testid': testid }, h('h2', {}, title), ...children);
}

/** A data table whose numeric cells carry their exact value in `data-value`. */
function table(caption: string, testid: string, t: Table): HTMLElement {
  const dt = new DataTable(caption, { 'data-testid': testid });
  dt.update(
    t.columns,
    t.rows.map((r) => ({ cells: r.cells.map((c) => c.text), attrs: { 'data-testid': `${testid}-row-${r.key}` } })),
  );
  // DataTable renders text only; the exact values go on the cells afterwards.
  const rows = dt.element.querySelectorAll('tbody tr');
  t.rows.forEach((r, i) => {
    const cells = rows[i]?.children;
    r.cells.forEach((c, j) => {
      if (c.value !== undefined && cells?.[j]) cells[j].setAttribute('data-value', c.value === null ? '' : String(c.value));
    });
  });
  return dt.element;
}

/** A line chart over the test's seconds; its numbers also in `data-columns`. With `choices`
 * (label → its data, the first drawn), a select in the caption redraws it with another's. */
function chart(
  caption: string,
  testid: string,
  data: ChartData,
  options: ConstructorParameters<typeof LineChart>[1],
  choices?: { label: string; testid: string; data: Map<string, () => ChartData> },
): HTMLElement {
  const host = h('div', { class: 'chart', 'data-testid': testid, role: 'img', 'aria-label': caption });
  host.setAttribute('data-columns', JSON.stringify(chartColumns(data)));
  const select =
    choices && choices.data.size > 1
      ? h(
          'select',
          { 'aria-label': choices.label, 'data-testid': choices.testid },
          ...[...choices.data.keys()].map((key) => h('option', { value: key }, key)),
        )
      : null;
  const figure = h('figure', {}, h('figcaption', {}, caption, select ? ' of ' : null, select), host);
  // Drawn once the figure is in the page (uPlot measures its host).
  queueMicrotask(() => {
    const drawn = new LineChart(host, options);
    drawn.update(data);
    select?.addEventListener('change', () => {
      const pick = choices?.data.get(select.value);
      if (pick) drawn.update(pick());
    });
  });
  return figure;
}

function tile(key: string, label: string, text: string, value: number | null): HTMLElement {
  return h(
    'div',
    { class: 'tile' },
    h('dt', {}, label),
    h('dd', { 'data-testid': `tile-${key}`, 'data-value': value === null ? '' : String(value) }, text),
  );
}

function render(page: ReportPage): void {
  const r = page.report;
  const ids = driverIds(page);
  const agg = r.aggregate;
  const ok = passed(page);
  document.title = `onslaught report ${r.config.name ? `${r.config.name} ` : ''}${r.id} (${r.status}${ok ? ', passed' : ', failed'})`;

  const head = h(
    'header',
    { class: 'card report-head' },
    h(
      'h1',
      {},
      `onslaught report: ${r.config.name ? `${r.config.name}, ` : ''}test ${r.id} `,
      h('span', { class: `status status-${r.status}`, 'data-testid': 'report-status' }, r.status),
      ' ',
      h('span', { class: ok ? 'verdict pass' : 'verdict fail', 'data-testid': 'report-verdict' }, ok ? 'passed' : 'failed'),
    ),
    h(
      'p',
      { class: 'subtitle' },
      `Created ${fmtDateTime(r.created_at_ms)}` +
        (r.started_at_ms ? ` · started ${fmtDateTime(r.started_at_ms)}` : '') +
        (r.ended_at_ms ? ` · ended ${fmtDateTime(r.ended_at_ms)}` : '') +
        (r.started_at_ms && r.ended_at_ms ? ` · ${fmtDuration(r.ended_at_ms - r.started_at_ms)}` : ''),
    ),
    r.message ? h('p', { class: 'message', 'data-testid': 'report-message' }, r.message) : null,
    ...(r.warnings ?? []).map((w) => h('p', { class: 'message', role: 'note' }, `Warning: ${w}`)),
    r.report_error ? h('p', { class: 'form-error' }, `Report error: ${r.report_error}`) : null,
    h(
      'dl',
      { class: 'tiles' },
      tile('attempted', 'Requests attempted', fmtInt(agg.requests_attempted ?? agg.requests_sent), agg.requests_attempted ?? agg.requests_sent),
      tile('sent', 'Requests sent', fmtInt(agg.requests_sent), agg.requests_sent),
      tile('responses', 'Responses', fmtInt(agg.responses_received), agg.responses_received),
      tile('errors', 'Errors', fmtInt(totalErrors(agg)), totalErrors(agg)),
      tile('rps', 'Achieved rate', fmtRate(agg.rps), agg.rps),
      tile('success', 'Success', fmtPercent(agg.success_ratio, 2), agg.success_ratio),
      tile('p50', 'Latency p50', agg.latency?.count ? fmtMs(agg.latency.median) : DASH, agg.latency?.count ? agg.latency.median : null),
      tile('p99', 'Latency p99', agg.latency?.count ? fmtMs(agg.latency.p99) : DASH, agg.latency?.count ? agg.latency.p99 : null),
      tile('max', 'Latency max', agg.latency?.count ? fmtMs(agg.latency.max) : DASH, agg.latency?.count ? agg.latency.max : null),
      tile('bytes', 'Bytes sent / received', `${fmtBytes(agg.bytes_sent)} / ${fmtBytes(agg.bytes_received)}`, null),
    ),
  );

  const comparison = page.base ? compareSection(page, page.base) : null;

  const plan = section(
    'Plan and load settings',
    'report-plan',
    h(
      'dl',
      { class: 'settings' },
      configRows(r.config, ids.length).flatMap(([label, text]) => [h('dt', {}, label), h('dd', {}, text)]),
    ),
  );

  const thresholds = section(
    'Thresholds',
    'report-thresholds',
    table('Each expectation with what was measured', 'thresholds', {
      columns: ['Expectation', 'Limit', 'Measured', 'Verdict'],
      rows: thresholdRows(page).map((t, i) => ({
        key: String(i),
        cells: [{ text: t.name }, { text: t.limit }, { text: t.measured }, { text: t.passed ? 'pass' : 'fail' }],
      })),
    }),
  );

  const seriesByNode = nodeSeries(page);
  // An avalanche with stages of users: the users running beside the curve's target.
  const usersChart = () => {
    const data = usersData(r.series, r.config, ids.length);
    if (!data) return [];
    return [
      chart('Virtual users (running, mean per second, all drivers, and the stages\' target)', 'users-chart', data, {
        height: 240,
        format: (v) => fmtNum(v, 1),
        emptyText: 'No users ran.',
        styles: {
          users: { stroke: 'var(--fg)', width: 2.5 },
          target: { stroke: '#7f7f7f', width: 1.5, dash: [2, 3] },
        },
      }),
    ];
  };
  const charts = section(
    'Over time',
    'report-charts',
    h(
      'div',
      { class: 'charts' },
      chart(
        'Throughput (requests sent per second, total, per driver, and the schedule\'s target)',
        'throughput-chart',
        withTarget(throughputData(r.series, ids, true), r.config, ids.length),
        {
        height: 240,
        format: (v) => fmtNum(v, 0),
        counts: true,
        emptyText: 'No requests were sent.',
        styles: {
          total: { stroke: 'var(--fg)', width: 2.5 },
          errors: { stroke: '#d62728', width: 1.5, dash: [6, 4] },
          target: { stroke: '#7f7f7f', width: 1.5, dash: [2, 3] },
        },
      }),
      ...usersChart(),
      chart('Errors per second (total and per driver)', 'errors-chart', perDriverData(seriesByNode, ids, (p) => p.errors), {
        height: 240,
        format: (v) => fmtNum(v, 0),
        counts: true,
        emptyText: 'No driver reported a series.',
        styles: { total: { stroke: '#d62728', width: 2.5 } },
      }),
      chart('Latency per second (ms): p50, p90, p99, max', 'latency-chart', latencyData(r.series, LATENCY_KEYS), {
        height: 240,
        format: (v) => fmtMs(v),
        emptyText: 'No responses.',
        styles: {
          p50: { stroke: '#0072b2', width: 2 },
          p90: { stroke: '#009e73', width: 2 },
          p99: { stroke: '#d55e00', width: 2 },
          max: { stroke: '#cc79a7', width: 1.5, dash: [4, 3] },
        },
      }, {
        label: 'Latency of which requests',
        testid: 'latency-name',
        data: new Map([
          ['all requests', () => latencyData(r.series, LATENCY_KEYS)],
          ...requestNames(r.series).map((name): [string, () => ChartData] => [
            name,
            () => latencyData(nameSeries(r.series, name), LATENCY_KEYS),
          ]),
        ]),
      }),
    ),
  );

  const spectrum = spectrumData(page.spectrum);
  const spectrumHost = h('div', {
    class: 'chart',
    'data-testid': 'spectrum-chart',
    role: 'img',
    'aria-label': 'Latency by percentile, log scale on 1/(1-percentile)',
    'data-columns': JSON.stringify({ x: spectrum.x, latency: spectrum.y, percentile: spectrum.percentiles }),
  });
  const distribution = section(
    'Latency distribution',
    'report-spectrum',
    h('p', { class: 'hint' }, 'Latency by percentile (HdrHistogram percentile spectrum, from the exact histogram in test.json); the x axis is 1/(1-percentile) on a log scale.'),
    spectrumHost,
    table('Latency statistics (ms)', 'latency-table', latencyTable(page)),
  );

  const requests = requestTable(page);
  const flows = flowTable(page);
  const flowRuns = Object.entries(page.flow_spectra ?? {}).map(([name, steps]) => ({ label: name, data: spectrumData(steps) }));
  const flowMerged = mergeSpectra(flowRuns.map((r) => r.data));
  const flowSpectrumHost = flowRuns.length
    ? h('div', {
        class: 'chart',
        'data-testid': 'flow-spectrum-chart',
        role: 'img',
        'aria-label': 'Iteration duration of each flow by percentile, log scale on 1/(1-percentile)',
        'data-columns': JSON.stringify({ x: flowMerged.x, ...Object.fromEntries(flowRuns.map((r, i) => [r.label, flowMerged.ys[i]])) }),
      })
    : null;
  const checks = checksText(agg);
  const perRequest =
    requests.rows.length || flows.rows.length || checks
      ? section(
          'Requests',
          'report-requests',
          requests.rows.length ? table('Each request name, all drivers together', 'request-table', requests) : null,
          checks ? h('p', { class: 'hint', 'data-testid': 'report-checks' }, checks) : null,
          flows.rows.length ? table('Each flow, all drivers together', 'flow-table', flows) : null,
          flowSpectrumHost ? h('h3', {}, 'Iteration duration of each flow') : null,
          flowSpectrumHost
            ? h('p', { class: 'hint' }, 'Duration of completed iterations from their intended start, think times included, by percentile (from the exact histograms in test.json); the x axis is 1/(1-percentile) on a log scale.')
            : null,
          flowSpectrumHost,
        )
      : null;

  const drivers = section('Drivers', 'report-drivers', table('Each driver', 'driver-table', driverTable(page)));

  const countTable = (caption: string, testid: string, first: string, rows: { key: string; total: number; perNode: number[] }[]): HTMLElement =>
    table(caption, testid, {
      columns: [first, 'total', ...ids],
      rows: rows.map((row) => ({
        key: row.key,
        cells: [{ text: row.key }, { text: fmtInt(row.total), value: row.total }, ...row.perNode.map((n) => ({ text: fmtInt(n), value: n }))],
      })),
    });
  const causes = causeRows(agg);
  const outcomes = section(
    'Status codes and errors',
    'report-outcomes',
    h(
      'div',
      { class: 'counts' },
      countTable('Status codes', 'status-table', 'Status', statusRows(r, ids)),
      countTable('Errors by kind', 'error-table', 'Error', errorRows(r, ids)),
    ),
    causes.length
      ? table('Error causes', 'cause-table', {
          columns: ['Cause', 'count'],
          rows: causes.map(([cause, n], i) => ({ key: String(i), cells: [{ text: cause }, { text: fmtInt(n), value: n }] })),
        })
      : h('p', { class: 'hint' }, 'No error causes were recorded.'),
  );

  const sched = scheduleTable(page);
  const schedule = section(
    'Scheduled load: late sends and send lag',
    'report-schedule',
    sched
      ? table('Late sends and how late sends went out (ms)', 'schedule-table', sched)
      : h('p', { class: 'hint' }, 'Not a scheduled test (avalanche): requests go out as fast as responses come back.'),
  );

  const takeovers = takeoverLines(r);
  const changes = loadChangeLines(r);
  const fates = section(
    'What happened to the load and the drivers',
    'report-fates',
    changes.length === 0
      ? null
      : h('ul', { class: 'load-changes' }, ...changes.map((line) => h('li', { 'data-testid': 'load-change' }, line))),
    table('Each driver’s run', 'fate-table', fateTable(page)),
    takeovers.length === 0
      ? null
      : h('ul', { class: 'takeovers' }, ...takeovers.map((line) => h('li', { 'data-testid': 'takeover' }, line))),
  );

  root.append(
    h(
      'main',
      { class: 'report', 'data-testid': 'report', 'data-test-id': r.id },
      head,
      comparison?.section ?? null,
      plan,
      thresholds,
      charts,
      distribution,
      perRequest,
      drivers,
      outcomes,
      schedule,
      fates,
      h('p', { class: 'hint' }, `Made by onslaught from ${r.report_path ?? 'test.json'}; everything on this page is in this one file.`),
    ),
  );
  drawSpectrum(spectrumHost, spectrum, 'No responses: no latency distribution.');
  if (flowSpectrumHost) drawSpectra(flowSpectrumHost, flowRuns, 'No completed iterations.');
  comparison?.draw();
}

/**
 * The comparison page's own section (`onslaught compare --html`): the verdicts, then the base
 * run's and this (new) run's throughput, p99 per second and spectrum overlaid.
 */
function compareSection(page: ReportPage, base: NonNullable<ReportPage['base']>): { section: HTMLElement; draw: () => void } {
  const regressions = comparisonRegressions(base);
  const names = nameComparisonTable(base);
  const runs = [
    { label: `base ${base.report.id}`, data: spectrumData(base.spectrum) },
    { label: `new ${page.report.id}`, data: spectrumData(page.spectrum) },
  ];
  const merged = mergeSpectra(runs.map((r) => r.data));
  const spectrumHost = h('div', {
    class: 'chart',
    'data-testid': 'compare-spectrum-chart',
    role: 'img',
    'aria-label': 'Latency by percentile of both runs',
    'data-columns': JSON.stringify({ x: merged.x, base: merged.ys[0], new: merged.ys[1] }),
  });
  const styles = { base: { stroke: '#0072b2', width: 2 }, new: { stroke: '#d55e00', width: 2 } };
  const section = h(
    'section',
    { class: 'card', 'data-testid': 'report-comparison' },
    h('h2', {}, `Compared with base run ${base.report.id}`),
    h(
      'p',
      { class: regressions.length ? 'form-error' : 'hint', 'data-testid': 'compare-verdict' },
      regressions.length ? `Regression: ${regressions.join(', ')}` : 'No regression.',
    ),
    table('Each metric of the base and the new run', 'compare-table', comparisonTable(base)),
    names.rows.length ? table('Each request name of the base and the new run', 'compare-name-table', names) : null,
    h(
      'div',
      { class: 'charts' },
      chart('Throughput (requests sent per second), base and new', 'compare-throughput-chart', overlayData(base.report.series, page.report.series, (p) => p.requests), {
        height: 220,
        format: (v) => fmtNum(v, 0),
        counts: true,
        emptyText: 'No requests.',
        styles,
      }),
      chart('Latency p99 per second (ms), base and new', 'compare-latency-chart', overlayData(base.report.series, page.report.series, (p) => (p.responses > 0 ? p.p99 : null)), {
        height: 220,
        format: (v) => fmtMs(v),
        emptyText: 'No responses.',
        styles,
      }),
    ),
    h('h3', {}, 'Latency distribution, base and new'),
    spectrumHost,
  );
  return { section, draw: () => drawSpectra(spectrumHost, runs, 'No responses in either run.') };
}
