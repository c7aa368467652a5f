import { describe, expect, it } from 'vitest';
import {
  causeRows,
  comparisonRegressions,
  comparisonTable,
  configRows,
  driverIds,
  driverTable,
  fateTable,
  latencyTable,
  nameComparisonTable,
  overlayData,
  passed,
  flowTable,
  readReportPage,
  requestTable,
  scheduleTable,
  spectrumData,
  thresholdRows,
} from '../src/report/data';
import { mergeSpectra, percentileLabel } from '../src/report/spectrum-chart';
import { latencyData, perDriverData } from '../src/series';
import type { NodeReport, ReportPage, SpectrumStep, StatsView } from '../src/types';
import { point, stats, summary, test } from './fixtures';

function nodeReport(id: string, series = [point(0, { requests: 5, errors: 1 })]): NodeReport {
  return {
    report_version: 1,
    test_id: 't',
    node_id: id,
    config: test('t').config,
    status: 'completed',
    started_at_ms: 2_000,
    ended_at_ms: 12_000,
    stats: stats(),
    facts: { finished: true, lost: false, messages: 3, missing_messages: 0, elapsed_ms: 10_000 },
    series,
    histograms: { latency: '', service_time: '' },
  };
}

function page(over: { aggregate?: Partial<StatsView>; status?: ReportPage['report']['status']; spectrum?: SpectrumStep[] } = {}): ReportPage {
  const aggregate = stats({
    requests_attempted: 1_000,
    requests_sent: 1_000,
    responses_received: 1_000,
    status_codes: { '200': 990, '404': 10 },
    errors: { http_404: 10 },
    success_ratio: 0.99,
    latency: summary(10, 1_000),
    ...over.aggregate,
  });
  const report = {
    ...test('t', { status: over.status ?? 'completed', aggregate, drivers: ['a', 'b'] }),
    report_version: 1,
    histograms: { latency: '', service_time: '' },
    node_reports: {},
    series: [point(0)],
  };
  report.nodes = { a: stats({ requests_sent: 600, latency: summary(8, 600) }), b: stats({ requests_sent: 400, errors: { http_404: 10 } }) };
  report.node_facts = {
    a: { finished: true, lost: false, messages: 20, missing_messages: 0, elapsed_ms: 10_000, start_offset_ms: 3 },
    b: { finished: false, lost: true, messages: 8, missing_messages: 1, elapsed_ms: 4_000, lost_at_ms: 2_000 + 6_500 },
  };
  return { report, nodes: { a: nodeReport('a'), b: nodeReport('b', [point(1, { errors: 4 })]) }, spectrum: over.spectrum ?? [] } as ReportPage;
}

describe('readReportPage', () => {
  it('reads a filled data block and explains an empty or broken one', () => {
    const p = page();
    expect(readReportPage(JSON.stringify(p))).toEqual(p);
    expect(readReportPage('__ONSLAUGHT_REPORT_DATA__')).toMatch(/onslaught report/);
    expect(readReportPage(null)).toMatch(/no report data/);
    expect(readReportPage('{"report":')).toMatch(/cannot be read/);
    expect(readReportPage('{"x":1}')).toMatch(/not a report/);
  });
});

describe('thresholds', () => {
  it('judges as the orchestrator does: failed share against max_error_ratio', () => {
    const p = page();
    const rows = thresholdRows(p);
    expect(rows.map((r) => r.passed)).toEqual([true, true, false]);
    expect(rows[2]!.measured).toBe('1% failed (10 of 1,000), success 99%');
    expect(passed(p)).toBe(false);
    p.report.config.max_error_ratio = 0.01;
    expect(passed(p)).toBe(true);
    p.report.config.max_error_ratio = 0.0099;
    expect(passed(p)).toBe(false);
  });
  it('fails a test that did not complete or sent nothing', () => {
    expect(passed(page({ status: 'degraded', aggregate: { status_codes: { '200': 1000 }, errors: {}, success_ratio: 1 } }))).toBe(false);
    expect(
      passed(page({ aggregate: { requests_attempted: 0, requests_sent: 0, status_codes: {}, errors: {}, success_ratio: 0 } })),
    ).toBe(false);
    expect(passed(page({ aggregate: { status_codes: { '200': 1000 }, errors: {}, success_ratio: 1 } }))).toBe(true);
  });
});

describe('spectrumData', () => {
  const step = (ms: number, quantile: number, count: number): SpectrumStep => ({ ms, quantile, count });
  it('places each step at 1/(1-p) and the maximum at the sample count', () => {
    const d = spectrumData([step(1, 0, 1), step(2, 0.5, 50), step(3, 0.9, 90), step(4, 0.99, 99), step(9, 1, 100)]);
    expect(d.x.map((x) => Math.round(x * 1e9) / 1e9)).toEqual([1, 2, 10, 100]);
    // p = 0.99 and p = 1 both land on x = 100 (N): the larger latency is kept.
    expect(d.y).toEqual([1, 2, 3, 9]);
    expect(d.percentiles[3]).toBe(100);
    expect(spectrumData([])).toEqual({ x: [], y: [], percentiles: [] });
    expect(spectrumData(undefined).x).toEqual([]);
  });
  it('labels log ticks as percentiles', () => {
    expect(percentileLabel(10)).toBe('90%');
    expect(percentileLabel(100)).toBe('99%');
    expect(percentileLabel(1000)).toBe('99.9%');
    expect(percentileLabel(1)).toBe('0%');
  });
});

describe('per-second charts', () => {
  it('draws p50, p90, p99 and max when asked; null without responses or in older reports', () => {
    const d = latencyData(
      [point(0, { responses: 2, p50: 1, p90: 2, p99: 3, max: 4 }), point(1, { responses: 0 }), point(2, { responses: 1, p90: undefined, max: null })],
      ['p50', 'p90', 'p99', 'max'],
    );
    expect(d.labels).toEqual(['p50', 'p90', 'p99', 'max']);
    expect(d.columns).toEqual([
      [0, 1, 2],
      [1, null, 0],
      [2, null, null],
      [3, null, 0],
      [4, null, null],
    ]);
  });
  it('puts each driver’s own series in its column and sums the seconds reported', () => {
    const d = perDriverData({ a: [point(0, { errors: 1 }), point(2, { errors: 3 })], b: [point(1, { errors: 2 })] }, ['a', 'b', 'c'], (p) => p.errors);
    expect(d.labels).toEqual(['total', 'a', 'b', 'c']);
    expect(d.columns).toEqual([
      [0, 1, 2],
      [1, 2, 3],
      [1, null, 3],
      [null, 2, null],
      [null, null, null],
    ]);
    expect(perDriverData({}, ['a'], (p) => p.errors).columns[0]).toEqual([]);
  });
});

describe('tables', () => {
  it('per driver: counts, latency and start with exact values', () => {
    const t = driverTable(page());
    expect(t.rows.map((r) => r.key)).toEqual(['a', 'b']);
    const a = t.rows[0]!.cells;
    expect(a[1]!.text).toBe('finished');
    expect(a[2]).toEqual({ text: '600', value: 600 });
    expect(a[9]).toEqual({ text: '32 ms', value: 32 });
    expect(a[11]).toEqual({ text: '+3 ms', value: 3 });
    expect(t.rows[1]!.cells[1]!.text).toBe('lost');
    expect(t.rows[1]!.cells[4]!.value).toBe(10);
    expect(t.rows[1]!.cells[9]!.text).toBe('—');
  });
  it('what happened to the drivers: lost and when', () => {
    const t = fateTable(page());
    const b = t.rows[1]!.cells;
    expect(b[1]!.text).toBe('lost');
    expect(b[2]!.value).toBe(8_500);
    expect(b[2]!.text).toContain('(6.5 s after the start)');
    expect(b[5]!.value).toBe(1);
    expect(t.rows[0]!.cells[2]!.text).toBe('—');
  });
  it('latency statistics of the test, its send lag when scheduled, and each driver', () => {
    const t = latencyTable(page({ aggregate: { send_lag: summary(0.1, 1000) } }));
    expect(t.rows.map((r) => r.key)).toEqual(['latency', 'service_time', 'send_lag', 'latency-a', 'latency-b']);
    expect(t.rows[0]!.cells[3]).toEqual({ text: '10 ms', value: 10 });
    expect(t.rows[4]!.cells[3]!.text).toBe('—');
  });
  it('scheduled load only for scheduled tests', () => {
    expect(scheduleTable(page())).toBeNull();
    const t = scheduleTable(page({ aggregate: { late_sends: 5, send_lag: summary(0.5, 1000) } }))!;
    expect(t.rows[0]!.cells[1]).toEqual({ text: '5', value: 5 });
    expect(t.rows[0]!.cells[2]!.text).toBe('0.5%');
    expect(t.rows.map((r) => r.key)).toEqual(['all', 'a', 'b']);
  });
  it('per request: no rows until reports carry named requests', () => {
    expect(requestTable(page()).rows).toEqual([]);
    expect(flowTable(page()).rows).toEqual([]);
  });
  it('per request: a row per name, then the whole test, with checks and status codes', () => {
    const login = stats({
      requests_sent: 600,
      requests_attempted: 600,
      success_ratio: 1,
      rps: 60,
      checks_passed: 600,
      status_codes: { '200': 600 },
      latency: summary(5, 600),
    });
    const item = stats({
      requests_sent: 400,
      requests_attempted: 400,
      success_ratio: 0.975,
      rps: 40,
      checks_passed: 390,
      checks_failed: 10,
      status_codes: { '200': 390, '404': 10 },
      latency: summary(20, 400),
    });
    const flows = { buy: { started: 400, completed: 390, interrupted: 10, dropped: 3, rate: 39, duration: summary(50, 390) } };
    const p = page({ aggregate: { by_name: { login, item }, flows, checks_passed: 990, checks_failed: 10 } });
    const t = requestTable(p);
    expect(t.rows.map((r) => r.key)).toEqual(['item', 'login', 'all']);
    expect(t.rows.every((r) => r.cells.length === t.columns.length)).toBe(true);
    const item_ = t.rows[0]!.cells;
    expect(item_.map((c) => c.value)).toEqual([undefined, 400, 10, 20, 50, 80, 100, 40, 390, 10, undefined]);
    expect(item_[10]!.text).toBe('200: 390, 404: 10');
    expect(t.rows[2]!.cells[1]!.value).toBe(1_000);
    expect(t.rows[2]!.cells[2]!.value).toBe(10);
    const f = flowTable(p);
    expect(f.rows[0]!.cells.map((c) => c.value)).toEqual([undefined, 400, 390, 10, 3, 39, 50, 125, 200, 250]);
  });
  it('error causes, largest first', () => {
    expect(causeRows(stats({ error_reasons: { 'connect: refused': 2, 'timeout: x': 5 } }))).toEqual([
      ['timeout: x', 5],
      ['connect: refused', 2],
    ]);
  });
  it('settings say per driver and in total', () => {
    const p = page();
    p.report.config.rate = 100;
    const rows = Object.fromEntries(configRows(p.report.config, driverIds(p).length));
    expect(rows['Requests per driver']).toBe('1,000 (× 2 = 2,000 in total)');
    expect(rows['Rate per driver']).toBe('100/s (200/s in total)');
    expect(rows['Accepted statuses']).toBe('2xx, 3xx');
    expect(rows.Headers).toBeUndefined();
    expect(rows['Rate in total']).toBeUndefined();
    const total = { ...p.report.config, rate: null, rate_total: 300 };
    expect(Object.fromEntries(configRows(total, 3))['Rate in total']).toBe('300/s (100/s per driver, split)');
    const curve = { ...p.report.config, rate: null, stages_total: [{ duration_ms: 30000, target: 2000 }] };
    expect(Object.fromEntries(configRows(curve, 4))['Stages in total']).toContain('(peak 2,000/s in total, 500/s per driver, split)');
    expect(rows.Flows).toBeUndefined();
    expect(rows.Request).toBeDefined();
  });

  it('a flow test shows its flows, steps, think times and datasets instead of one request', () => {
    const flows = {
      ...page().report.config,
      name: 'shop',
      url: 'http://127.0.0.1:8000',
      data: { accounts: { order: 'shard' as const, rows: [{ user: 'a' }, { user: 'b' }] } },
      flows: [
        {
          name: 'buy',
          weight: 3,
          steps: [
            { name: 'login', request: { method: 'POST', url: '/login' } },
            { think: '50ms..200ms' },
            { request: { method: 'GET', url: '/items/{{ random_int(1, 9) }}' } },
          ],
        },
        { name: 'browse', weight: 1, steps: [{ name: 'ping', request: { method: 'GET', url: '/ping' } }] },
      ],
    };
    const rows = Object.fromEntries(configRows(flows, 3));
    expect(rows.Name).toBe('shop');
    expect(rows.Request).toBeUndefined();
    expect(rows['Base URL']).toBe('http://127.0.0.1:8000');
    expect(rows.Flows).toBe(
      'buy (weight 3): login POST /login → think 50ms..200ms → GET /items/{{ random_int(1, 9) }}\nbrowse (weight 1): ping GET /ping',
    );
    expect(rows.Data).toBe('accounts: 2 rows, shard');
  });
});

describe('comparison page', () => {
  it('shows each metric of both runs with its change and verdict', () => {
    const t = comparisonTable({
      report: page().report,
      spectrum: [],
      rows: [
        { metric: 'throughput', base: 1000, new: 900, tolerance: '10%', verdict: 'ok' },
        { metric: 'error_rate', base: 0.01, new: 0.02, tolerance: '0.5pp', verdict: 'regression' },
        { metric: 'p99', base: 5, new: 205, tolerance: '10%', verdict: 'regression' },
        { metric: 'max', base: null, new: 3, tolerance: null, verdict: 'info' },
      ],
    });
    expect(t.rows.map((r) => r.cells.map((c) => c.text))).toEqual([
      ['throughput', '1,000/s', '900/s', '-10%', '10%', 'ok'],
      ['error_rate', '1%', '2%', '+1pp', '0.5pp', 'regression'],
      ['p99', '5 ms', '205 ms', '+4,000%', '10%', 'regression'],
      ['max', '—', '3 ms', '—', '—', 'info'],
    ]);
    expect(t.rows[2]!.cells[2]!.value).toBe(205);
  });
  it('has rows per request name, a name in one run only said so, and its regressions named', () => {
    const base = {
      report: page().report,
      spectrum: [],
      rows: [{ metric: 'p99', base: 5, new: 5, tolerance: '10%', verdict: 'ok' }],
      by_name: [
        {
          name: 'item',
          presence: 'both',
          rows: [
            { metric: 'p99', base: 5, new: 205, tolerance: '10%', verdict: 'regression' },
            { metric: 'error_rate', base: 0, new: 0, tolerance: '0.5pp', verdict: 'ok' },
          ],
        },
        { name: 'gone', presence: 'base_only', rows: [{ metric: 'p99', base: 4, new: null, tolerance: null, verdict: 'info' }] },
      ],
    };
    const t = nameComparisonTable(base);
    expect(t.columns[0]).toBe('Request');
    expect(t.rows.map((r) => r.cells.map((c) => c.text))).toEqual([
      ['item', 'both runs', 'p99', '5 ms', '205 ms', '+4,000%', '10%', 'regression'],
      ['item', 'both runs', 'error_rate', '0%', '0%', '+0pp', '0.5pp', 'ok'],
      ['gone', 'base run only', 'p99', '4 ms', '—', '—', '—', 'info'],
    ]);
    expect(t.rows[0]!.key).toBe('item-p99');
    expect(comparisonRegressions(base)).toEqual(['item: p99']);
    expect(nameComparisonTable({ ...base, by_name: undefined }).rows).toEqual([]);
  });
  it('overlays both runs on the seconds either has', () => {
    const d = overlayData([point(0, { requests: 5 }), point(1, { requests: 6 })], [point(0, { requests: 7 }), point(3, { requests: 8 })], (p) => p.requests);
    expect(d.labels).toEqual(['base', 'new']);
    expect(d.columns).toEqual([
      [0, 1, 2, 3],
      [5, 6, null, null],
      [7, null, null, 8],
    ]);
  });
  it('merges two spectra on the union of their x values', () => {
    const m = mergeSpectra([
      { x: [1, 2, 10], y: [1, 2, 3], percentiles: [] },
      { x: [1, 4], y: [5, 6], percentiles: [] },
    ]);
    expect(m.x).toEqual([1, 2, 4, 10]);
    expect(m.ys).toEqual([
      [1, 2, null, 3],
      [5, null, 6, null],
    ]);
  });
});
