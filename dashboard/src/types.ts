// Shapes of the orchestrator's REST API and event stream (see dashboard/README.md).
// These mirror the JSON exactly; nothing here is computed.

export type TestType = 'avalanche' | 'tsunami';

export interface Header {
  name: string;
  value: string;
}

/** Body of `POST /api/tests`. Counts, rates and concurrency are per driver. */
export interface TestRequest {
  test_type: TestType;
  url: string;
  method: string;
  headers: Header[];
  body: string | null;
  /** The body as standard base64, for bytes that are not UTF-8 (not with `body`). */
  body_base64?: string | null;
  delay_ms: number;
  rate: number | null;
  requests_per_driver: number | null;
  duration_ms: number | null;
  concurrency: number;
  timeout_ms: number;
  drivers: number | null;
  /** Statuses that count as success (`200,404`, `2xx`); 2xx and 3xx when absent. */
  expect_status?: string | null;
  /** Largest share of failed requests with which the test passes (0 to 1, default 0). */
  max_error_ratio?: number;
  start: boolean;
  /** Skip TLS certificate checks; sent only when true. */
  insecure?: boolean;
}

export type TestStatus =
  | 'created'
  | 'configuring'
  | 'running'
  | 'completed'
  | 'degraded'
  | 'failed'
  | 'aborted'
  | 'interrupted';

/** The resolved configuration of a test; `test_type` may come in either case. */
export interface TestConfig {
  test_type: string;
  url: string;
  method: string;
  delay_ms: number | null;
  rate: number | null;
  requests_per_driver: number | null;
  duration_ms: number | null;
  concurrency: number;
  timeout_ms: number;
  headers?: Header[];
  body?: string | null;
  insecure?: boolean;
  drivers?: number | null;
  /** A driver starting more than this many ms after the test's start time is warned about. */
  max_start_skew_ms?: number;
}

export type ErrorKind = 'connect' | 'timeout' | 'reset' | 'http_5xx' | 'aborted' | 'other';

/** Latency summary; every value in milliseconds (fractional). */
export interface Summary {
  count: number;
  min: number;
  max: number;
  mean: number;
  stdev: number;
  median: number;
  mode: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

export interface StatsView {
  /** Requests started, sent or not (a connection that could not be opened); newer orchestrators. */
  requests_attempted?: number;
  /** Requests written to a connection. */
  requests_sent: number;
  responses_received: number;
  errors: Partial<Record<ErrorKind, number>> & Record<string, number>;
  /** Errors by kind and cause, e.g. "connect: connection refused (os error 111)". */
  error_reasons?: Record<string, number>;
  status_codes: Record<string, number>;
  /** Bytes written to sockets. */
  bytes_sent: number;
  bytes_received: number;
  late_sends: number;
  rps: number;
  /** Responses with status < 500 over requests attempted (newer orchestrators). */
  success_ratio?: number;
  /** Null without responses. */
  latency: Summary | null;
  /** Null without responses. */
  service_time: Summary | null;
  /** Gaps between consecutive sends, for scheduled (tsunami) tests. */
  send_gap?: Summary | null;
  send_lag?: Summary | null;
}

/** Per-driver bookkeeping of a test. */
export interface NodeFacts {
  finished: boolean;
  lost: boolean;
  messages: number;
  missing_messages: number;
  elapsed_ms: number;
  /** µs from the driver's start to its last send. */
  last_send_us?: number;
  /** µs from the driver's start to the end of its last request. */
  last_response_us?: number;
  /** When the driver's run actually started, ms since the Unix epoch. */
  started_at_ms?: number;
  /** How many ms after the test's start time the driver's run started. */
  start_offset_ms?: number;
}

export interface SeriesPoint {
  second: number;
  requests: number;
  responses: number;
  errors: number;
  /** Null without responses in that second. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  mean: number | null;
  /** node id → requests sent by that node during this second */
  nodes: Record<string, number>;
}

export interface TestView {
  id: string;
  status: TestStatus;
  config: TestConfig;
  drivers: string[];
  created_at_ms: number;
  started_at_ms: number | null;
  ended_at_ms: number | null;
  message: string | null;
  /** E.g. a driver that started more than max_start_skew_ms late (newer orchestrators). */
  warnings?: string[];
  aggregate: StatsView;
  nodes: Record<string, StatsView>;
  node_facts?: Record<string, NodeFacts>;
  /** May be absent from list responses; the detail route and events carry it. */
  series?: SeriesPoint[];
  report_path: string | null;
  /** Why the final report could not be written; the test is over all the same. */
  report_error?: string;
  /**
   * When the driver sent the newest metrics message merged into this view, ms since the Unix
   * epoch (null before the first; absent from older orchestrators). Only grows, so of two views
   * of one test the one with the larger value is the newer.
   */
  last_metrics_sent_at_ms?: number | null;
}

export interface TestList {
  tests: TestView[];
  total: number;
}

export type NodeState = 'idle' | 'configured' | 'running' | 'finished' | 'rejected';
export type Liveness = 'alive' | 'missing' | 'dead';

export interface NodeView {
  node_id: string;
  address: string;
  state: NodeState;
  test_id: string | null;
  liveness: Liveness;
  last_heartbeat_ms: number;
  registered_at_ms: number;
  requests_sent: number;
  /** Why it rejected its last config, if it did. */
  reason?: string | null;
}

export interface NodeList {
  nodes: NodeView[];
}

/** Body of every 4xx/5xx answer. `field` names the offending TestRequest field (400 only). */
export interface ErrorBody {
  error: string;
  field?: string;
}

export const ACTIVE_STATUSES: readonly TestStatus[] = ['created', 'configuring', 'running'];

export function isActive(status: TestStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}

export const ERROR_KINDS: readonly ErrorKind[] = [
  'connect',
  'timeout',
  'reset',
  'http_5xx',
  'aborted',
  'other',
];
