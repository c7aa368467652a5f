import { describe, expect, it } from 'vitest';
import { buildRequest, DEFAULT_VALUES, describeTotals, type FormValues } from '../src/request';

const form = (over: Partial<FormValues> = {}): FormValues => ({
  ...DEFAULT_VALUES,
  url: 'http://127.0.0.1:8080/ping',
  ...over,
});

describe('buildRequest', () => {
  it('writes its default count grouped, as every number on the page is', () => {
    expect(DEFAULT_VALUES.requests_per_driver).toBe('1,000');
  });

  it('builds an avalanche request with defaults', () => {
    const r = buildRequest(form(), true);
    expect(r).toEqual({
      ok: true,
      request: {
        test_type: 'avalanche',
        url: 'http://127.0.0.1:8080/ping',
        method: 'GET',
        headers: [],
        body: null,
        delay_ms: 0,
        rate: null,
        requests_per_driver: 1000,
        duration_ms: null,
        concurrency: 50,
        timeout_ms: 30000,
        drivers: null,
        start: true,
      },
    });
  });

  it('parses durations, counts and tsunami pacing', () => {
    const r = buildRequest(
      form({
        test_type: 'tsunami',
        method: 'post',
        delay_ms: '10ms',
        rate: '',
        requests_per_driver: '10k',
        duration_ms: '1m',
        concurrency: '200',
        timeout_ms: '5s',
        drivers: '3',
        body: '{"a":1}',
        headers: [
          { name: 'Content-Type', value: 'application/json' },
          { name: '', value: '' },
        ],
      }),
      false,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request).toMatchObject({
      test_type: 'tsunami',
      method: 'POST',
      delay_ms: 10,
      rate: null,
      requests_per_driver: 10_000,
      duration_ms: 60_000,
      concurrency: 200,
      timeout_ms: 5000,
      drivers: 3,
      body: '{"a":1}',
      headers: [{ name: 'Content-Type', value: 'application/json' }],
      start: false,
    });
  });

  it('sends a tsunami rate instead of a delay', () => {
    const r = buildRequest(form({ test_type: 'tsunami', rate: '250.5' }), true);
    expect(r.ok && r.request.rate).toBe(250.5);
    expect(r.ok && r.request.delay_ms).toBe(0);
  });

  it('ignores tsunami-only fields for avalanche, even when they do not parse', () => {
    const r = buildRequest(form({ test_type: 'avalanche', delay_ms: 'soon', rate: '100' }), true);
    expect(r.ok).toBe(true);
    expect(r.ok && r.request.rate).toBe(null);
    expect(r.ok && r.request.delay_ms).toBe(0);
  });

  it('names every bad field', () => {
    const r = buildRequest(
      form({
        url: 'ftp://x',
        method: 'GE T',
        requests_per_driver: '0',
        duration_ms: 'forever',
        concurrency: '1.5',
        timeout_ms: '0',
        drivers: 'two',
        headers: [{ name: '', value: 'orphan' }],
      }),
      true,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).sort()).toEqual(
      ['concurrency', 'drivers', 'duration_ms', 'headers', 'method', 'requests_per_driver', 'timeout_ms', 'url'].sort(),
    );
  });

  it('keeps fractional tsunami gaps and sends insecure only when ticked', () => {
    const r = buildRequest(form({ test_type: 'tsunami', delay_ms: '0.5ms', insecure: true }), true);
    expect(r.ok && r.request.delay_ms).toBe(0.5);
    expect(r.ok && r.request.insecure).toBe(true);
    const plain = buildRequest(form(), true);
    expect(plain.ok && 'insecure' in plain.request).toBe(false);
  });

  it('applies the orchestrator cross-field rules', () => {
    const tsunami = buildRequest(form({ test_type: 'tsunami', delay_ms: '', rate: '' }), true);
    expect(!tsunami.ok && tsunami.errors.delay_ms).toMatch(/delay above 0 or a rate/);
    const zeroGap = buildRequest(form({ test_type: 'tsunami', delay_ms: '0' }), true);
    expect(zeroGap.ok).toBe(false);
    const open = buildRequest(form({ requests_per_driver: '', duration_ms: '' }), true);
    expect(!open.ok && open.errors.requests_per_driver).toMatch(/count, a duration, or both/);
    expect(buildRequest(form({ requests_per_driver: '', duration_ms: '30s' }), true).ok).toBe(true);
  });

  it('accepts only letters as a method', () => {
    expect(buildRequest(form({ method: 'M-SEARCH' }), true).ok).toBe(false);
    expect(buildRequest(form({ method: 'purge' }), true).ok).toBe(true);
  });

  it('requires a URL', () => {
    const r = buildRequest(form({ url: '  ' }), true);
    expect(!r.ok && r.errors.url).toMatch(/URL/);
  });

  it('rejects a tsunami rate of zero', () => {
    const r = buildRequest(form({ test_type: 'tsunami', rate: '0' }), true);
    expect(!r.ok && r.errors.rate).toBeTruthy();
  });
});

describe('describeTotals', () => {
  it('multiplies per-driver values by the live drivers when no number is given', () => {
    const t = describeTotals(form({ requests_per_driver: '10k', concurrency: '50' }), 4);
    expect(t.requests_per_driver).toBe('Per driver. × 4 drivers = 40,000 requests in total.');
    expect(t.concurrency).toBe('Per driver. × 4 drivers = 200 connections in total.');
    expect(t.drivers).toBe('All live drivers take part (4 alive now).');
    expect(t.rate).toBeUndefined();
  });

  it('uses the requested number of drivers and warns when too few are alive', () => {
    const t = describeTotals(form({ requests_per_driver: '100', drivers: '3' }), 2);
    expect(t.requests_per_driver).toBe('Per driver. × 3 drivers = 300 requests in total.');
    expect(t.drivers).toBe('3 requested, but only 2 alive now.');
    expect(describeTotals(form({ drivers: '1' }), 2).requests_per_driver).toBe(
      'Per driver. × 1 driver = 1,000 requests in total.',
    );
  });

  it('explains tsunami pacing in total', () => {
    const t = describeTotals(form({ test_type: 'tsunami', rate: '100', delay_ms: '10ms' }), 2);
    expect(t.rate).toBe('Per driver. × 2 drivers = 200 requests/s in total.');
    expect(t.delay_ms).toBe('Gap kept on each driver: ≈ 100 requests/s per driver, 200/s in total.');
  });

  it('gives no total for a field that does not parse', () => {
    const t = describeTotals(form({ requests_per_driver: 'lots', concurrency: 'abc' }), 2);
    expect(t.requests_per_driver).toBeUndefined();
    expect(t.concurrency).toBeUndefined();
  });
});
