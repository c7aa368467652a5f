// The orchestrator's REST API. Paths are relative ("api/…") so the page works wherever
// the orchestrator mounts it. A 401 asks the token source for a bearer token and retries.

import type { ComparisonView, LoadChangeRequest, NodeList, TestList, TestRequest, TestView } from './types';
import { ApiError, apiErrorFrom } from './validation';

/** Where the bearer token comes from; `ask` returns null when the person cancels. */
export interface TokenSource {
  get(): string | null;
  ask(reason: string): Promise<string | null>;
  clear(): void;
}

export interface ApiOptions {
  base?: string;
  fetch?: typeof fetch;
  tokens?: TokenSource;
}

export interface Api {
  listTests(limit: number, offset: number): Promise<TestList>;
  getTest(id: string): Promise<TestView>;
  createTest(request: TestRequest): Promise<TestView>;
  /** Creates a test from a plan document's text, sent as is with its content type. */
  createTestFromPlan(text: string, contentType: string): Promise<TestView>;
  startTest(id: string): Promise<TestView>;
  stopTest(id: string): Promise<TestView>;
  /** A new rate for a running test, in force on every driver at the instant the answer's last
   * `load_changes` entry states; sent as asked by the dashboard. */
  changeLoad(id: string, change: LoadChangeRequest): Promise<TestView>;
  listNodes(): Promise<NodeList>;
  reportUrl(id: string): string;
  /** The comparison of test `newId` against `baseId` (the default tolerances). */
  compareTests(newId: string, baseId: string): Promise<ComparisonView>;
  /** The self-contained comparison page of `newId` against `baseId`. */
  comparePageUrl(newId: string, baseId: string): string;
  eventsUrl(): string;
}

/** How many times a 401 may be answered with a new token before giving up. */
const MAX_TOKEN_TRIES = 3;

export function createApi(options: ApiOptions = {}): Api {
  const base = options.base ?? 'api/';
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const tokens = options.tokens;

  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
    extra: Record<string, string> = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { Accept: 'application/json', ...extra };
      if (body !== undefined) headers['Content-Type'] = contentType ?? 'application/json';
      const token = tokens?.get();
      if (token) headers.Authorization = `Bearer ${token}`;

      let response: Response;
      try {
        response = await doFetch(base + path, {
          method,
          headers,
          body: body === undefined ? undefined : contentType !== undefined ? String(body) : JSON.stringify(body),
          cache: 'no-store',
        });
      } catch (e) {
        throw new ApiError(0, e instanceof Error ? e.message : String(e));
      }

      const payload = await readBody(response);
      if (response.ok) return payload as T;

      const error = apiErrorFrom(response.status, payload, response.statusText);
      if (response.status === 401 && tokens && attempt < MAX_TOKEN_TRIES) {
        if (token) tokens.clear();
        const fresh = await tokens.ask(error.message);
        if (fresh) continue;
      }
      throw error;
    }
  }

  const id = (testId: string) => encodeURIComponent(testId);

  return {
    listTests: (limit, offset) => request('GET', `tests?limit=${limit}&offset=${offset}`),
    getTest: (testId) => request('GET', `tests/${id(testId)}`),
    createTest: (req) => request('POST', 'tests', req),
    createTestFromPlan: (text, contentType) => request('POST', 'tests', text, contentType),
    startTest: (testId) => request('POST', `tests/${id(testId)}/start`),
    stopTest: (testId) => request('POST', `tests/${id(testId)}/stop`),
    changeLoad: (testId, change) =>
      request('PATCH', `tests/${id(testId)}`, change, undefined, { 'X-Requested-By': 'dashboard' }),
    listNodes: () => request('GET', 'nodes'),
    reportUrl: (testId) => `${base}tests/${id(testId)}/report`,
    compareTests: (newId, baseId) => request('GET', `tests/${id(newId)}/compare?base=${id(baseId)}`),
    comparePageUrl: (newId, baseId) => `${base}tests/${id(newId)}/compare.html?base=${id(baseId)}`,
    eventsUrl: () => `${base}events`,
  };
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
