// Builds chart data from a test's per-second series: one x value per second (gaps as
// null so a missing second shows as a break, not a made-up value). Pure.

import { isActive, type SeriesPoint, type TestRequest, type TestView } from './types';

export interface ChartData {
  /** Series names, in the order of `columns[1..]`. */
  labels: string[];
  /** `columns[0]` is the x axis (seconds since start); the rest are one column per label. */
  columns: [number[], ...(number | null)[][]];
}

/** Sorts points by second, last one wins for duplicates. */
export function orderedPoints(points: readonly SeriesPoint[] | undefined): SeriesPoint[] {
  if (!points || points.length === 0) return [];
  const bySecond = new Map<number, SeriesPoint>();
  for (const p of points) if (Number.isFinite(p.second)) bySecond.set(p.second, p);
  return [...bySecond.values()].sort((a, b) => a.second - b.second);
}

/**
 * The points worth drawing. While a test runs, its newest seconds are still filling: drivers
 * report every 500 ms, each in its own time, so a second is complete only once every driver
 * still sending has reported a later one (a driver's messages arrive in order). Seconds not yet
 * complete are left out rather than drawn as a dip at the right edge. Without per-driver data,
 * the newest second is left out. A finished test's points are all drawn.
 */
export function settledPoints(test: Pick<TestView, 'status' | 'series' | 'node_facts'>): readonly SeriesPoint[] | undefined {
  const points = test.series;
  if (!isActive(test.status) || !points || points.length === 0) return points;
  // The newest second each driver still sending has reported.
  const newestOf = new Map<string, number>();
  for (const p of points) {
    for (const id of Object.keys(p.nodes ?? {})) {
      const facts = test.node_facts?.[id];
      if (facts?.finished || facts?.lost) continue;
      newestOf.set(id, Math.max(newestOf.get(id) ?? -Infinity, p.second));
    }
  }
  if (newestOf.size === 0) {
    if (points.length < 2) return points;
    const newest = Math.max(...points.map((p) => p.second));
    return points.filter((p) => p.second !== newest);
  }
  const complete = Math.min(...newestOf.values());
  return points.filter((p) => p.second < complete);
}

/** Every second from the first to the last point, with the point for it (or undefined). */
function perSecond(points: readonly SeriesPoint[] | undefined): { x: number[]; at: (SeriesPoint | undefined)[] } {
  const ordered = orderedPoints(points);
  const first = ordered[0];
  const last = ordered[ordered.length - 1];
  if (!first || !last) return { x: [], at: [] };
  const index = new Map(ordered.map((p) => [p.second, p]));
  const x: number[] = [];
  const at: (SeriesPoint | undefined)[] = [];
  for (let s = first.second; s <= last.second; s++) {
    x.push(s);
    at.push(index.get(s));
  }
  return { x, at };
}

/** The drivers of a test: its assigned drivers, then any others that reported. Sorted. */
export function nodeIdsOf(test: TestView): string[] {
  const ids = new Set<string>(test.drivers ?? []);
  for (const id of Object.keys(test.nodes ?? {})) ids.add(id);
  for (const p of test.series ?? []) for (const id of Object.keys(p.nodes ?? {})) ids.add(id);
  return [...ids].sort();
}

/**
 * Requests sent per second: the total, errors, and one column per driver. Once a test has
 * `ended`, the seconds after a column's last non-zero value (the tail after the last send, while
 * the last responses and reports came in) are null, not zero: nothing was sending then, so they
 * are not drawn as throughput dropping to 0.
 */
export function throughputData(
  points: readonly SeriesPoint[] | undefined,
  nodeIds: readonly string[],
  ended = false,
): ChartData {
  const { x, at } = perSecond(points);
  const column = (value: (p: SeriesPoint) => number) => {
    const values = at.map((p) => (p ? value(p) : null));
    return ended ? withoutTrailingZeros(values) : values;
  };
  return {
    labels: ['total', 'errors', ...nodeIds],
    columns: [x, column((p) => p.requests), column((p) => p.errors), ...nodeIds.map((id) => column((p) => p.nodes?.[id] ?? 0))],
  };
}

/** Requests a rate curve (stages from 0 req/s, each linear to its target) sends in its first `t` s. */
export function curveArea(stages: readonly { duration_ms: number; target: number }[], t: number): number {
  let area = 0;
  let from = 0;
  let left = t;
  for (const stage of stages) {
    if (left <= 0) break;
    const length = stage.duration_ms / 1000;
    const u = Math.min(left, length);
    const at = from + ((stage.target - from) * u) / length;
    area += ((from + at) / 2) * u;
    left -= u;
    from = stage.target;
  }
  return area;
}

/**
 * The requests a tsunami test's schedule plans in second `s` in total over `drivers` drivers:
 * its rate curve's area over that second, or its constant rate (while its duration lasts); a
 * per-driver schedule times the drivers. Null for a test without a schedule (avalanche, whose
 * stages are users).
 */
export function plannedInSecond(cfg: TestRequest, drivers: number, s: number): number | null {
  const n = Math.max(drivers, 1);
  // An avalanche's stages are virtual users, not a rate: no request target.
  if (cfg.test_type.toLowerCase() !== 'tsunami') return null;
  const curve = cfg.stages?.length ? cfg.stages : cfg.stages_total;
  if (curve && curve.length > 0) {
    const end = cfg.duration_ms ? cfg.duration_ms / 1000 : Infinity;
    const total = curveArea(curve, Math.min(s + 1, end)) - curveArea(curve, Math.min(s, end));
    return cfg.stages?.length ? total * n : total;
  }
  const perSecond =
    cfg.rate_total ?? (cfg.rate ? cfg.rate * n : cfg.delay_ms && cfg.delay_ms > 0 ? (1000 / cfg.delay_ms) * n : null);
  if (perSecond === null || cfg.test_type.toLowerCase() !== 'tsunami') return null;
  const share = cfg.duration_ms ? Math.min(1, Math.max(0, cfg.duration_ms / 1000 - s)) : 1;
  return perSecond * share;
}

/** `data` (per second) with the schedule's planned requests of each second as a `target` column. */
export function withTarget(data: ChartData, cfg: TestRequest, drivers: number): ChartData {
  const [x, ...rest] = data.columns;
  if (x.length === 0 || plannedInSecond(cfg, drivers, 0) === null) return data;
  return {
    labels: [...data.labels, 'target'],
    columns: [x, ...rest, x.map((s) => plannedInSecond(cfg, drivers, s))],
  };
}

/** A curve's value (stages from 0, each linear to its target) at `t` s; its last target past its end. */
export function curveAt(stages: readonly { duration_ms: number; target: number }[], t: number): number {
  let from = 0;
  let left = t;
  for (const stage of stages) {
    const length = stage.duration_ms / 1000;
    if (left < length) return from + ((stage.target - from) * left) / length;
    left -= length;
    from = stage.target;
  }
  return from;
}

/**
 * An avalanche with stages of virtual users: the users running per second (mean over the
 * second, all drivers) and the curve's target at the middle of each second (in total: a
 * per-driver curve times the drivers). Null for any other test.
 */
export function usersData(points: readonly SeriesPoint[] | undefined, cfg: TestRequest, drivers: number): ChartData | null {
  if (cfg.test_type.toLowerCase() !== 'avalanche') return null;
  const curve = cfg.stages?.length ? cfg.stages : cfg.stages_total;
  if (!curve || curve.length === 0) return null;
  const n = cfg.stages?.length ? Math.max(drivers, 1) : 1;
  const end = cfg.duration_ms ? cfg.duration_ms / 1000 : Infinity;
  const { x, at } = perSecond(points);
  return {
    labels: ['users', 'target'],
    columns: [x, at.map((p) => p?.users ?? null), x.map((s) => (s + 0.5 < end ? curveAt(curve, s + 0.5) * n : null))],
  };
}

/** The values with the run of zeros (and gaps) at their end made null. */
function withoutTrailingZeros(values: (number | null)[]): (number | null)[] {
  let end = values.length;
  while (end > 0 && !values[end - 1]) end -= 1;
  return values.map((v, i) => (i < end ? v : null));
}

/** The latency statistics a series point has per second. */
export type LatencyKey = 'p50' | 'p90' | 'p95' | 'p99' | 'max';

/**
 * Latency percentiles per second (p50, p95, p99 unless `keys` says otherwise); seconds without
 * responses have no latency (null), nor do statistics a report written before them lacks.
 */
/** The numbers of a chart as plain arrays, for scripts and tests (`data-columns`). */
export function chartColumns(data: ChartData): Record<string, (number | null)[]> {
  const out: Record<string, (number | null)[]> = { x: data.columns[0] };
  data.labels.forEach((label, i) => {
    out[label] = data.columns[i + 1] ?? [];
  });
  return out;
}

/** The request names that have a part in any of the seconds (a test whose requests have several
 * names: the steps of its flows), sorted. */
export function requestNames(points: readonly SeriesPoint[] | undefined): string[] {
  const names = new Set<string>();
  for (const p of points ?? []) for (const name of Object.keys(p.by_name ?? {})) names.add(name);
  return [...names].sort();
}

/** One request name's own seconds, as series points (a second without that name is left out),
 * so the charts that draw the whole draw it alike. */
export function nameSeries(points: readonly SeriesPoint[] | undefined, name: string): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const p of points ?? []) {
    const n = p.by_name?.[name];
    if (!n) continue;
    out.push({
      second: p.second,
      requests: n.requests,
      responses: n.responses,
      errors: n.errors,
      p50: n.p50 ?? null,
      p90: n.p90 ?? null,
      p95: n.p95 ?? null,
      p99: n.p99 ?? null,
      max: n.max ?? null,
      mean: null,
      nodes: {},
    });
  }
  return out;
}

export function latencyData(
  points: readonly SeriesPoint[] | undefined,
  keys: readonly LatencyKey[] = ['p50', 'p95', 'p99'],
): ChartData {
  const { x, at } = perSecond(points);
  const pick = (key: LatencyKey) =>
    at.map((p) => {
      const v = p?.[key];
      return p && p.responses > 0 && typeof v === 'number' && Number.isFinite(v) ? v : null;
    });
  return { labels: [...keys], columns: [x, ...keys.map(pick)] };
}

/**
 * One column per driver of a per-second count taken from each driver's own series (e.g. its
 * errors), over every second any driver has, plus their `total` first. A second a driver has
 * no point for is null in its column.
 */
export function perDriverData(
  seriesOf: Readonly<Record<string, readonly SeriesPoint[] | undefined>>,
  nodeIds: readonly string[],
  value: (p: SeriesPoint) => number,
): ChartData {
  const seconds = new Set<number>();
  const index = nodeIds.map((id) => {
    const byS = new Map<number, SeriesPoint>();
    for (const p of orderedPoints(seriesOf[id])) {
      byS.set(p.second, p);
      seconds.add(p.second);
    }
    return byS;
  });
  if (seconds.size === 0) return { labels: ['total', ...nodeIds], columns: [[], [], ...nodeIds.map(() => [])] };
  const first = Math.min(...seconds);
  const last = Math.max(...seconds);
  const x: number[] = [];
  for (let s = first; s <= last; s++) x.push(s);
  const columns = index.map((byS) =>
    x.map((s) => {
      const p = byS.get(s);
      return p ? value(p) : null;
    }),
  );
  const total = x.map((_, i) => {
    const here = columns.map((c) => c[i]).filter((v): v is number => v !== null && v !== undefined);
    return here.length ? here.reduce((a, b) => a + b, 0) : null;
  });
  return { labels: ['total', ...nodeIds], columns: [x, total, ...columns] };
}
