// The orchestrator's event stream (`GET api/events`). EventSource reconnects by itself;
// every (re)open calls `onOpen` so the page can re-fetch what it may have missed.

import type { NodeView, TestView } from './types';

export type StreamEvent = { kind: 'test'; test: TestView } | { kind: 'nodes'; nodes: NodeView[] };

/** Decodes one event's data; null for data that is not what the event's name promises. */
export function decodeEvent(name: string, data: string): StreamEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (name === 'test') {
    if (typeof v.id !== 'string' || typeof v.status !== 'string') return null;
    return { kind: 'test', test: value as TestView };
  }
  if (name === 'nodes') {
    if (!Array.isArray(v.nodes)) return null;
    return { kind: 'nodes', nodes: v.nodes as NodeView[] };
  }
  return null;
}

export interface StreamHandlers {
  onEvent(event: StreamEvent): void;
  onOpen(): void;
  onError(): void;
}

/** Opens the stream; returns a function that closes it. */
export function openStream(url: string, handlers: StreamHandlers): () => void {
  const source = new EventSource(url);
  const listen = (name: string) =>
    source.addEventListener(name, (e: MessageEvent<string>) => {
      const event = decodeEvent(name, e.data);
      if (event) handlers.onEvent(event);
    });
  listen('test');
  listen('nodes');
  source.addEventListener('open', () => handlers.onOpen());
  source.addEventListener('error', () => handlers.onError());
  return () => source.close();
}
