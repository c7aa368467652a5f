import { describe, expect, it } from 'vitest';
import {
  curveArea,
  curveAt,
  usersData,
  latencyData,
  nameSeries,
  nodeIdsOf,
  requestNames,
  orderedPoints,
  plannedInSecond,
  settledPoints,
  throughputData,
  withTarget,
} from '../src/series';
import type { NodeFacts, SeriesPoint, TestView } from '../src/types';
import { point, stats, test } from './fixtures';

describe('orderedPoints', () => {
  it('sorts by second and keeps the last duplicate', () => {
    const pts = orderedPoints([point(2, { requests: 1 }), point(0), point(2, { requests: 5 })]);
    expect(pts.map((p) => [p.second, p.requests])).toEqual([
      [0, 0],
      [2, 5],
    ]);
    expect(orderedPoints(undefined)).toEqual([]);
  });
});

describe('settledPoints', () => {
  const running = (series: SeriesPoint[] | undefined, over: Partial<TestView> = {}) => test('t', { status: 'running', series, ...over });

  it('leaves out the newest (still filling) second while the test runs', () => {
    const pts = [point(0), point(2), point(1)];
    expect(settledPoints(running(pts))?.map((p) => p.second)).toEqual([0, 1]);
    expect(settledPoints(test('t', { status: 'completed', series: pts }))).toBe(pts);
    expect(settledPoints(running([point(0)]))?.map((p) => p.second)).toEqual([0]);
    expect(settledPoints(running(undefined))).toBe(undefined);
  });
  it('leaves out every second a driver still sending has not yet reported past', () => {
    // a has reported second 3, b only second 2, c second 1: seconds 1 and later are incomplete
    // (c's share of second 1 may still come), so they would be drawn as a dip to (near) zero.
    const pts = [
      point(0, { requests: 30, nodes: { a: 10, b: 10, c: 10 } }),
      point(1, { requests: 20, nodes: { a: 10, b: 10, c: 0 } }),
      point(2, { requests: 10, nodes: { a: 10, b: 0 } }),
      point(3, { requests: 5, nodes: { a: 5 } }),
    ];
    expect(settledPoints(running(pts))?.map((p) => p.second)).toEqual([0]);
    // Once c reports second 2, seconds up to 1 are complete.
    const later = [...pts.slice(0, 2), point(2, { requests: 20, nodes: { a: 10, b: 0, c: 10 } }), pts[3]!];
    expect(settledPoints(running(later))?.map((p) => p.second)).toEqual([0, 1]);
  });
  it('does not wait for a driver that finished or was lost', () => {
    const pts = [
      point(0, { requests: 30, nodes: { a: 10, b: 10, c: 10 } }),
      point(1, { requests: 20, nodes: { a: 10, b: 10 } }),
      point(2, { requests: 20, nodes: { a: 10, b: 10 } }),
      point(3, { requests: 10, nodes: { a: 10, b: 10 } }),
    ];
    const facts = (over: Partial<NodeFacts>): NodeFacts => ({ finished: false, lost: false, messages: 1, missing_messages: 0, elapsed_ms: 0, ...over });
    expect(settledPoints(running(pts, { node_facts: { c: facts({ finished: true }) } }))?.map((p) => p.second)).toEqual([0, 1, 2]);
    expect(settledPoints(running(pts, { node_facts: { c: facts({ lost: true }) } }))?.map((p) => p.second)).toEqual([0, 1, 2]);
    expect(settledPoints(running(pts))?.map((p) => p.second)).toEqual([]);
  });
});

describe('throughputData', () => {
  it('has total, errors and one column per driver, gaps as null', () => {
    const data = throughputData(
      [
        point(0, { requests: 30, errors: 1, nodes: { a: 10, b: 20 } }),
        point(1, { requests: 5, nodes: { a: 5 } }),
        point(3, { requests: 7, nodes: { b: 7 } }),
      ],
      ['a', 'b'],
    );
    expect(data.labels).toEqual(['total', 'errors', 'a', 'b']);
    expect(data.columns).toEqual([
      [0, 1, 2, 3],
      [30, 5, null, 7],
      [1, 0, null, 0],
      [10, 5, null, 0],
      [20, 0, null, 7],
    ]);
  });
  it('once the test ended, draws nothing (null, not 0) after each line\'s last requests', () => {
    const pts = [
      point(0, { requests: 30, errors: 2, nodes: { a: 10, b: 20 } }),
      point(1, { requests: 10, errors: 0, nodes: { a: 0, b: 10 } }),
      point(2, { requests: 0, errors: 1, nodes: { a: 0, b: 0 } }),
      point(3, { requests: 0, nodes: { a: 0 } }),
    ];
    expect(throughputData(pts, ['a', 'b'], true).columns).toEqual([
      [0, 1, 2, 3],
      [30, 10, null, null],
      [2, 0, 1, null],
      [10, null, null, null],
      [20, 10, null, null],
    ]);
    // While it runs, a complete second with nothing sent is a true zero (a stalled target).
    expect(throughputData(pts, ['a', 'b']).columns[1]).toEqual([30, 10, 0, 0]);
    // Zeros in the middle stay zeros.
    const gap = [point(0, { requests: 5 }), point(1, { requests: 0 }), point(2, { requests: 5 })];
    expect(throughputData(gap, [], true).columns[1]).toEqual([5, 0, 5]);
  });
  it('is empty without points', () => {
    const data = throughputData([], ['a']);
    expect(data.columns).toEqual([[], [], [], []]);
  });
});

describe('latencyData', () => {
  it('plots percentiles only for seconds with responses', () => {
    const data = latencyData([
      point(0, { responses: 10, p50: 1, p95: 2, p99: 3 }),
      point(1, { responses: 0, p50: 0, p95: 0, p99: 0 }),
      point(2, { responses: 4, p50: 1.5, p95: 2.5, p99: 9 }),
    ]);
    expect(data.labels).toEqual(['p50', 'p95', 'p99']);
    expect(data.columns).toEqual([
      [0, 1, 2],
      [1, null, 1.5],
      [2, null, 2.5],
      [3, null, 9],
    ]);
  });
});

describe('request names per second', () => {
  const part = (requests: number, p99: number | null) => ({
    requests,
    responses: requests,
    errors: 0,
    p50: p99,
    p90: p99,
    p95: p99,
    p99,
    max: p99,
  });
  const points = [
    point(0, { requests: 3, responses: 3, by_name: { login: part(1, 5), item: part(2, 7) } }),
    point(1, { requests: 2, responses: 2, by_name: { item: part(2, 9) } }),
    point(2, { requests: 0 }),
  ];

  it('lists every name any second has, sorted', () => {
    expect(requestNames(points)).toEqual(['item', 'login']);
    expect(requestNames([point(0)])).toEqual([]);
    expect(requestNames(undefined)).toEqual([]);
  });

  it("draws one name's seconds as the whole's are drawn", () => {
    const item = nameSeries(points, 'item');
    expect(item.map((p) => [p.second, p.requests, p.p99])).toEqual([
      [0, 2, 7],
      [1, 2, 9],
    ]);
    expect(latencyData(nameSeries(points, 'login')).columns).toEqual([[0], [5], [5], [5]]);
    expect(nameSeries(points, 'nobody')).toEqual([]);
  });
});

describe('nodeIdsOf', () => {
  it('joins assigned drivers, reporting nodes and series nodes, sorted', () => {
    const t = test('t', {
      drivers: ['c', 'a'],
      nodes: { b: stats() },
      series: [point(0, { nodes: { d: 1 } })],
    });
    expect(nodeIdsOf(t)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('the schedule\'s target beside the achieved rate', () => {
  const ramp = [
    { duration_ms: 15000, target: 2000 },
    { duration_ms: 15000, target: 0 },
  ];
  const base = { ...test('x').config, test_type: 'tsunami' as const, requests_per_driver: null };
  it('is the area of a rate curve over each second', () => {
    expect(curveArea(ramp, 30)).toBeCloseTo(30000, 6);
    expect(curveArea(ramp, 15)).toBeCloseTo(15000, 6);
    expect(curveArea(ramp, 1)).toBeCloseTo(2000 / 15 / 2, 6);
    const total = { ...base, stages_total: ramp };
    expect(plannedInSecond(total, 3, 14)).toBeCloseTo(curveArea(ramp, 15) - curveArea(ramp, 14), 6);
    // Per driver, the test's total is that times the drivers; a shorter duration cuts the curve.
    expect(plannedInSecond({ ...base, stages: ramp, duration_ms: 1500 }, 3, 1)).toBeCloseTo(
      3 * (curveArea(ramp, 1.5) - curveArea(ramp, 1)),
      6,
    );
    expect(plannedInSecond({ ...base, stages: ramp, duration_ms: 1500 }, 3, 2)).toBe(0);
  });
  it('is the constant rate in total while the test lasts, none for an avalanche', () => {
    expect(plannedInSecond({ ...base, rate_total: 300, duration_ms: 2500 }, 3, 0)).toBe(300);
    expect(plannedInSecond({ ...base, rate_total: 300, duration_ms: 2500 }, 3, 2)).toBe(150);
    expect(plannedInSecond({ ...base, rate: 100 }, 3, 7)).toBe(300);
    expect(plannedInSecond({ ...base, delay_ms: 10 }, 2, 0)).toBe(200);
    expect(plannedInSecond({ ...test('x').config, test_type: 'avalanche' }, 2, 0)).toBe(null);
  });
  it('shows an avalanche\'s users beside its users curve, none for other tests', () => {
    const avalanche = { ...test('x').config, test_type: 'avalanche' as const, stages_total: [{ duration_ms: 2000, target: 10 }] };
    expect(curveAt(avalanche.stages_total, 0.5)).toBe(2.5);
    expect(curveAt(avalanche.stages_total, 9)).toBe(10);
    const data = usersData([point(0, { users: 2.1 }), point(1, { users: 7.4 })], avalanche, 3)!;
    expect(data.labels).toEqual(['users', 'target']);
    expect(data.columns[1]).toEqual([2.1, 7.4]);
    expect(data.columns[2]).toEqual([2.5, 7.5]);
    // Per driver: the total is the curve times the drivers.
    const perDriver = { ...avalanche, stages_total: [], stages: avalanche.stages_total };
    expect(usersData([point(0)], perDriver, 3)!.columns[2]).toEqual([7.5]);
    expect(usersData([point(0)], { ...base, rate: 5 }, 3)).toBe(null);
  });
  it('adds a target column only for a schedule', () => {
    const data = throughputData([point(0, { requests: 60 }), point(1, { requests: 200 })], []);
    const withIt = withTarget(data, { ...base, rate_total: 100 }, 3);
    expect(withIt.labels).toEqual(['total', 'errors', 'target']);
    expect(withIt.columns[3]).toEqual([100, 100]);
    expect(withTarget(data, { ...test('x').config, test_type: 'avalanche' }, 3)).toBe(data);
  });
});
