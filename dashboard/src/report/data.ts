// What the report page shows, computed from its embedded data (a ReportPage: test.json, the
// node reports, the latency spectrum). Pure: no DOM, so vitest checks every figure.

import { DASH, fmtDateTime, fmtDuration, fmtInt, fmtMs, fmtNum, fmtPercent, fmtRate } from '../format';
import type { ChartData } from '../series';
import { driverStanding, failures, startOffset } from '../stats';
import { fmtThresholdValue } from '../thresholds';
import type { BaseRun, ComparisonRow, NodeReport, ReportPage, SeriesPoint, SpectrumStep, StatsView, Summary, TestConfig } from '../types';

/** The page's data block, parsed; a message when it holds no report. */
export function readReportPage(text: string | null | undefined): ReportPage | string {
  if (!text || !text.trim().startsWith('{')) {
    return 'This page holds no report data: make it with `onslaught report TEST_DIR`.';
  }
  try {
    const page = JSON.parse(text) as ReportPage;
    if (!page?.report?.id || !page.report.aggregate) return 'The report data of this page is not a report.';
    return page;
  } catch (e) {
    return `The report data of this page cannot be read: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** The drivers of a report: those with a node report, then any others it names. Sorted. */
export function driverIds(page: ReportPage): string[] {
  const ids = new Set<string>(Object.keys(page.nodes ?? {}));
  for (const id of page.report.drivers ?? []) ids.add(id);
  for (const id of Object.keys(page.report.nodes ?? {})) ids.add(id);
  return [...ids].sort();
}

/** Each driver's own per-second series (from its node report). */
export function nodeSeries(page: ReportPage): Record<string, NodeReport['series']> {
  const out: Record<string, NodeReport['series']> = {};
  for (const [id, node] of Object.entries(page.nodes ?? {})) out[id] = node.series;
  return out;
}

/** A plain x/y chart for the spectrum: x = 1/(1-p) (log axis), y = latency in ms. */
export interface SpectrumData {
  /** 1/(1-p), ascending; p = 1 (the largest value) is placed at the sample count. */
  x: number[];
  /** Latency (ms) at each x. */
  y: number[];
  /** The percentile each x stands for, 0..100. */
  percentiles: number[];
}

/**
 * The spectrum's plot points, as hdrhistogram.org's plotter draws them: x = 1/(1-p) on a log
 * axis. p = 1 would be infinite: the largest value is drawn at x = N (the number of samples),
 * where 1 - 1/N, the last percentile one sample can stand for, lies; no x goes beyond. Steps
 * that land on the same x keep the larger latency.
 */
export function spectrumData(steps: readonly SpectrumStep[] | undefined): SpectrumData {
  const out: SpectrumData = { x: [], y: [], percentiles: [] };
  const total = steps?.[steps.length - 1]?.count ?? 0;
  if (!steps || total <= 0) return out;
  const cap = Math.max(1, total);
  for (const step of steps) {
    // Rounded to 1e-6: 1/(1-0.99) is 99.99999999999991 in floating point.
    const x = step.quantile >= 1 ? cap : Math.min(cap, Math.round(1e6 / (1 - step.quantile)) / 1e6);
    const last = out.x.length - 1;
    if (last >= 0 && x <= out.x[last]!) {
      out.y[last] = Math.max(out.y[last]!, step.ms);
      out.percentiles[last] = step.quantile * 100;
      continue;
    }
    out.x.push(x);
    out.y.push(step.ms);
    out.percentiles.push(step.quantile * 100);
  }
  return out;
}

/** One line of the thresholds table. */
export interface ThresholdRow {
  name: string;
  /** What the test asked for. */
  limit: string;
  /** What was measured. */
  measured: string;
  passed: boolean;
}

/** Share of requests attempted that failed (no accepted status); 1 when none were attempted. */
export function failedRatio(stats: StatsView): number {
  const attempted = Math.max(stats.requests_attempted ?? 0, stats.requests_sent);
  return attempted === 0 ? 1 : 1 - stats.success_ratio;
}

/** Within a rounding step of a ratio computed from counts (the orchestrator's own tolerance). */
const ROUNDING = 1e-12;

/**
 * The thresholds and expectations of the test with their measured values, judged as the
 * orchestrator judges a test (`TestView::passed`): it completed, attempted requests, and failed
 * at most `max_error_ratio` of them, where a failure is any request without an accepted status
 * (`expect_status`, 2xx and 3xx by default), and every threshold of the test holds.
 */
export function thresholdRows(page: ReportPage): ThresholdRow[] {
  const r = page.report;
  const agg = r.aggregate;
  const attempted = Math.max(agg.requests_attempted ?? 0, agg.requests_sent);
  const failed = failedRatio(agg);
  const maxRatio = r.config.max_error_ratio ?? 0;
  return [
    { name: 'Test completed', limit: 'completed', measured: r.status, passed: r.status === 'completed' },
    { name: 'Requests attempted', limit: 'more than 0', measured: fmtInt(attempted), passed: attempted > 0 },
    {
      name: `Accepted statuses (expect_status ${r.config.expect_status ?? '2xx,3xx'})`,
      limit: `failed ≤ ${fmtPercent(maxRatio, 2)} (max_error_ratio ${maxRatio})`,
      measured: `${fmtPercent(failed, 2)} failed (${fmtInt(Math.round(failed * attempted))} of ${fmtInt(attempted)}), success ${fmtPercent(agg.success_ratio, 2)}`,
      passed: attempted > 0 && failed <= maxRatio + ROUNDING,
    },
    // The test's own thresholds, as the orchestrator judged them on the merged data.
    ...(r.thresholds ?? []).map((t) => ({
      name: `Threshold ${t.expression}`,
      limit: t.expression,
      measured: fmtThresholdValue(t.expression, t.value),
      passed: t.passed,
    })),
  ];
}

/** Whether the test passed: every threshold row holds. */
export function passed(page: ReportPage): boolean {
  return thresholdRows(page).every((row) => row.passed);
}

/** A rate curve's stages (`30 s → 100/s, …`) with its peak per driver and in total; null without stages. */
function stagesText(stages: readonly { duration_ms: number; target: number }[] | undefined, n: number, perDriver: boolean): string | null {
  if (!stages || stages.length === 0) return null;
  const curve = stages.map((st) => `${fmtDuration(st.duration_ms)} → ${fmtRate(st.target)}`).join(', ');
  const peak = Math.max(0, ...stages.map((st) => st.target));
  const both = perDriver
    ? `peak ${fmtRate(peak)} per driver, ${fmtRate(peak * n)} in total`
    : `peak ${fmtRate(peak)} in total, ${fmtRate(peak / n)} per driver, split`;
  return `${curve} (${both})`;
}

/** The plan and load settings, as label and text, in a fixed order; absent ones left out. */
export function configRows(config: TestConfig, drivers: number): [string, string][] {
  const n = Math.max(drivers, 1);
  const flows = config.flows ?? [];
  const rows: [string, string | null][] = [
    ['Name', config.name ?? null],
    ['Test type', config.test_type],
    flows.length ? ['Base URL', config.url] : ['Request', `${config.method ?? 'GET'} ${config.url}`],
    ['Flows', flows.length ? flows.map(flowText).join('\n') : null],
    ['Data', dataText(config.data)],
    ['Headers', (config.headers ?? []).map((hd) => `${hd.name}: ${hd.value}`).join('; ') || null],
    ['Body', config.body ? `${fmtInt(config.body.length)} characters` : config.body_base64 ? 'binary (base64)' : null],
    ['Drivers', fmtInt(drivers)],
    [
      'Requests per driver',
      config.requests_per_driver ? `${fmtInt(config.requests_per_driver)} (× ${n} = ${fmtInt(config.requests_per_driver * n)} in total)` : null,
    ],
    ['Duration', config.duration_ms ? fmtDuration(config.duration_ms) : null],
    ['Rate per driver', config.rate ? `${fmtRate(config.rate)} (${fmtRate(config.rate * n)} in total)` : null],
    ['Rate in total', config.rate_total ? `${fmtRate(config.rate_total)} (${fmtRate(config.rate_total / n)} per driver, split)` : null],
    ['Stages per driver', stagesText(config.stages, n, true)],
    ['Stages in total', stagesText(config.stages_total, n, false)],
    ['Delay between sends', config.delay_ms ? fmtDuration(config.delay_ms) : null],
    ['Connections per driver', config.concurrency ? fmtInt(config.concurrency) : null],
    ['Request timeout', config.timeout_ms ? fmtDuration(config.timeout_ms) : null],
    ['Accepted statuses', config.expect_status ?? '2xx, 3xx'],
    ['Max error ratio', fmtNum(config.max_error_ratio ?? 0, 4)],
    ['Max start skew', config.max_start_skew_ms === undefined ? null : `${fmtInt(config.max_start_skew_ms)} ms`],
    ['Insecure TLS', config.insecure ? 'yes' : null],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== null && r[1] !== '');
}

type Flow = NonNullable<TestConfig['flows']>[number];

/** "buy (weight 3): login POST /login → think 50ms..200ms → item GET /items/{{ id }}". */
export function flowText(flow: Flow): string {
  const steps = flow.steps.map((step) => {
    if (!step.request) return `think ${step.think ?? ''}`.trim();
    const what = `${step.request.method ?? 'GET'} ${step.request.url}`;
    return step.name ? `${step.name} ${what}` : what;
  });
  return `${flow.name} (weight ${fmtInt(flow.weight ?? 1)}): ${steps.join(' → ')}`;
}

/** "accounts: 300 rows, shard", one dataset per line; null without data. */
export function dataText(data: TestConfig['data']): string | null {
  const sets = Object.entries(data ?? {});
  if (!sets.length) return null;
  return sets
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, set]) => `${name}: ${fmtInt(set.rows?.length ?? 0)} rows, ${set.order ?? 'sequential'}`)
    .join('\n');
}

/** A table: column headings and rows of cells; each cell is its text and, for numbers, its value. */
export interface Cell {
  text: string;
  /** The exact number shown (for scripts and tests comparing with test.json). */
  value?: number | null;
}
export interface Table {
  columns: string[];
  rows: { key: string; cells: Cell[] }[];
}

const num = (value: number | null | undefined, text: (v: number) => string): Cell =>
  value === null || value === undefined || !Number.isFinite(value) ? { text: DASH, value: null } : { text: text(value), value };
const ms = (s: Summary | null | undefined, key: keyof Summary): Cell => (s?.count ? num(s[key], fmtMs) : { text: DASH, value: null });
const sum = (counts: Record<string, number> | undefined): number => Object.values(counts ?? {}).reduce((a, b) => a + b, 0);

/** Latency statistics of the test and of each driver: latency, service time, send lag, send gap. */
export function latencyTable(page: ReportPage): Table {
  const keys: [keyof Summary, string][] = [
    ['count', 'responses'],
    ['min', 'min'],
    ['median', 'p50'],
    ['p90', 'p90'],
    ['p95', 'p95'],
    ['p99', 'p99'],
    ['p999', 'p99.9'],
    ['max', 'max'],
    ['mean', 'mean'],
    ['stdev', 'stdev'],
  ];
  const rows: Table['rows'] = [];
  const add = (key: string, label: string, s: Summary | null | undefined) => {
    if (s === undefined) return;
    rows.push({
      key,
      cells: [{ text: label }, ...keys.map(([k]) => (k === 'count' ? num(s?.count ?? 0, fmtInt) : ms(s, k)))],
    });
  };
  const agg = page.report.aggregate;
  add('latency', 'latency, all drivers', agg.latency);
  add('service_time', 'service time, all drivers', agg.service_time);
  add('send_lag', 'send lag, all drivers', agg.send_lag);
  add('send_gap', 'send gap, all drivers', agg.send_gap);
  for (const id of driverIds(page)) add(`latency-${id}`, `latency, ${id}`, page.report.nodes?.[id]?.latency ?? null);
  return { columns: ['', ...keys.map(([, label]) => label)], rows };
}

/** The per-driver table: what each driver sent and measured. */
export function driverTable(page: ReportPage): Table {
  const rows = driverIds(page).map((id) => {
    const s = page.report.nodes?.[id];
    const errors = sum(s?.errors);
    return {
      key: id,
      cells: [
        { text: id },
        { text: driverStanding(page.report, id) },
        num(s?.requests_sent ?? 0, fmtInt),
        num(s?.responses_received ?? 0, fmtInt),
        num(errors, fmtInt),
        num(s?.rps ?? null, fmtRate),
        num(s?.success_ratio ?? null, (v) => fmtPercent(v, 2)),
        ms(s?.latency, 'median'),
        ms(s?.latency, 'p90'),
        ms(s?.latency, 'p99'),
        ms(s?.latency, 'max'),
        { text: startOffset(page.report, id) ?? DASH, value: page.report.node_facts?.[id]?.start_offset_ms ?? null },
      ],
    };
  });
  return {
    columns: ['Driver', 'Standing', 'Sent', 'Responses', 'Errors', 'Rate', 'Success', 'p50', 'p90', 'p99', 'max', 'Start'],
    rows,
  };
}

/**
 * The per-request table: one row per request name, once test plans have named requests. Reports
 * today have one unnamed request, already the aggregate's row: no rows. Its place on the page
 * (and its tests) are ready for the per-request statistics the report files will carry.
 */
export function requestTable(page: ReportPage): Table {
  const agg = page.report.aggregate;
  const names = Object.keys(agg.by_name ?? {}).sort();
  const row = (key: string, label: string, v: StatsView) => ({
    key,
    cells: [
      { text: label },
      num(v.requests_sent, fmtInt),
      num(failures(v), fmtInt),
      ms(v.latency, 'median'),
      ms(v.latency, 'p95'),
      ms(v.latency, 'p99'),
      ms(v.latency, 'max'),
      num(v.rps, fmtRate),
      num(v.checks_passed ?? 0, fmtInt),
      num(v.checks_failed ?? 0, fmtInt),
      {
        text: Object.entries(v.status_codes ?? {})
          .map(([code, n]) => `${code}: ${fmtInt(n)}`)
          .join(', '),
      },
    ],
  });
  return {
    columns: ['Request', '# reqs', '# fails', 'median', 'p95', 'p99', 'max', 'req/s', 'checks passed', 'checks failed', 'status codes'],
    rows: names.length ? [...names.map((n) => row(n, n, agg.by_name![n]!)), row('all', 'Aggregated', agg)] : [],
  };
}

/** A row per flow: iterations started, completed, interrupted, dropped, and their durations. */
export function flowTable(page: ReportPage): Table {
  const flows = page.report.aggregate.flows ?? {};
  return {
    columns: ['Flow', 'started', 'completed', 'interrupted', 'dropped', 'iterations/s', 'duration median', 'p95', 'p99', 'max'],
    rows: Object.keys(flows)
      .sort()
      .map((name) => {
        const f = flows[name]!;
        return {
          key: name,
          cells: [
            { text: name },
            num(f.started, fmtInt),
            num(f.completed, fmtInt),
            num(f.interrupted, fmtInt),
            num(f.dropped, fmtInt),
            num(f.rate, fmtRate),
            ms(f.duration, 'median'),
            ms(f.duration, 'p95'),
            ms(f.duration, 'p99'),
            ms(f.duration, 'max'),
          ],
        };
      }),
  };
}

/** Late sends and send lag of a scheduled test (tsunami, rate), in total and per driver. */
export function scheduleTable(page: ReportPage): Table | null {
  const agg = page.report.aggregate;
  if (!agg.send_lag && !agg.send_gap && !agg.late_sends) return null;
  const row = (key: string, label: string, s: StatsView | undefined) => ({
    key,
    cells: [
      { text: label },
      num(s?.late_sends ?? 0, fmtInt),
      num(s ? (s.late_sends ?? 0) / Math.max(s.requests_sent, 1) : null, (v) => fmtPercent(v, 2)),
      ms(s?.send_lag, 'median'),
      ms(s?.send_lag, 'p99'),
      ms(s?.send_lag, 'max'),
      ms(s?.send_gap, 'median'),
      ms(s?.send_gap, 'p99'),
    ],
  });
  return {
    columns: ['', 'Late sends (> 1 ms)', 'Share late', 'Lag p50', 'Lag p99', 'Lag max', 'Gap p50', 'Gap p99'],
    rows: [row('all', 'all drivers', agg), ...driverIds(page).map((id) => row(id, id, page.report.nodes?.[id]))],
  };
}

/** What happened to each driver: finished, stopped (and why), or lost (and when). */
export function fateTable(page: ReportPage): Table {
  const start = page.report.started_at_ms ?? null;
  const rows = driverIds(page).map((id) => {
    const f = page.report.node_facts?.[id];
    const lostAt = f?.lost_at_ms ?? null;
    const when =
      lostAt === null ? DASH : `${fmtDateTime(lostAt)}${start === null ? '' : ` (${fmtDuration(Math.max(0, lostAt - start))} after the start)`}`;
    return {
      key: id,
      cells: [
        { text: id },
        { text: driverStanding(page.report, id) },
        { text: when, value: lostAt },
        { text: f?.stopped ?? DASH },
        num(f?.messages ?? null, fmtInt),
        num(f?.missing_messages ?? null, fmtInt),
        num(f?.elapsed_ms ?? null, fmtDuration),
        num(f?.last_send_us === undefined || f?.last_send_us === null ? null : f.last_send_us / 1000, fmtDuration),
        num(f?.last_response_us === undefined || f?.last_response_us === null ? null : f.last_response_us / 1000, fmtDuration),
      ],
    };
  });
  return {
    columns: ['Driver', 'Standing', 'Lost at', 'Stopped early', 'Messages', 'Missing', 'Measured', 'Last send', 'Last response'],
    rows,
  };
}

/** Error causes (kind: reason) with their counts, largest first. */
export function causeRows(stats: StatsView): [string, number][] {
  return Object.entries(stats.error_reasons ?? {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

export { chartColumns } from '../series';

/** A compared value in its metric's unit, exact in its cell. */
function comparedCell(metric: string, v: number | null | undefined): Cell {
  if (v === null || v === undefined) return { text: DASH, value: null };
  if (metric === 'throughput') return { text: fmtRate(v), value: v };
  if (metric === 'error_rate') return { text: fmtPercent(v, 2), value: v };
  return { text: fmtMs(v), value: v };
}

/** The change from base to new: percentage points for the error rate, else relative. */
function comparedChange(metric: string, b: number | null | undefined, n: number | null | undefined): string {
  if (b === null || b === undefined || n === null || n === undefined) return DASH;
  if (metric === 'error_rate') return `${n - b >= 0 ? '+' : ''}${fmtNum((n - b) * 100, 2)}pp`;
  if (b === 0) return n === 0 ? '0' : DASH;
  const rel = ((n - b) / b) * 100;
  return `${rel >= 0 ? '+' : ''}${fmtNum(rel, 1)}%`;
}

/** A comparison row's cells after its first: base, new, change, tolerance, verdict. */
function comparedCells(r: ComparisonRow): Cell[] {
  return [
    comparedCell(r.metric, r.base),
    comparedCell(r.metric, r.new),
    { text: comparedChange(r.metric, r.base, r.new) },
    { text: r.tolerance ?? DASH },
    { text: r.verdict },
  ];
}

/** A comparison's rows (`onslaught compare --html`), each value exact in its cell. */
export function comparisonTable(base: BaseRun): Table {
  return {
    columns: ['Metric', 'Base', 'New', 'Change', 'Tolerance', 'Verdict'],
    rows: base.rows.map((r) => ({ key: r.metric, cells: [{ text: r.metric }, ...comparedCells(r)] })),
  };
}

/** What a request name's presence says on the page. */
export function presenceText(presence: string): string {
  if (presence === 'base_only') return 'base run only';
  if (presence === 'new_only') return 'new run only';
  return 'both runs';
}

/**
 * A comparison's rows per request name (tests with flows): p50, p95, p99 and error rate of each
 * name, a name in one run only said so (and not judged). No rows without names.
 */
export function nameComparisonTable(base: BaseRun): Table {
  return {
    columns: ['Request', 'In', 'Metric', 'Base', 'New', 'Change', 'Tolerance', 'Verdict'],
    rows: (base.by_name ?? []).flatMap((n) =>
      n.rows.map((r) => ({
        key: `${n.name}-${r.metric}`,
        cells: [{ text: n.name }, { text: presenceText(n.presence) }, { text: r.metric }, ...comparedCells(r)],
      })),
    ),
  };
}

/** Every regression of a comparison page: the whole's metrics, then `NAME: metric`. */
export function comparisonRegressions(base: BaseRun): string[] {
  return [
    ...base.rows.filter((r) => r.verdict === 'regression').map((r) => r.metric),
    ...(base.by_name ?? []).flatMap((n) => n.rows.filter((r) => r.verdict === 'regression').map((r) => `${n.name}: ${r.metric}`)),
  ];
}

/**
 * Two runs' per-second values on one chart: `base` and `new` columns over every second either
 * has (each test's seconds count from its own start).
 */
export function overlayData(
  base: readonly SeriesPoint[] | undefined,
  next: readonly SeriesPoint[] | undefined,
  value: (p: SeriesPoint) => number | null | undefined,
): ChartData {
  const b = new Map((base ?? []).map((p) => [p.second, p]));
  const n = new Map((next ?? []).map((p) => [p.second, p]));
  const seconds = [...new Set([...b.keys(), ...n.keys()])].sort((x, y) => x - y);
  const first = seconds[0];
  const last = seconds[seconds.length - 1];
  if (first === undefined || last === undefined) return { labels: ['base', 'new'], columns: [[], [], []] };
  const x: number[] = [];
  for (let s = first; s <= last; s++) x.push(s);
  const col = (m: Map<number, SeriesPoint>) =>
    x.map((s) => {
      const p = m.get(s);
      const v = p ? value(p) : null;
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    });
  return { labels: ['base', 'new'], columns: [x, col(b), col(n)] };
}
