// Builds chart data from a test's per-second series: one x value per second (gaps as
// null so a missing second shows as a break, not a made-up value). Pure.

import type { SeriesPoint, TestView } from './types';

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
 * The points worth drawing: while a test runs, its newest second is still filling (drivers report
 * every 500 ms), so it is left out rather than drawn as a dip at the right edge.
 */
export function settledPoints(points: readonly SeriesPoint[] | undefined, active: boolean): readonly SeriesPoint[] | undefined {
  if (!active || !points || points.length < 2) return points;
  const newest = Math.max(...points.map((p) => p.second));
  return points.filter((p) => p.second !== newest);
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

/** Requests sent per second: the total, errors, and one column per driver. */
export function throughputData(points: readonly SeriesPoint[] | undefined, nodeIds: readonly string[]): ChartData {
  const { x, at } = perSecond(points);
  const total = at.map((p) => (p ? p.requests : null));
  const errors = at.map((p) => (p ? p.errors : null));
  const perNode = nodeIds.map((id) => at.map((p) => (p ? (p.nodes?.[id] ?? 0) : null)));
  return {
    labels: ['total', 'errors', ...nodeIds],
    columns: [x, total, errors, ...perNode],
  };
}

/** Latency percentiles per second; seconds without responses have no latency (null). */
export function latencyData(points: readonly SeriesPoint[] | undefined): ChartData {
  const { x, at } = perSecond(points);
  const pick = (key: 'p50' | 'p95' | 'p99') =>
    at.map((p) => (p && p.responses > 0 && Number.isFinite(p[key]) ? p[key] : null));
  return { labels: ['p50', 'p95', 'p99'], columns: [x, pick('p50'), pick('p95'), pick('p99')] };
}
