import { describe, expect, it } from 'vitest';
import { latencyData, nodeIdsOf, orderedPoints, settledPoints, throughputData } from '../src/series';
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
  it('leaves out the newest (still filling) second while the test runs', () => {
    const pts = [point(0), point(2), point(1)];
    expect(settledPoints(pts, true)?.map((p) => p.second)).toEqual([0, 1]);
    expect(settledPoints(pts, false)).toBe(pts);
    expect(settledPoints([point(0)], true)?.map((p) => p.second)).toEqual([0]);
    expect(settledPoints(undefined, true)).toBe(undefined);
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
