// Builders for API shapes used across the tests.

import type { NodeView, SeriesPoint, StatsView, Summary, TestView } from '../src/types';

export function summary(median = 10, count = 100): Summary {
  return {
    count,
    min: median / 2,
    max: median * 5,
    mean: median * 1.1,
    stdev: median / 3,
    median,
    mode: median,
    p90: median * 2,
    p95: median * 2.5,
    p99: median * 4,
    p999: median * 4.5,
  };
}

/** Without `success_ratio` unless given, as older orchestrators sent it (the dashboard computes it then). */
export function stats(over: Partial<StatsView> = {}): StatsView {
  return {
    requests_sent: 0,
    responses_received: 0,
    errors: {},
    status_codes: {},
    bytes_sent: 0,
    bytes_received: 0,
    late_sends: 0,
    rps: 0,
    latency: summary(0, 0),
    service_time: summary(0, 0),
    ...over,
  } as StatsView;
}

export function test(id: string, over: Partial<TestView> = {}): TestView {
  return {
    id,
    status: 'completed',
    config: {
      test_type: 'AVALANCHE',
      url: 'http://127.0.0.1:8080/ping',
      method: 'GET',
      delay_ms: 0,
      rate: null,
      requests_per_driver: 1000,
      iterations_per_driver: null,
      duration_ms: null,
      concurrency: 50,
      max_names: 100,
      timeout_ms: 30000,
      headers: [],
      body: null,
      body_base64: null,
      insecure: false,
      drivers: null,
      max_start_skew_ms: 500,
      expect_status: null,
      max_error_ratio: 0,
      start: true,
    },
    drivers: ['a', 'b'],
    created_at_ms: 1_000,
    started_at_ms: 2_000,
    ended_at_ms: null,
    message: null,
    aggregate: stats(),
    nodes: {},
    node_facts: {},
    series: [],
    report_path: null,
    last_metrics_sent_at_ms: null,
    warnings: [],
    ...over,
  };
}

export function point(second: number, over: Partial<SeriesPoint> = {}): SeriesPoint {
  return { second, requests: 0, responses: 0, errors: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0, nodes: {}, ...over };
}

export function node(id: string, over: Partial<NodeView> = {}): NodeView {
  return {
    node_id: id,
    address: '127.0.0.1:9000',
    state: 'idle',
    test_id: null,
    liveness: 'alive',
    last_heartbeat_ms: 0,
    registered_at_ms: 0,
    requests_sent: 0,
    ...over,
  };
}
