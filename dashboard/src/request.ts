// Turns the form's raw text into a TestRequest (or per-field messages), and works out
// the totals that per-driver settings add up to. Pure: no DOM.

import { fmtInt, fmtNum } from './format';
import { parseCount, parseDuration, parseNumber, type Parsed } from './parse';
import type { Header, TestRequest, TestType } from './types';

/** Names of the form's fields; they match TestRequest's keys and the API's `field`. */
export const FORM_FIELDS = [
  'test_type',
  'url',
  'method',
  'headers',
  'body',
  'delay_ms',
  'rate',
  'requests_per_driver',
  'duration_ms',
  'concurrency',
  'timeout_ms',
  'drivers',
  'insecure',
] as const;

export type FormField = (typeof FORM_FIELDS)[number];

export type FieldErrors = Partial<Record<FormField, string>>;

/** What the form holds: text exactly as typed. */
export interface FormValues {
  test_type: TestType;
  url: string;
  method: string;
  headers: Header[];
  body: string;
  delay_ms: string;
  rate: string;
  requests_per_driver: string;
  duration_ms: string;
  concurrency: string;
  timeout_ms: string;
  drivers: string;
  insecure: boolean;
}

export const DEFAULT_CONCURRENCY = 50;
export const DEFAULT_TIMEOUT_MS = 30_000;

export const DEFAULT_VALUES: FormValues = {
  test_type: 'avalanche',
  url: '',
  method: 'GET',
  headers: [],
  body: '',
  delay_ms: '',
  rate: '',
  requests_per_driver: '1,000',
  duration_ms: '',
  concurrency: String(DEFAULT_CONCURRENCY),
  timeout_ms: '30s',
  drivers: '',
  insecure: false,
};

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** Fields that only make sense for tsunami tests (the gap between sends). */
export const TSUNAMI_ONLY: readonly FormField[] = ['delay_ms', 'rate'];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHOD = /^[A-Za-z]{1,32}$/;

export type BuildResult = { ok: true; request: TestRequest } | { ok: false; errors: FieldErrors };

/** Validates the form's text and builds the request, or says what is wrong with each field. */
export function buildRequest(values: FormValues, start: boolean): BuildResult {
  const errors: FieldErrors = {};
  const take = (field: FormField, parsed: Parsed, check?: (v: number) => string | null) => {
    if (!parsed.ok) {
      errors[field] = parsed.error;
      return null;
    }
    if (parsed.value !== null && check) {
      const message = check(parsed.value);
      if (message) errors[field] = message;
    }
    return parsed.value;
  };
  const atLeastOne = (v: number) => (v >= 1 ? null : 'Must be at least 1.');
  const positive = (v: number) => (v > 0 ? null : 'Must be greater than 0.');

  const url = values.url.trim();
  if (url === '') {
    errors.url = 'Enter the URL to load, e.g. http://target:8080/ping.';
  } else if (!isHttpUrl(url)) {
    errors.url = 'The URL must start with http:// or https:// and name a host.';
  }

  const method = values.method.trim().toUpperCase() || 'GET';
  if (!METHOD.test(method)) errors.method = 'A method is a single word such as GET or POST.';

  const headers: Header[] = [];
  for (const h of values.headers) {
    const name = h.name.trim();
    if (name === '' && h.value.trim() === '') continue;
    if (!TOKEN.test(name)) {
      errors.headers = name === '' ? 'Every header needs a name.' : `"${name}" is not a valid header name.`;
      continue;
    }
    headers.push({ name, value: h.value });
  }

  const tsunami = values.test_type === 'tsunami';
  // Avalanche ignores the tsunami-only fields (they are disabled in the form).
  const delay = tsunami ? take('delay_ms', parseDuration(values.delay_ms, { fractional: true })) : null;
  const rate = tsunami ? take('rate', parseNumber(values.rate), positive) : null;
  const requests = take('requests_per_driver', parseCount(values.requests_per_driver), atLeastOne);
  const duration = take('duration_ms', parseDuration(values.duration_ms), positive);
  const concurrency = take('concurrency', parseCount(values.concurrency), atLeastOne);
  const timeout = take('timeout_ms', parseDuration(values.timeout_ms), positive);
  const drivers = take('drivers', parseCount(values.drivers), atLeastOne);

  // The orchestrator's cross-field rules, checked here too so the message lands at once.
  if (tsunami && !errors.delay_ms && !errors.rate && rate === null && !(delay !== null && delay > 0)) {
    errors.delay_ms = 'A tsunami test needs a delay above 0 or a rate.';
  }
  if (!errors.requests_per_driver && !errors.duration_ms && requests === null && duration === null) {
    errors.requests_per_driver = 'Give a request count, a duration, or both.';
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };

  return {
    ok: true,
    request: {
      test_type: values.test_type,
      url,
      method,
      headers,
      body: values.body === '' ? null : values.body,
      delay_ms: delay ?? 0,
      rate,
      requests_per_driver: requests,
      duration_ms: duration,
      concurrency: concurrency ?? DEFAULT_CONCURRENCY,
      timeout_ms: timeout ?? DEFAULT_TIMEOUT_MS,
      drivers,
      start,
      ...(values.insecure ? { insecure: true } : {}),
    },
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** How many drivers a test would use: the requested number, else every live one. */
export function effectiveDrivers(requested: number | null, alive: number): number {
  return requested ?? alive;
}

/**
 * One-line explanations of what per-driver settings add up to across `drivers` drivers,
 * keyed by the field they explain. Fields that do not parse get no line.
 */
export function describeTotals(values: FormValues, alive: number): Partial<Record<FormField, string>> {
  const value = (p: Parsed) => (p.ok ? p.value : null);
  const requested = value(parseCount(values.drivers));
  const n = effectiveDrivers(requested, alive);
  const times = `× ${n} driver${n === 1 ? '' : 's'}`;
  const out: Partial<Record<FormField, string>> = {};

  out.drivers =
    requested === null
      ? `All live drivers take part (${alive} alive now).`
      : requested > alive
        ? `${requested} requested, but only ${alive} alive now.`
        : `${requested} of ${alive} live drivers.`;

  const requests = value(parseCount(values.requests_per_driver));
  if (requests !== null) {
    out.requests_per_driver = `Per driver. ${times} = ${fmtInt(requests * n)} requests in total.`;
  }
  const concurrency = parseCount(values.concurrency);
  if (concurrency.ok) {
    const c = concurrency.value ?? DEFAULT_CONCURRENCY;
    out.concurrency = `Per driver. ${times} = ${fmtInt(c * n)} connections in total.`;
  }

  if (values.test_type === 'tsunami') {
    const rate = value(parseNumber(values.rate));
    const delay = value(parseDuration(values.delay_ms, { fractional: true }));
    if (rate !== null && rate > 0) {
      out.rate = `Per driver. ${times} = ${fmtNum(rate * n, 1)} requests/s in total.`;
    }
    if (delay !== null && delay > 0) {
      const perDriver = 1000 / delay;
      out.delay_ms =
        `Gap kept on each driver: ≈ ${fmtNum(perDriver, 1)} requests/s per driver, ` +
        `${fmtNum(perDriver * n, 1)}/s in total.`;
    }
  }
  return out;
}
