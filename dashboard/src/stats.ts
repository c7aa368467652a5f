// Table rows and figures derived from a test's statistics. Pure.

import { DASH, fmtDuration, fmtInt, fmtMs, fmtNum, fmtRate, fmtTestType, sumCounts } from './format';
import { ERROR_KINDS, type FlowView, type StatsView, type Summary, type TestView } from './types';

/** Columns of the latency tables: Summary key and heading. */
export const SUMMARY_COLUMNS: readonly [keyof Summary, string][] = [
  ['min', 'min'],
  ['max', 'max'],
  ['mean', 'mean'],
  ['median', 'median'],
  ['mode', 'mode'],
  ['p90', 'p90'],
  ['p95', 'p95'],
  ['p99', 'p99'],
  ['p999', 'p99.9'],
];

/**
 * The cells of one latency table row, in SUMMARY_COLUMNS order. A summary of nothing (no
 * response yet) has no statistics: "—" in every cell, as on the tiles, never "0 ms".
 */
export function summaryCells(s: Summary | null | undefined): string[] {
  return SUMMARY_COLUMNS.map(([key]) => (s?.count ? fmtMs(s[key]) : DASH));
}

export interface CountRow {
  key: string;
  total: number;
  perNode: number[];
}

/**
 * Rows of a count table (errors by kind or status codes) with a total column and one
 * column per driver. `fixed` keys always appear (zero when absent); others when seen.
 */
export function countRows(
  pick: (s: StatsView) => Record<string, number> | undefined,
  aggregate: StatsView | undefined,
  nodes: Record<string, StatsView> | undefined,
  nodeIds: readonly string[],
  fixed: readonly string[] = [],
): CountRow[] {
  const keys = new Set<string>(fixed);
  const sources = [aggregate, ...nodeIds.map((id) => nodes?.[id])];
  for (const s of sources) if (s) for (const k of Object.keys(pick(s) ?? {})) keys.add(k);
  const extra = [...keys].filter((k) => !fixed.includes(k)).sort(compareKeys);
  return [...fixed, ...extra].map((key) => ({
    key,
    total: (aggregate && pick(aggregate)?.[key]) || 0,
    perNode: nodeIds.map((id) => {
      const s = nodes?.[id];
      return (s && pick(s)?.[key]) || 0;
    }),
  }));
}

/** Numeric keys in numeric order ("200" < "404" < "503"), then the rest alphabetically. */
function compareKeys(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  if (Number.isFinite(na)) return -1;
  if (Number.isFinite(nb)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function errorRows(test: TestView, nodeIds: readonly string[]): CountRow[] {
  return countRows((s) => s.errors, test.aggregate, test.nodes, nodeIds, ERROR_KINDS);
}

export function statusRows(test: TestView, nodeIds: readonly string[]): CountRow[] {
  return countRows((s) => s.status_codes, test.aggregate, test.nodes, nodeIds);
}

export function totalErrors(stats: StatsView | undefined): number {
  return sumCounts(stats?.errors);
}

/** Time the test has run: start to end, or to `now` while it runs. */
export function elapsedMs(test: TestView, now: number): number | null {
  if (test.started_at_ms === null || test.started_at_ms === undefined) return null;
  const end = test.ended_at_ms ?? now;
  return Math.max(0, end - test.started_at_ms);
}

export interface Progress {
  /** 0..1, or null when the test has no end set by count or duration. */
  fraction: number | null;
  label: string;
}

/** How far a test is: by requests sent against the per-driver count, or by time against duration. */
export function progress(test: TestView, now: number): Progress {
  const cfg = test.config;
  const drivers = Math.max(test.drivers?.length ?? 0, 1);
  const fractions: number[] = [];
  if (cfg.requests_per_driver) {
    const target = cfg.requests_per_driver * drivers;
    fractions.push((test.aggregate?.requests_sent ?? 0) / target);
  }
  const elapsed = elapsedMs(test, now);
  if (cfg.duration_ms && elapsed !== null) fractions.push(elapsed / cfg.duration_ms);
  if (fractions.length === 0) return { fraction: null, label: 'runs until stopped' };
  const fraction = Math.min(1, Math.max(0, ...fractions));
  return { fraction, label: `${Math.floor(fraction * 100)}%` };
}

/**
 * Share of requests sent that got an accepted status: the orchestrator's own
 * `success_ratio` when it sends one, else worked out from the status codes with the default
 * rule (2xx and 3xx).
 */
export function successRatio(stats: StatsView | undefined): number | null {
  if (!stats || !(stats.requests_attempted || stats.requests_sent)) return null;
  if (typeof stats.success_ratio === 'number' && Number.isFinite(stats.success_ratio)) return stats.success_ratio;
  let ok = 0;
  for (const [code, n] of Object.entries(stats.status_codes ?? {})) {
    const c = Number(code);
    if (c >= 200 && c < 400 && Number.isFinite(n)) ok += n;
  }
  return Math.min(1, ok / Math.max(stats.requests_attempted ?? 0, stats.requests_sent));
}

/** Errors of kind `connect`: requests whose connection could not be opened (never sent). */
export function connectErrors(stats: StatsView | undefined): number {
  return stats?.errors?.connect ?? 0;
}

/** When a driver's run started after the test's start time ("+12 ms"), or null if unknown. */
export function startOffset(test: TestView, id: string): string | null {
  const offset = test.node_facts?.[id]?.start_offset_ms;
  if (offset === undefined || offset === null || !Number.isFinite(offset)) return null;
  return `${offset >= 0 ? '+' : '−'}${fmtInt(Math.abs(offset))} ms`;
}

/** Whether a driver started later than the test allows (`max_start_skew_ms`, default 500). */
export function startedLate(test: TestView, id: string): boolean {
  const offset = test.node_facts?.[id]?.start_offset_ms;
  const allowed = test.config.max_start_skew_ms ?? 500;
  return typeof offset === 'number' && offset > allowed;
}

/** A sentence per takeover of dead drivers' share by the others (a test with a rate in total):
 * who, from when, and the gap in between with about how many requests it left unmeasured. */
export function takeoverLines(test: Pick<TestView, 'takeovers'>): string[] {
  return (test.takeovers ?? []).map(
    (t) =>
      `${t.drivers.join(', ')} took over the share of ${t.lost.join(', ')} from ` +
      `${(t.offset_ms / 1000).toFixed(1)} s; gap from ${(t.gap_from_offset_ms / 1000).toFixed(1)} s: ` +
      `about ${fmtInt(t.unmeasured)} requests unmeasured`,
  );
}

/** What a running test's load can change: a tsunami at a constant rate its rate, an avalanche
 * with constant users its users; a test on stages follows its curve (`null`). */
export function changeableLoad(cfg: Pick<TestView['config'], 'test_type' | 'stages' | 'stages_total'>): 'rate' | 'users' | null {
  if ((cfg.stages ?? []).length > 0 || (cfg.stages_total ?? []).length > 0) return null;
  return cfg.test_type.toLowerCase() === 'tsunami' ? 'rate' : 'users';
}

/** A sentence per change of the test's load: when, to what (per driver and in total), asked by
 * whom. */
export function loadChangeLines(test: Pick<TestView, 'load_changes'>): string[] {
  return (test.load_changes ?? []).map((c) => {
    const at = `at ${(c.offset_ms / 1000).toFixed(1)} s`;
    if (c.rate != null && c.rate_total != null) {
      return `Rate changed ${at} to ${fmtRate(c.rate)} per driver (${fmtRate(c.rate_total)} in total), asked by ${c.requested_by}`;
    }
    const each = c.users != null ? `${fmtInt(c.users)} per driver, ` : '';
    return `Users changed ${at} to ${each}${fmtInt(c.users_total ?? 0)} in total, asked by ${c.requested_by}`;
  });
}

/** A driver's standing in a test, from the orchestrator's bookkeeping. */
export function driverStanding(test: TestView, id: string): string {
  const facts = test.node_facts?.[id];
  if (!facts) return test.drivers?.includes(id) ? 'taking part' : 'reported';
  if (facts.lost) return 'lost';
  if (facts.finished) return 'finished';
  return 'sending';
}

/** "avalanche · GET http://… · 1,000 requests per driver × 4 = 4,000 · 50 connections per driver". */
export function describeConfig(test: TestView, driverCount: number): string {
  const cfg = test.config;
  const n = Math.max(driverCount, 1);
  const parts = [`${fmtTestType(cfg.test_type)}`, `${cfg.method ?? 'GET'} ${cfg.url ?? ''}`.trim()];
  if (cfg.requests_per_driver) {
    parts.push(`${fmtInt(cfg.requests_per_driver)} requests per driver × ${n} = ${fmtInt(cfg.requests_per_driver * n)}`);
  }
  if (cfg.duration_ms) parts.push(`for ${fmtDuration(cfg.duration_ms)}`);
  const stagesTotal = cfg.stages_total ?? [];
  const stages = cfg.stages ?? [];
  const peak = (list: { target: number }[]) => Math.max(0, ...list.map((s) => s.target));
  const curve = (list: { duration_ms: number; target: number }[]) =>
    list.map((s) => `${fmtDuration(s.duration_ms)} → ${fmtNum(s.target, 1)}`).join(', ');
  if (cfg.rate) parts.push(`${fmtNum(cfg.rate, 1)} req/s per driver (${fmtNum(cfg.rate * n, 1)}/s total)`);
  else if (cfg.rate_total) {
    parts.push(`${fmtNum(cfg.rate_total, 1)} req/s in total, split (${fmtNum(cfg.rate_total / n, 1)}/s per driver)`);
  } else if (stages.length > 0) {
    parts.push(
      `stages per driver: ${curve(stages)} req/s (peak ${fmtNum(peak(stages), 1)}/s per driver, ` +
        `${fmtNum(peak(stages) * n, 1)}/s total)`,
    );
  } else if (stagesTotal.length > 0) {
    parts.push(
      `stages in total: ${curve(stagesTotal)} req/s (peak ${fmtNum(peak(stagesTotal), 1)}/s total, ` +
        `${fmtNum(peak(stagesTotal) / n, 1)}/s per driver, split)`,
    );
  } else if (cfg.delay_ms) parts.push(`${fmtDuration(cfg.delay_ms)} between sends per driver`);
  if (cfg.concurrency) parts.push(`${fmtInt(cfg.concurrency)} connections per driver`);
  if (cfg.timeout_ms) parts.push(`timeout ${fmtDuration(cfg.timeout_ms)}`);
  return parts.join(' · ');
}

/** Requests that failed: attempted and not answered with an accepted status. */
export function failures(stats: StatsView | undefined): number {
  if (!stats) return 0;
  const attempted = Math.max(stats.requests_attempted ?? 0, stats.requests_sent);
  return Math.max(0, attempted - Math.round((successRatio(stats) ?? 0) * attempted));
}

/** Columns of the per-request table (Locust's). */
export const REQUEST_COLUMNS: readonly string[] = [
  'Name',
  '# reqs',
  '# fails',
  'median',
  'p95',
  'p99',
  'max',
  'req/s',
  '# checks failed',
];

const latencyCell = (s: Summary | null | undefined, key: keyof Summary) => (s?.count ? fmtMs(s[key]) : DASH);

/** One row of the per-request table, in REQUEST_COLUMNS order. */
export function requestCells(name: string, s: StatsView): string[] {
  return [
    name,
    fmtInt(s.requests_sent),
    fmtInt(failures(s)),
    latencyCell(s.latency, 'median'),
    latencyCell(s.latency, 'p95'),
    latencyCell(s.latency, 'p99'),
    latencyCell(s.latency, 'max'),
    fmtRate(s.rps),
    fmtInt(s.checks_failed ?? 0),
  ];
}

/**
 * The per-request table: a row per request name (merged over every driver), then the whole
 * test's ("Aggregated"); empty for a test of one request (it has no names).
 */
export function requestRows(agg: StatsView | undefined): { name: string; cells: string[] }[] {
  const names = Object.entries(agg?.by_name ?? {});
  if (!agg || names.length === 0) return [];
  return [
    ...names.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, s]) => ({ name, cells: requestCells(name, s) })),
    { name: '', cells: requestCells('Aggregated', agg) },
  ];
}

/** Columns of the flows table. */
export const FLOW_COLUMNS: readonly string[] = [
  'Flow',
  'started',
  'completed',
  'interrupted',
  'dropped',
  'iterations/s',
  'duration median',
  'p95',
  'max',
];

/** A row per flow: its iterations and the duration of the completed ones. */
export function flowRows(agg: StatsView | undefined): { name: string; cells: string[] }[] {
  return Object.entries(agg?.flows ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, f]: [string, FlowView]) => ({
      name,
      cells: [
        name,
        fmtInt(f.started),
        fmtInt(f.completed),
        fmtInt(f.interrupted),
        fmtInt(f.dropped),
        fmtRate(f.rate),
        latencyCell(f.duration, 'median'),
        latencyCell(f.duration, 'p95'),
        latencyCell(f.duration, 'max'),
      ],
    }));
}

/** "1,234 checks passed, 5 failed (99.6%) — failed: status × 3; body_contains × 2", or null. */
export function checksText(agg: StatsView | undefined): string | null {
  const passed = agg?.checks_passed ?? 0;
  const failed = agg?.checks_failed ?? 0;
  if (passed + failed === 0) return null;
  const share = ((passed / (passed + failed)) * 100).toFixed(1);
  const what = Object.entries(agg?.failed_checks ?? {}).map(([k, n]) => `${k} × ${fmtInt(n)}`);
  return (
    `${fmtInt(passed)} checks passed, ${fmtInt(failed)} failed (${share}% passed)` +
    (what.length ? ` — failed: ${what.join('; ')}` : '')
  );
}
