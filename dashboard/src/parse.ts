// Pure parsing of what people type into the form: durations ("30s", "1h30m", bare
// numbers are milliseconds), counts with suffixes ("10k", "1.5m") and plain numbers.

export type Parsed = { ok: true; value: number | null } | { ok: false; error: string };

const ok = (value: number | null): Parsed => ({ ok: true, value });
const fail = (error: string): Parsed => ({ ok: false, error });

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a duration into milliseconds. Empty input is `null` (not set).
 * A bare number is milliseconds; otherwise a sequence like "1h30m", "1.5s", "250ms".
 * Whole milliseconds unless `fractional` (a tsunami gap may be 0.5ms).
 */
export function parseDuration(input: string, { fractional = false } = {}): Parsed {
  const round = (ms: number) => (fractional ? Math.round(ms * 1000) / 1000 : Math.round(ms));
  const text = input.trim().toLowerCase().replace(/\s+/g, '');
  if (text === '') return ok(null);
  if (/^\d+(\.\d+)?$/.test(text)) return ok(round(Number(text)));
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = part.exec(text)) !== null) {
    const unit = DURATION_UNITS[match[2] ?? ''];
    if (unit === undefined) break;
    total += Number(match[1]) * unit;
    consumed = part.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) {
    return fail('Enter a duration such as 500ms, 30s, 5m or 1h30m (a bare number is milliseconds).');
  }
  return ok(round(total));
}

const COUNT_SUFFIXES: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9 };

/** Parses a whole count, allowing "10k", "1.5m", "1,000" and "1_000". Empty is `null`. */
export function parseCount(input: string): Parsed {
  const text = input.trim().toLowerCase().replace(/[,_\s]/g, '');
  if (text === '') return ok(null);
  const m = /^(\d+(?:\.\d+)?)([kmg]?)$/.exec(text);
  if (!m) return fail('Enter a whole number, optionally with k or m (10k = 10,000).');
  const value = Number(m[1]) * (COUNT_SUFFIXES[m[2] ?? ''] ?? 1);
  if (!Number.isInteger(value)) return fail('Enter a whole number.');
  return ok(value);
}

/** Parses a non-negative decimal number. Empty is `null`. */
export function parseNumber(input: string): Parsed {
  const text = input.trim().replace(/[,_\s]/g, '');
  if (text === '') return ok(null);
  if (!/^\d+(\.\d+)?$/.test(text)) return fail('Enter a number.');
  return ok(Number(text));
}
