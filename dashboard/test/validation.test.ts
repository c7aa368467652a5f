import { describe, expect, it } from 'vitest';
import { ApiError, apiErrorFrom, formErrorsFrom, formFieldFor } from '../src/validation';

describe('formFieldFor', () => {
  it('matches field names exactly', () => {
    expect(formFieldFor('url')).toBe('url');
    expect(formFieldFor('requests_per_driver')).toBe('requests_per_driver');
    expect(formFieldFor('TIMEOUT_MS')).toBe('timeout_ms');
  });
  it('finds the field in nested paths', () => {
    expect(formFieldFor('headers[0].name')).toBe('headers');
    expect(formFieldFor('headers.1.value')).toBe('headers');
    expect(formFieldFor('config.url')).toBe('url');
    expect(formFieldFor('/concurrency')).toBe('concurrency');
  });
  it('knows a few synonyms', () => {
    expect(formFieldFor('type')).toBe('test_type');
    expect(formFieldFor('message_count_per_driver')).toBe('requests_per_driver');
    expect(formFieldFor('test_message_delay')).toBe('delay_ms');
    expect(formFieldFor('duration')).toBe('duration_ms');
  });
  it('returns null for unknown or missing fields', () => {
    expect(formFieldFor('nonsense')).toBe(null);
    expect(formFieldFor(undefined)).toBe(null);
    expect(formFieldFor('')).toBe(null);
  });
});

describe('formErrorsFrom', () => {
  it('puts a 400 with a known field next to that field', () => {
    const e = new ApiError(400, 'concurrency must be at most 10000', 'concurrency');
    expect(formErrorsFrom(e)).toEqual({ fields: { concurrency: 'concurrency must be at most 10000' }, general: null });
  });
  it('drops the "field: " the API puts before a field message', () => {
    const e = new ApiError(400, 'concurrency: must be between 1 and 100000', 'concurrency');
    expect(formErrorsFrom(e).fields).toEqual({ concurrency: 'Must be between 1 and 100000' });
    const h = new ApiError(400, 'headers[0].name: invalid header name `a b`', 'headers[0].name');
    expect(formErrorsFrom(h).fields).toEqual({ headers: 'Invalid header name `a b`' });
    const other = new ApiError(400, 'url: ', 'url');
    expect(formErrorsFrom(other).fields).toEqual({ url: 'url: ' });
  });
  it('shows a 400 without a known field as a general message', () => {
    expect(formErrorsFrom(new ApiError(400, 'bad json'))).toEqual({ fields: {}, general: 'bad json' });
    expect(formErrorsFrom(new ApiError(400, 'odd', 'whatever'))).toEqual({ fields: {}, general: 'odd' });
  });
  it('explains conflicts, auth and unreachable servers', () => {
    expect(formErrorsFrom(new ApiError(409, 'no live drivers')).general).toBe('Cannot start: no live drivers');
    expect(formErrorsFrom(new ApiError(401, 'nope')).general).toMatch(/token/);
    expect(formErrorsFrom(new ApiError(0, 'Failed to fetch')).general).toBe(
      'Cannot reach the orchestrator: Failed to fetch',
    );
  });
  it('never puts non-400 answers next to a field', () => {
    expect(formErrorsFrom(new ApiError(409, 'busy', 'url')).fields).toEqual({});
  });
  it('handles plain errors', () => {
    expect(formErrorsFrom(new Error('boom')).general).toBe('boom');
  });
});

describe('apiErrorFrom', () => {
  it('reads {error, field}', () => {
    const e = apiErrorFrom(400, { error: 'url is required', field: 'url' });
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.message, e.field]).toEqual([400, 'url is required', 'url']);
  });
  it('falls back to text bodies and status text', () => {
    expect(apiErrorFrom(502, 'Bad Gateway from proxy').message).toBe('Bad Gateway from proxy');
    expect(apiErrorFrom(500, null, 'Internal Server Error').message).toBe('Internal Server Error');
    expect(apiErrorFrom(503, null).message).toBe('HTTP 503');
    expect(apiErrorFrom(400, { message: 'alt' }).message).toBe('alt');
  });
});
