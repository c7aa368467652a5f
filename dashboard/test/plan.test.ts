import { describe, expect, it } from 'vitest';
import { createApi } from '../src/api';
import { planContentType, planErrorMessage, planIsBlank } from '../src/plan';
import { ApiError } from '../src/validation';
import { test as makeTest } from './fixtures';

describe('planContentType', () => {
  it('goes by the file extension first', () => {
    expect(planContentType('{"a": 1}', 'shop.yaml')).toBe('application/yaml');
    expect(planContentType('name: x', 'shop.JSON')).toBe('application/json');
    expect(planContentType('name: x', 'shop.yml')).toBe('application/yaml');
  });
  it('else by the text', () => {
    expect(planContentType('  \n{"test_type": "avalanche"}')).toBe('application/json');
    expect(planContentType('test_type: avalanche')).toBe('application/yaml');
    expect(planContentType('# a comment\n{}', 'plan.txt')).toBe('application/yaml');
  });
});

describe('planErrorMessage', () => {
  it('leads with the path in the document', () => {
    const unknown = new ApiError(400, 'unknown field `jsonpath`', 'flows[0].steps[2].extract.token.jsonpath');
    expect(planErrorMessage(unknown)).toBe('flows[0].steps[2].extract.token.jsonpath: unknown field `jsonpath`');
    const already = new ApiError(400, 'flows[0].name: invalid type', 'flows[0].name');
    expect(planErrorMessage(already)).toBe('flows[0].name: invalid type');
    expect(planErrorMessage(new ApiError(400, 'not valid YAML: x'))).toBe('not valid YAML: x');
    expect(planErrorMessage(new Error('offline'))).toBe('offline');
  });
  it('tells blank plans', () => {
    expect(planIsBlank(' \n ')).toBe(true);
    expect(planIsBlank('name: x')).toBe(false);
  });
});

describe('createTestFromPlan', () => {
  it('sends the text as is with its content type and reads the error path', async () => {
    const calls: { type: string | undefined; body: unknown }[] = [];
    const answers: [number, unknown][] = [
      [201, makeTest('t-1')],
      [400, { error: 'flows[0].steps[1].thinking: unknown field `thinking`', field: 'flows[0].steps[1].thinking' }],
    ];
    const fetch = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      calls.push({ type: headers['Content-Type'], body: init?.body });
      const [status, body] = answers.shift() ?? [500, { error: 'none' }];
      return new Response(JSON.stringify(body), { status });
    }) as typeof globalThis.fetch;
    const api = createApi({ fetch });
    const yaml = 'name: shop\ntest_type: avalanche\n';
    await api.createTestFromPlan(yaml, 'application/yaml');
    expect(calls[0]).toEqual({ type: 'application/yaml', body: yaml });
    const error = await api.createTestFromPlan(yaml, 'application/yaml').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).field).toBe('flows[0].steps[1].thinking');
    expect(planErrorMessage(error)).toBe('flows[0].steps[1].thinking: unknown field `thinking`');
  });
});
