import { describe, expect, it } from 'vitest';
import { createApi } from '../src/api';
import { fmtChange, fmtCompared, orderPicked, presence } from '../src/views/compare';
import { test as testView } from './fixtures';

describe('comparison formatting', () => {
  it('shows each metric in its unit', () => {
    expect(fmtCompared('throughput', 1234.4)).toBe('1,234/s');
    expect(fmtCompared('error_rate', 0.0125)).toBe('1.25%');
    expect(fmtCompared('p99', 202.1)).toBe('202 ms');
    expect(fmtCompared('p99', null)).toBe('—');
  });

  it('gives the change in percentage points for the error rate, relative otherwise', () => {
    const row = (metric: string, base: number | null, next: number | null) => ({
      metric,
      base,
      new: next,
      tolerance: null,
      verdict: 'info',
    });
    expect(fmtChange(row('error_rate', 0.01, 0.025))).toBe('+1.50pp');
    expect(fmtChange(row('p99', 2, 3))).toBe('+50%');
    expect(fmtChange(row('throughput', 200, 100))).toBe('-50%');
    expect(fmtChange(row('p99', 0, 0))).toBe('0');
    expect(fmtChange(row('p99', 0, 1))).toBe('—');
    expect(fmtChange(row('p99', null, 1))).toBe('—');
  });

  it('says which runs a request name is in', () => {
    expect(presence('both')).toBe('both runs');
    expect(presence('base_only')).toBe('base run only');
    expect(presence('new_only')).toBe('new run only');
  });

  it('takes the older of two picked tests as the base', () => {
    const older = testView('a', { created_at_ms: 1 });
    const newer = testView('b', { created_at_ms: 2 });
    expect(orderPicked(newer, older)).toEqual({ base: older, next: newer });
    expect(orderPicked(older, newer)).toEqual({ base: older, next: newer });
  });

  it('asks the orchestrator for the comparison and links its page', async () => {
    const calls: string[] = [];
    const fetch = (async (input: RequestInfo | URL) => {
      calls.push(String(input));
      return new Response(JSON.stringify({ base: 'a', new: 'b/c', rows: [], regressions: [] }));
    }) as typeof globalThis.fetch;
    const api = createApi({ fetch });
    const view = await api.compareTests('b/c', 'a');
    expect(view.new).toBe('b/c');
    expect(calls).toEqual(['api/tests/b%2Fc/compare?base=a']);
    expect(api.comparePageUrl('b/c', 'a&x')).toBe('api/tests/b%2Fc/compare.html?base=a%26x');
  });
});
