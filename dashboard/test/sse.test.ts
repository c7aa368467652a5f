import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../src/sse';
import { node, test } from './fixtures';

describe('decodeEvent', () => {
  it('decodes test and nodes events', () => {
    const t = test('t1', { status: 'running' });
    expect(decodeEvent('test', JSON.stringify(t))).toEqual({ kind: 'test', test: t });
    const nodes = [node('a')];
    expect(decodeEvent('nodes', JSON.stringify({ nodes }))).toEqual({ kind: 'nodes', nodes });
  });
  it('drops malformed or unknown events', () => {
    expect(decodeEvent('test', 'not json')).toBe(null);
    expect(decodeEvent('test', '{"status":"running"}')).toBe(null);
    expect(decodeEvent('nodes', '{"nodes":5}')).toBe(null);
    expect(decodeEvent('nodes', 'null')).toBe(null);
    expect(decodeEvent('other', '{}')).toBe(null);
  });
});
