// The drivers list: every registered driver with its liveness, state and test.

import { h, setAttr, setText, syncKeyed } from '../dom';
import { fmtAgo, fmtInt } from '../format';
import type { State, Store } from '../store';
import type { NodeView } from '../types';

export function mountNodes(root: HTMLElement, store: Store): void {
  const summary = h('p', { class: 'hint', 'data-testid': 'nodes-summary', 'aria-live': 'polite' });
  const list = h('ul', { class: 'nodes', 'data-testid': 'nodes-list', 'aria-label': 'Drivers' });
  const cache = new Map<string, HTMLElement>();
  root.append(
    h('section', { class: 'card', 'aria-labelledby': 'nodes-title' }, h('h2', { id: 'nodes-title' }, 'Drivers'), summary, list),
  );

  function render(state: State): void {
    const now = Date.now();
    const count = (l: NodeView['liveness']) => state.nodes.filter((n) => n.liveness === l).length;
    setText(
      summary,
      state.nodes.length === 0
        ? 'No driver has registered yet. Start one with the orchestrator and Kafka addresses.'
        : `${count('alive')} alive, ${count('missing')} missing, ${count('dead')} dead.`,
    );
    syncKeyed(
      list,
      state.nodes,
      (n) => n.node_id,
      (n) =>
        h(
          'li',
          { class: 'node', 'data-testid': `node-${n.node_id}` },
          h('span', { class: 'liveness' }),
          h('span', { class: 'node-id' }, n.node_id),
          h('span', { class: 'node-state' }),
          h('span', { class: 'node-detail' }),
        ),
      (el, n) => {
        const [liveness, , state_, detail] = [...el.children] as HTMLElement[];
        setAttr(el, 'data-liveness', n.liveness);
        setAttr(el, 'data-state', n.state);
        setText(liveness!, n.liveness);
        liveness!.className = `liveness liveness-${n.liveness}`;
        setText(state_!, n.state);
        setText(
          detail!,
          [
            n.address,
            n.test_id ? `test ${n.test_id}` : null,
            n.reason ? `rejected: ${n.reason}` : null,
            `${fmtInt(n.requests_sent)} sent`,
            `heartbeat ${fmtAgo(n.last_heartbeat_ms, now)}`,
          ]
            .filter(Boolean)
            .join(' · '),
        );
      },
      cache,
    );
  }

  render(store.get());
  store.subscribe((state, prev) => {
    if (state.nodes !== prev.nodes) render(state);
  });
}
