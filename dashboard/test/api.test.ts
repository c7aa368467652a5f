import { describe, expect, it } from 'vitest';
import { createApi, type TokenSource } from '../src/api';
import { ApiError } from '../src/validation';
import { test as makeTest } from './fixtures';

interface Call {
  url: string;
  method: string;
  auth: string | null;
  body: string | null;
}

function fakeFetch(answers: [number, unknown][]) {
  const calls: Call[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({
      url: String(input),
      method: init?.method ?? 'GET',
      auth: headers.Authorization ?? null,
      body: typeof init?.body === 'string' ? init.body : null,
    });
    const [status, body] = answers.shift() ?? [500, { error: 'no more answers' }];
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(status === 204 ? null : text, { status });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

function tokens(answers: (string | null)[]): TokenSource & { asked: string[] } {
  let current: string | null = null;
  const asked: string[] = [];
  return {
    asked,
    get: () => current,
    clear: () => {
      current = null;
    },
    ask: async (reason) => {
      asked.push(reason);
      current = answers.shift() ?? null;
      return current;
    },
  };
}

describe('createApi', () => {
  it('uses relative paths and sends JSON', async () => {
    const { fetch, calls } = fakeFetch([[201, makeTest('t1')]]);
    const api = createApi({ fetch });
    const t = await api.createTest({
      test_type: 'avalanche',
      url: 'http://x/',
      method: 'GET',
      headers: [],
      body: null,
      delay_ms: 0,
      rate: null,
      requests_per_driver: 1,
      duration_ms: null,
      concurrency: 1,
      timeout_ms: 1,
      drivers: null,
      start: true,
    });
    expect(t.id).toBe('t1');
    expect(calls[0]).toMatchObject({ url: 'api/tests', method: 'POST' });
    expect(JSON.parse(calls[0]?.body ?? '{}')).toMatchObject({ url: 'http://x/', start: true });
    expect(api.reportUrl('a/b')).toBe('api/tests/a%2Fb/report');
    expect(api.eventsUrl()).toBe('api/events');
  });

  it('builds list and action paths', async () => {
    const { fetch, calls } = fakeFetch([
      [200, { tests: [], total: 0 }],
      [200, makeTest('x')],
      [200, makeTest('x')],
      [200, { nodes: [] }],
    ]);
    const api = createApi({ fetch, base: '/api/' });
    await api.listTests(20, 40);
    await api.startTest('x');
    await api.stopTest('x');
    await api.listNodes();
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET /api/tests?limit=20&offset=40',
      'POST /api/tests/x/start',
      'POST /api/tests/x/stop',
      'GET /api/nodes',
    ]);
  });

  it('changes a running test\'s rate with PATCH, saying the dashboard asked', async () => {
    const requested: (string | null)[] = [];
    const { fetch, calls } = fakeFetch([[200, makeTest('x')]]);
    const spy = (async (input: RequestInfo | URL, init?: RequestInit) => {
      requested.push(((init?.headers ?? {}) as Record<string, string>)['X-Requested-By'] ?? null);
      return fetch(input, init);
    }) as typeof globalThis.fetch;
    await createApi({ fetch: spy, base: '/api/' }).changeLoad('x', { rate_total: 900 });
    expect(calls.map((c) => `${c.method} ${c.url} ${c.body}`)).toEqual(['PATCH /api/tests/x {"rate_total":900}']);
    expect(requested).toEqual(['dashboard']);
  });

  it('turns a 400 into an ApiError carrying the field', async () => {
    const { fetch } = fakeFetch([[400, { error: 'url is required', field: 'url' }]]);
    const err = await createApi({ fetch })
      .getTest('x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, message: 'url is required', field: 'url' });
  });

  it('asks for a token on 401 and retries with it', async () => {
    const { fetch, calls } = fakeFetch([
      [401, { error: 'token required' }],
      [200, makeTest('x')],
    ]);
    const source = tokens(['s3cret']);
    const t = await createApi({ fetch, tokens: source }).stopTest('x');
    expect(t.id).toBe('x');
    expect(source.asked).toEqual(['token required']);
    expect(calls.map((c) => c.auth)).toEqual([null, 'Bearer s3cret']);
  });

  it('gives up with the 401 when the person cancels', async () => {
    const { fetch, calls } = fakeFetch([[401, { error: 'token required' }]]);
    const err = await createApi({ fetch, tokens: tokens([null]) })
      .stopTest('x')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401 });
    expect(calls).toHaveLength(1);
  });

  it('stops asking after a few wrong tokens', async () => {
    const { fetch, calls } = fakeFetch(Array.from({ length: 10 }, () => [401, { error: 'bad token' }] as [number, unknown]));
    const err = await createApi({ fetch, tokens: tokens(['a', 'b', 'c', 'd', 'e']) })
      .stopTest('x')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401 });
    expect(calls).toHaveLength(4);
  });

  it('reports an unreachable server as status 0', async () => {
    const fetch = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof globalThis.fetch;
    const err = await createApi({ fetch })
      .listNodes()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, message: 'Failed to fetch' });
  });
});
