import { describe, expect, it } from 'vitest';
import {
  checksText,
  connectErrors,
  failures,
  FLOW_COLUMNS,
  flowRows,
  REQUEST_COLUMNS,
  requestRows,
  describeConfig,
  driverStanding,
  elapsedMs,
  errorRows,
  progress,
  startedLate,
  startOffset,
  statusRows,
  successRatio,
  summaryCells,
  SUMMARY_COLUMNS,
  totalErrors,
  changeableLoad,
  loadChangeLines,
} from '../src/stats';
import { DASH } from '../src/format';
import { stats, summary, test } from './fixtures';

describe('summaryCells', () => {
  it('shows a dash in every cell when nothing was measured, as the tiles do (never "0 ms")', () => {
    const none = Array(SUMMARY_COLUMNS.length).fill(DASH);
    expect(summaryCells(summary(0, 0))).toEqual(none);
    expect(summaryCells(stats().latency)).toEqual(none);
    expect(summaryCells(undefined)).toEqual(none);
    expect(summaryCells(null)).toEqual(none);
  });
  it('shows each statistic of a summary with values', () => {
    expect(summaryCells(summary(10, 5))).toEqual(['5 ms', '50 ms', '11 ms', '10 ms', '10 ms', '20 ms', '25 ms', '40 ms', '45 ms']);
  });
});

describe('count tables', () => {
  const t = test('t', {
    aggregate: stats({ errors: { timeout: 3, weird: 1 }, status_codes: { '503': 2, '200': 90, '404': 1 } }),
    nodes: {
      a: stats({ errors: { timeout: 1 }, status_codes: { '200': 40, '503': 2 } }),
      b: stats({ errors: { timeout: 2, weird: 1 }, status_codes: { '200': 50, '404': 1 } }),
    },
  });

  it('lists every error kind, then unknown ones, with per-driver counts', () => {
    const rows = errorRows(t, ['a', 'b']);
    expect(rows.map((r) => r.key)).toEqual(['connect', 'timeout', 'reset', 'http_5xx', 'aborted', 'other', 'weird']);
    expect(rows[1]).toEqual({ key: 'timeout', total: 3, perNode: [1, 2] });
    expect(rows[0]).toEqual({ key: 'connect', total: 0, perNode: [0, 0] });
  });

  it('orders status codes numerically', () => {
    const rows = statusRows(t, ['a', 'b']);
    expect(rows.map((r) => r.key)).toEqual(['200', '404', '503']);
    expect(rows[0]).toEqual({ key: '200', total: 90, perNode: [40, 50] });
  });

  it('tolerates a driver with no stats yet', () => {
    expect(statusRows(t, ['a', 'zzz'])[0]?.perNode).toEqual([40, 0]);
  });

  it('totals errors', () => {
    expect(totalErrors(t.aggregate)).toBe(4);
    expect(totalErrors(undefined)).toBe(0);
  });
});

describe('successRatio', () => {
  it('prefers the orchestrator ratio', () => {
    expect(successRatio(stats({ requests_sent: 100, success_ratio: 0.5, status_codes: { '200': 100 } }))).toBe(0.5);
  });
  it('else counts 2xx and 3xx answers against requests sent (the default accepted statuses)', () => {
    expect(successRatio(stats({ requests_sent: 100, status_codes: { '200': 85, '404': 5, '301': 5, '503': 5 } }))).toBe(
      0.9,
    );
    expect(successRatio(stats({ requests_sent: 0 }))).toBe(null);
  });
});

describe('driverStanding', () => {
  it('reads the node facts', () => {
    const facts = { finished: false, lost: false, messages: 3, missing_messages: 0, elapsed_ms: 0 };
    const t = test('t', {
      drivers: ['a', 'b', 'c'],
      node_facts: { a: { ...facts, finished: true }, b: { ...facts, lost: true }, c: facts },
    });
    expect(['a', 'b', 'c'].map((id) => driverStanding(t, id))).toEqual(['finished', 'lost', 'sending']);
    expect(driverStanding(test('u'), 'a')).toBe('taking part');
    expect(driverStanding(test('u'), 'z')).toBe('reported');
  });
});

describe('progress and elapsed', () => {
  it('measures by requests against the per-driver count times drivers', () => {
    const t = test('t', { drivers: ['a', 'b'], aggregate: stats({ requests_sent: 500 }) });
    expect(progress(t, 0)).toEqual({ fraction: 0.25, label: '25%' });
  });
  it('measures by time against the duration', () => {
    const t = test('t', {
      started_at_ms: 1000,
      config: { ...test('x').config, requests_per_driver: null, duration_ms: 10_000 },
    });
    expect(progress(t, 6000)).toEqual({ fraction: 0.5, label: '50%' });
    expect(elapsedMs(t, 6000)).toBe(5000);
    expect(elapsedMs({ ...t, ended_at_ms: 3000 }, 6000)).toBe(2000);
  });
  it('has no fraction for open-ended tests', () => {
    const t = test('t', { config: { ...test('x').config, requests_per_driver: null, duration_ms: null } });
    expect(progress(t, 0).fraction).toBe(null);
    expect(elapsedMs({ ...t, started_at_ms: null }, 5)).toBe(null);
  });
});

describe('describeConfig', () => {
  it('states per-driver values with their totals', () => {
    const t = test('t', {
      config: { ...test('x').config, test_type: 'TSUNAMI', rate: 50, requests_per_driver: 1000 },
    });
    expect(describeConfig(t, 4)).toBe(
      'tsunami · GET http://127.0.0.1:8080/ping · 1,000 requests per driver × 4 = 4,000 · ' +
        '50 req/s per driver (200/s total) · 50 connections per driver · timeout 30 s',
    );
  });

  it('says when a rate or a curve is in total and shows it per driver too', () => {
    const base = { ...test('x').config, test_type: 'tsunami' as const, requests_per_driver: null };
    const total = test('t', { config: { ...base, rate_total: 300 } });
    expect(describeConfig(total, 3)).toContain('300 req/s in total, split (100/s per driver)');
    const stages = [
      { duration_ms: 15000, target: 2000 },
      { duration_ms: 15000, target: 0 },
    ];
    const curve = test('t', { config: { ...base, stages_total: stages } });
    expect(describeConfig(curve, 4)).toContain('peak 2,000/s total, 500/s per driver, split');
    const perDriver = test('t', { config: { ...base, stages } });
    expect(describeConfig(perDriver, 4)).toContain('peak 2,000/s per driver, 8,000/s total');
  });
});

describe('driver starts and connect failures', () => {
  const t = test('t', {
    config: { ...test('x').config, max_start_skew_ms: 500 },
    node_facts: {
      a: { finished: true, lost: false, messages: 3, missing_messages: 0, elapsed_ms: 2000, start_offset_ms: 4 },
      b: { finished: true, lost: false, messages: 3, missing_messages: 0, elapsed_ms: 2000, start_offset_ms: 1012 },
      c: { finished: true, lost: false, messages: 3, missing_messages: 0, elapsed_ms: 2000 },
    },
  });

  it('shows each driver start offset from the test start and flags a late one', () => {
    expect(startOffset(t, 'a')).toBe('+4 ms');
    expect(startOffset(t, 'b')).toBe('+1,012 ms');
    expect(startOffset(t, 'c')).toBeNull();
    expect(startedLate(t, 'a')).toBe(false);
    expect(startedLate(t, 'b')).toBe(true);
    expect(startedLate(t, 'c')).toBe(false);
  });

  it('counts connect failures and judges success against attempts, not sends', () => {
    const refused = stats({ requests_attempted: 10, requests_sent: 0, errors: { connect: 10 }, latency: null });
    expect(connectErrors(refused)).toBe(10);
    expect(successRatio(stats({ ...refused, success_ratio: undefined }))).toBe(0);
    const half = stats({ requests_attempted: 10, requests_sent: 5, status_codes: { '200': 5 }, success_ratio: undefined });
    expect(successRatio(half)).toBe(0.5);
  });
});

describe('per-request table', () => {
  const login = stats({
    requests_sent: 10,
    requests_attempted: 10,
    success_ratio: 0.9,
    rps: 5,
    checks_failed: 1,
    latency: summary(10, 10),
  });
  const item = stats({ requests_sent: 4, requests_attempted: 4, success_ratio: 1, rps: 2, latency: summary(20, 4) });
  const agg = stats({
    requests_sent: 14,
    requests_attempted: 14,
    success_ratio: 13 / 14,
    rps: 7,
    checks_passed: 20,
    checks_failed: 1,
    failed_checks: { status: 1 },
    latency: summary(12, 14),
    by_name: { login, item },
    flows: { buy: { started: 5, completed: 4, interrupted: 1, dropped: 2, rate: 2, duration: summary(100, 4) } },
  });
  it('has a row per name, in name order, then the whole test', () => {
    const rows = requestRows(agg);
    expect(rows.map((r) => r.cells[0])).toEqual(['item', 'login', 'Aggregated']);
    expect(REQUEST_COLUMNS).toHaveLength(rows[0]!.cells.length);
    expect(rows[1]!.cells).toEqual(['login', '10', '1', '10 ms', '25 ms', '40 ms', '50 ms', '5/s', '1']);
    expect(rows[2]!.cells.slice(1, 3)).toEqual(['14', '1']);
    expect(failures(agg)).toBe(1);
  });
  it('is empty for a test of one request', () => {
    expect(requestRows(stats({ requests_sent: 3 }))).toEqual([]);
    expect(requestRows(undefined)).toEqual([]);
  });
  it('shows flows and checks', () => {
    const [buy] = flowRows(agg);
    expect(buy!.cells).toEqual(['buy', '5', '4', '1', '2', '2/s', '100 ms', '250 ms', '500 ms']);
    expect(FLOW_COLUMNS).toHaveLength(buy!.cells.length);
    expect(checksText(agg)).toBe('20 checks passed, 1 failed (95.2% passed) — failed: status × 1');
    expect(checksText(stats())).toBeNull();
  });
});

describe('load changes', () => {
  it('a constant rate or constant users can change; stages cannot', () => {
    expect(changeableLoad({ test_type: 'tsunami' })).toBe('rate');
    expect(changeableLoad({ test_type: 'AVALANCHE', stages: [] })).toBe('users');
    expect(changeableLoad({ test_type: 'avalanche', stages_total: [{ duration_ms: 1000, target: 5 }] })).toBeNull();
    expect(changeableLoad({ test_type: 'tsunami', stages: [{ duration_ms: 1000, target: 5 }] })).toBeNull();
  });

  it('says what changed, when, and who asked, per driver and in total', () => {
    const lines = loadChangeLines(
      test('t', {
        load_changes: [
          { at_ms: 3_500, offset_ms: 2_500, rate: 200, rate_total: 600, requested_at_ms: 3_000, requested_by: 'api' },
          { at_ms: 4_500, offset_ms: 3_500, users: 5, users_total: 15, requested_at_ms: 4_000, requested_by: 'dashboard' },
          { at_ms: 5_500, offset_ms: 4_500, users_total: 7, requested_at_ms: 5_000, requested_by: 'dashboard' },
        ],
      }),
    );
    expect(lines).toEqual([
      'Rate changed at 2.5 s to 200/s per driver (600/s in total), asked by api',
      'Users changed at 3.5 s to 5 per driver, 15 in total, asked by dashboard',
      'Users changed at 4.5 s to 7 in total, asked by dashboard',
    ]);
  });
});
