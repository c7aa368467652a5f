import { describe, expect, it } from 'vitest';
import {
  aliveDrivers,
  createStore,
  historyTests,
  initialState,
  mergeTest,
  reduce,
  shownTestId,
  type Action,
  type State,
} from '../src/store';
import { node, point, stats, test } from './fixtures';

const run = (...actions: Action[]): State => actions.reduce(reduce, initialState);

describe('reduce', () => {
  it('loads tests newest first', () => {
    const s = run({
      type: 'tests-loaded',
      tests: [test('old', { created_at_ms: 1 }), test('new', { created_at_ms: 3 }), test('mid', { created_at_ms: 2 })],
      total: 10,
    });
    expect(s.order).toEqual(['new', 'mid', 'old']);
    expect(s.total).toBe(10);
  });

  it('adds a test first seen in an event and counts it', () => {
    const s = run(
      { type: 'tests-loaded', tests: [test('a', { created_at_ms: 1 })], total: 1 },
      { type: 'test-updated', test: test('b', { created_at_ms: 5, status: 'running' }), eventAt: 42 },
    );
    expect(s.order).toEqual(['b', 'a']);
    expect(s.total).toBe(2);
    expect(s.lastEventMs).toBe(42);
  });

  it('updates a known test in place without recounting', () => {
    const s = run(
      { type: 'tests-loaded', tests: [test('a', { status: 'running' })], total: 1 },
      { type: 'test-updated', test: test('a', { status: 'completed', aggregate: stats({ requests_sent: 9 }) }) },
    );
    expect(s.total).toBe(1);
    expect(s.tests.a?.status).toBe('completed');
    expect(s.tests.a?.aggregate.requests_sent).toBe(9);
    expect(s.lastEventMs).toBe(null);
  });

  it('keeps the series when a list answer leaves it out', () => {
    const withSeries = test('a', { series: [point(0), point(1)] });
    const { series: _omitted, ...listItem } = test('a', { status: 'completed' });
    const s = run(
      { type: 'test-updated', test: withSeries },
      { type: 'tests-loaded', tests: [listItem], total: 1 },
    );
    expect(s.tests.a?.series).toHaveLength(2);
    expect(s.tests.a?.status).toBe('completed');
  });

  it('re-fetching after a reconnect does not duplicate history', () => {
    const list: Action = {
      type: 'tests-loaded',
      tests: [test('a', { created_at_ms: 1 }), test('b', { created_at_ms: 2 })],
      total: 2,
    };
    const s = run(list, list);
    expect(historyTests(s).map((t) => t.id)).toEqual(['b', 'a']);
  });

  it('drops tests the list no longer has, but keeps newer ones and the picked one', () => {
    const s = run(
      { type: 'tests-loaded', tests: [test('gone', { created_at_ms: 5 }), test('old', { created_at_ms: 1 })], total: 2 },
      { type: 'select', id: 'old' },
      { type: 'test-updated', test: test('fresh', { created_at_ms: 20 }) },
      { type: 'tests-loaded', tests: [test('kept', { created_at_ms: 10 })], total: 1 },
    );
    expect(s.order).toEqual(['fresh', 'kept', 'old']);
    expect(s.total).toBe(2);
  });

  it('an empty history forgets everything but the picked test', () => {
    const s = run(
      { type: 'tests-loaded', tests: [test('a', { created_at_ms: 5 }), test('b', { created_at_ms: 1 })], total: 2 },
      { type: 'select', id: 'b' },
      { type: 'tests-loaded', tests: [], total: 0 },
    );
    expect(s.order).toEqual(['b']);
  });

  it('remembers tests the API says do not exist', () => {
    const s = run({ type: 'test-missing', id: 'x' }, { type: 'test-missing', id: 'x' });
    expect(s.missing).toEqual(['x']);
  });

  it('sorts nodes by id and records when an event arrived', () => {
    const s = run({ type: 'nodes-loaded', nodes: [node('z'), node('a', { liveness: 'dead' })], eventAt: 7 });
    expect(s.nodes.map((n) => n.node_id)).toEqual(['a', 'z']);
    expect(s.lastEventMs).toBe(7);
    expect(aliveDrivers(s)).toBe(1);
  });

  it('returns the same state for no-op selects and connection changes', () => {
    expect(reduce(initialState, { type: 'select', id: null })).toBe(initialState);
    expect(reduce(initialState, { type: 'connection', connection: 'connecting' })).toBe(initialState);
  });
});

describe('shownTestId', () => {
  const loaded = run({
    type: 'tests-loaded',
    tests: [
      test('newest-done', { created_at_ms: 3, status: 'completed' }),
      test('running', { created_at_ms: 2, status: 'running' }),
      test('oldest', { created_at_ms: 1, status: 'failed' }),
    ],
    total: 3,
  });

  it('follows the newest active test', () => {
    expect(shownTestId(loaded)).toBe('running');
  });
  it('falls back to the newest test', () => {
    const s = reduce(loaded, { type: 'test-updated', test: test('running', { created_at_ms: 2, status: 'completed' }) });
    expect(shownTestId(s)).toBe('newest-done');
  });
  it('prefers the picked test', () => {
    expect(shownTestId(reduce(loaded, { type: 'select', id: 'oldest' }))).toBe('oldest');
    expect(shownTestId(reduce(loaded, { type: 'select', id: 'unknown' }))).toBe('unknown');
  });
  it('is null with no tests', () => {
    expect(shownTestId(initialState)).toBe(null);
  });
  it('shows the newest test, not an older one created but never started', () => {
    const s = run({
      type: 'tests-loaded',
      tests: [
        test('newest-done', { created_at_ms: 3, status: 'completed' }),
        test('old-created', { created_at_ms: 1, status: 'created' }),
      ],
      total: 2,
    });
    expect(shownTestId(s)).toBe('newest-done');
    // The same when the list comes back in another order.
    const t = run({
      type: 'tests-loaded',
      tests: [test('old-created', { created_at_ms: 1, status: 'created' }), test('newest-done', { created_at_ms: 3, status: 'failed' })],
      total: 2,
    });
    expect(shownTestId(t)).toBe('newest-done');
  });
  it('shows a running (or configuring) test before newer ones', () => {
    const s = run({
      type: 'tests-loaded',
      tests: [
        test('newest-created', { created_at_ms: 4, status: 'created' }),
        test('newer-done', { created_at_ms: 3, status: 'completed' }),
        test('configuring', { created_at_ms: 2, status: 'configuring' }),
        test('old-created', { created_at_ms: 1, status: 'created' }),
      ],
      total: 4,
    });
    expect(shownTestId(s)).toBe('configuring');
    const created = reduce(s, { type: 'test-updated', test: test('configuring', { created_at_ms: 2, status: 'aborted' }) });
    expect(shownTestId(created)).toBe('newest-created');
  });
});

describe('mergeTest', () => {
  it('takes new fields over old', () => {
    const merged = mergeTest(test('a', { message: 'x', series: [point(0)] }), test('a', { message: 'y', series: [] }));
    expect(merged.message).toBe('y');
    expect(merged.series).toEqual([]);
  });

  it('drops a view whose metrics are older than the shown ones', () => {
    const fresh = test('a', { status: 'running', last_metrics_sent_at_ms: 2000, message: 'fresh' });
    const stale = test('a', { status: 'running', last_metrics_sent_at_ms: 1500, message: 'stale' });
    expect(mergeTest(fresh, stale)).toBe(fresh);
    const ended = test('a', { status: 'completed', last_metrics_sent_at_ms: 2000, report_path: 'r' });
    expect(mergeTest(fresh, ended).status).toBe('completed');
    expect(mergeTest(fresh, test('a', { message: 'no stamp' })).message).toBe('no stamp');
  });

  it('keeps counts from stepping back when a list answer was in flight', () => {
    const s = run(
      { type: 'test-updated', test: test('a', { status: 'running', last_metrics_sent_at_ms: 2000, message: 'event' }) },
      { type: 'tests-loaded', tests: [test('a', { status: 'running', last_metrics_sent_at_ms: 1000, message: 'list' })], total: 1 },
    );
    expect(s.tests.a?.message).toBe('event');
  });
});

describe('createStore', () => {
  it('notifies listeners with the previous state only on change', () => {
    const store = createStore();
    const seen: [State, State][] = [];
    const off = store.subscribe((s, p) => seen.push([s, p]));
    store.dispatch({ type: 'select', id: 'x' });
    store.dispatch({ type: 'select', id: 'x' });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.[0].selectedId).toBe('x');
    expect(seen[0]?.[1].selectedId).toBe(null);
    off();
    store.dispatch({ type: 'select', id: 'y' });
    expect(seen).toHaveLength(1);
    expect(store.get().selectedId).toBe('y');
  });
});
