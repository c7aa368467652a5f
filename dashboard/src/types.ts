// Shapes of the orchestrator's REST API and event stream (see dashboard/README.md), as names
// for the dashboard's code. The shapes themselves are generated: src/api-types.ts comes from
// docs/openapi.json (`npm run gen:types`), which comes from the Rust types
// (`cargo run -p onslaught-api --example contract`). Nothing here is computed.

import type { components } from './api-types';

type Schemas = components['schemas'];

/** The canonical spellings of `test_type` (the API accepts any case). */
export type TestType = Lowercase<Schemas['TestRequest']['test_type']>;

export type Header = Schemas['Header'];
/** Body of `POST /api/tests`. Counts, rates and concurrency are per driver. */
export type TestRequest = Schemas['TestRequest'];
/** A test's request as the orchestrator writes it back (every field present). */
export type TestConfig = Schemas['TestConfig'];
/** A running test's new rate (`PATCH /api/tests/{id}`): `rate` per driver or `rate_total`. */
export type LoadChangeRequest = Schemas['LoadChangeRequest'];
/** A recorded change of a test's rate. */
export type LoadChange = Schemas['LoadChange'];
export type TestStatus = Schemas['TestStatus'];
/** Latency summary; every value in milliseconds (fractional). */
export type Summary = Schemas['Summary'];
export type StatsView = Schemas['StatsView'];
/** One flow's iterations (`StatsView.flows`). */
export type FlowView = Schemas['FlowView'];
/** Per-driver bookkeeping of a test. */
export type NodeFacts = Schemas['NodeFacts'];
export type SeriesPoint = Schemas['SeriesPoint'];
/**
 * A test as the API shows it. `series` is optional here (as in `TestListItem`, generated from the
 * same Rust type): the dashboard keeps list items, which leave it out, until an event brings it.
 */
export type TestView = Schemas['TestListItem'];
/** A TestView in a list answer: without `series`. */
export type TestListItem = Schemas['TestListItem'];
export type TestList = Schemas['TestList'];
export type NodeState = Schemas['NodeState'];
export type Liveness = Schemas['Liveness'];
export type NodeView = Schemas['NodeView'];
export type NodeList = Schemas['NodeList'];
/** Body of every 4xx/5xx answer. `field` names the offending TestRequest field (400 only). */
export type ErrorBody = Schemas['Error'];
/** One metric of a comparison of two runs, with its verdict. */
export type ComparisonRow = Schemas['ComparisonRow'];
/** `GET /api/tests/{id}/compare?base=`: the new run against the base, metric by metric. */
export type ComparisonView = Schemas['ComparisonView'];
/** The aggregate report file (`GET /api/tests/{id}/report`). */
export type Report = Schemas['Report'];
/** A node's report file (`node-<id>.json`). */
export type NodeReport = Schemas['NodeReport'];
/** The data block of the HTML report page: test.json, the node reports, the latency spectrum. */
export type ReportPage = Schemas['ReportPage'];
/** One step of the latency percentile spectrum. */
export type SpectrumStep = Schemas['SpectrumStep'];
/** The base run of a comparison page (`onslaught compare --html`). */
export type BaseRun = Schemas['BaseRun'];

/** The kinds of error the engine counts (keys of `StatsView.errors`). */
export type ErrorKind = 'connect' | 'timeout' | 'reset' | 'http_5xx' | 'aborted' | 'other';

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
