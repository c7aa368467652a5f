// Entry point: wires the API client, the event stream, the store and the views.
// All state comes from the API, so a reload or a reconnect loses nothing.

import { createApi } from './api';
import { createTokenSource } from './auth';
import { h, setText } from './dom';
import { openStream } from './sse';
import { ApiError } from './validation';
import { createStore, shownTestId, type State } from './store';
import './styles.css';
import { mountForm } from './views/form';
import { mountHistory } from './views/history';
import { mountLive } from './views/live';
import { mountNodes } from './views/nodes';
import { mountPlanForm } from './views/planform';

const store = createStore();
const api = createApi({ tokens: createTokenSource() });

// The selected test lives in the URL (#/tests/<id>) so it survives a reload.
const HASH = /^#\/tests\/(.+)$/;

function selectedFromHash(): string | null {
  const m = HASH.exec(window.location.hash);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

function select(id: string | null): void {
  const hash = id === null ? '' : `#/tests/${encodeURIComponent(id)}`;
  if (window.location.hash !== hash) {
    history.pushState(null, '', hash || window.location.pathname + window.location.search);
  }
  store.dispatch({ type: 'select', id });
}

window.addEventListener('popstate', () => store.dispatch({ type: 'select', id: selectedFromHash() }));
window.addEventListener('hashchange', () => store.dispatch({ type: 'select', id: selectedFromHash() }));

// Layout.
const app = document.getElementById('app')!;
const connection = h('span', { class: 'connection', 'data-testid': 'connection', role: 'status' }, 'connecting');
const banner = h('p', { class: 'banner', role: 'alert', 'data-testid': 'load-error', hidden: true });
const side = h('div', { class: 'column column-side' });
const primary = h('div', { class: 'column column-main' });
app.append(
  h('header', { class: 'top' }, h('h1', {}, 'onslaught'), h('span', { class: 'tagline' }, 'distributed HTTP load tests'), connection),
  banner,
  h('main', { class: 'layout' }, primary, side),
);

mountLive(primary, { api, store, select });
mountHistory(primary, { api, store, select });
mountForm(side, {
  api,
  store,
  onCreated(test) {
    store.dispatch({ type: 'test-updated', test });
    select(test.id);
  },
});
mountPlanForm(side, {
  api,
  onCreated(test) {
    store.dispatch({ type: 'test-updated', test });
    select(test.id);
  },
});
mountNodes(side, store);

// Loading.
function showError(error: unknown, what = 'Cannot load data from the orchestrator'): void {
  setText(banner, `${what}: ${error instanceof Error ? error.message : String(error)}`);
  banner.hidden = false;
}
function clearError(): void {
  banner.hidden = true;
}

let syncing: Promise<void> | null = null;
function resync(): Promise<void> {
  syncing ??= (async () => {
    try {
      const [tests, nodes] = await Promise.all([api.listTests(store.get().historyLimit, 0), api.listNodes()]);
      store.dispatch({ type: 'tests-loaded', tests: tests.tests ?? [], total: tests.total ?? 0 });
      store.dispatch({ type: 'nodes-loaded', nodes: nodes.nodes ?? [] });
      clearError();
    } catch (error) {
      showError(error);
    } finally {
      syncing = null;
    }
  })();
  return syncing;
}

// The live view needs a test's series; list answers may leave it out, so fetch the detail once.
const detailRequested = new Set<string>();
function ensureDetail(state: State): void {
  const id = shownTestId(state);
  if (id === null || detailRequested.has(id)) return;
  const test = state.tests[id];
  if (test && test.series !== undefined) return;
  detailRequested.add(id);
  api
    .getTest(id)
    .then((t) => store.dispatch({ type: 'test-updated', test: t }))
    .catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 404) store.dispatch({ type: 'test-missing', id });
      else if (!test) showError(error, `Cannot show test ${id}`);
      // Let a later render try again (e.g. once the orchestrator is back).
      if (!(error instanceof ApiError && error.status === 404)) detailRequested.delete(id);
    });
}

store.subscribe((state, prev) => {
  if (state.connection !== prev.connection) {
    setText(connection, state.connection === 'open' ? 'live' : state.connection);
    connection.className = `connection connection-${state.connection}`;
  }
  if (state.historyLimit !== prev.historyLimit) void resync();
  ensureDetail(state);
});

openStream(api.eventsUrl(), {
  onOpen() {
    store.dispatch({ type: 'connection', connection: 'open' });
    void resync();
  },
  onError() {
    store.dispatch({ type: 'connection', connection: 'reconnecting' });
  },
  onEvent(event) {
    const at = Date.now();
    if (event.kind === 'test') store.dispatch({ type: 'test-updated', test: event.test, eventAt: at });
    else store.dispatch({ type: 'nodes-loaded', nodes: event.nodes, eventAt: at });
  },
});

store.dispatch({ type: 'select', id: selectedFromHash() });
void resync();
ensureDetail(store.get());
