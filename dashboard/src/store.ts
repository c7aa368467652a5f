// The page's state: every test and node the API has told us about, which test is shown,
// and the event stream's health. Changed only through `reduce`, which is pure.

import type { NodeView, TestView } from './types';

export type Connection = 'connecting' | 'open' | 'reconnecting';

export interface State {
  /** Every test seen so far, by id. */
  tests: Record<string, TestView>;
  /** Ids of `tests`, newest first. */
  order: string[];
  /** How many tests the orchestrator has in all (from the last list, plus ones seen since). */
  total: number;
  /** How many history rows to fetch. */
  historyLimit: number;
  nodes: NodeView[];
  /** The test picked by the person (history click, create, URL); null follows the current one. */
  selectedId: string | null;
  connection: Connection;
  /** Date.now() when the last event from the stream was applied. */
  lastEventMs: number | null;
  /** Ids the API said do not exist (a stale link). */
  missing: string[];
}

export const HISTORY_PAGE = 20;

export const initialState: State = {
  tests: {},
  order: [],
  total: 0,
  historyLimit: HISTORY_PAGE,
  nodes: [],
  selectedId: null,
  connection: 'connecting',
  lastEventMs: null,
  missing: [],
};

export type Action =
  | { type: 'tests-loaded'; tests: TestView[]; total: number }
  | { type: 'test-updated'; test: TestView; eventAt?: number }
  | { type: 'nodes-loaded'; nodes: NodeView[]; eventAt?: number }
  | { type: 'select'; id: string | null }
  | { type: 'connection'; connection: Connection }
  | { type: 'history-limit'; limit: number }
  | { type: 'test-missing'; id: string };

/**
 * Merges a newer view of a test over an older one, keeping fields the newer one omits.
 * A view whose metrics are older than the ones already shown (a list answer that was in flight
 * while a fresher event arrived) is dropped, so counts never step back.
 */
export function mergeTest(old: TestView | undefined, next: TestView): TestView {
  if (!old) return next;
  const oldAt = old.last_metrics_sent_at_ms;
  const nextAt = next.last_metrics_sent_at_ms;
  if (typeof oldAt === 'number' && typeof nextAt === 'number' && nextAt < oldAt) return old;
  const merged: TestView = { ...old, ...next };
  if (next.series === undefined && old.series !== undefined) merged.series = old.series;
  return merged;
}

function sortOrder(tests: Record<string, TestView>, ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort((a, b) => {
    const ta = tests[a]?.created_at_ms ?? 0;
    const tb = tests[b]?.created_at_ms ?? 0;
    return tb - ta || (a < b ? 1 : a > b ? -1 : 0);
  });
}

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case 'tests-loaded': {
      // The list is the truth for everything it covers; keep only tests newer than all
      // of it (seen in events while the list was in flight) on top.
      const tests: Record<string, TestView> = {};
      for (const t of action.tests) tests[t.id] = mergeTest(state.tests[t.id], t);
      const newestListed =
        action.tests.length > 0
          ? Math.max(...action.tests.map((t) => t.created_at_ms))
          : action.total === 0
            ? Infinity
            : -Infinity;
      let extra = 0;
      for (const id of state.order) {
        const t = state.tests[id];
        if (t && !(id in tests) && (t.created_at_ms > newestListed || id === state.selectedId)) {
          tests[id] = t;
          if (t.created_at_ms > newestListed) extra += 1;
        }
      }
      const order = sortOrder(tests, Object.keys(tests));
      return { ...state, tests, order, total: Math.max(action.total + extra, action.tests.length) };
    }
    case 'test-updated': {
      const known = action.test.id in state.tests;
      const tests = { ...state.tests, [action.test.id]: mergeTest(state.tests[action.test.id], action.test) };
      const order = known ? state.order : sortOrder(tests, [...state.order, action.test.id]);
      return {
        ...state,
        tests,
        order,
        total: known ? state.total : state.total + 1,
        lastEventMs: action.eventAt ?? state.lastEventMs,
      };
    }
    case 'nodes-loaded': {
      const nodes = [...action.nodes].sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0));
      return { ...state, nodes, lastEventMs: action.eventAt ?? state.lastEventMs };
    }
    case 'select':
      return state.selectedId === action.id ? state : { ...state, selectedId: action.id };
    case 'connection':
      return state.connection === action.connection ? state : { ...state, connection: action.connection };
    case 'history-limit':
      return { ...state, historyLimit: action.limit };
    case 'test-missing':
      return state.missing.includes(action.id) ? state : { ...state, missing: [...state.missing, action.id] };
  }
}

/**
 * The id of the test the live view shows: the picked one, else the newest test that is running
 * (or configuring, on its way to run), else the newest test. A test created but never started
 * is not running: an old one must not hide the tests created after it.
 */
export function shownTestId(state: State): string | null {
  if (state.selectedId !== null) return state.selectedId;
  const running = state.order.find((id) => {
    const t = state.tests[id];
    return t !== undefined && (t.status === 'running' || t.status === 'configuring');
  });
  return running ?? state.order[0] ?? null;
}

export function shownTest(state: State): TestView | null {
  const id = shownTestId(state);
  return id === null ? null : (state.tests[id] ?? null);
}

export function historyTests(state: State): TestView[] {
  const out: TestView[] = [];
  for (const id of state.order) {
    const t = state.tests[id];
    if (t) out.push(t);
  }
  return out;
}

export function aliveDrivers(state: State): number {
  return state.nodes.filter((n) => n.liveness === 'alive').length;
}

export type Listener = (state: State, previous: State) => void;

export interface Store {
  get(): State;
  dispatch(action: Action): void;
  subscribe(listener: Listener): () => void;
}

export function createStore(initial: State = initialState): Store {
  let state = initial;
  const listeners = new Set<Listener>();
  return {
    get: () => state,
    dispatch(action) {
      const previous = state;
      state = reduce(state, action);
      if (state !== previous) for (const l of listeners) l(state, previous);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
