// Pure display formatting. Deterministic (no locale lookups) so tests pin exact strings.

export const DASH = '—';

function finite(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

/** Groups thousands with commas: 1234567 → "1,234,567". */
export function fmtInt(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.round(Math.abs(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A number with at most `decimals` decimals, grouped: 1234.5 → "1,234.5". */
export function fmtNum(n: number | null | undefined, decimals = 1): string {
  if (!finite(n)) return DASH;
  const fixed = Math.abs(n).toFixed(decimals);
  const [whole = '0', frac] = fixed.split('.');
  const trimmed = frac?.replace(/0+$/, '') ?? '';
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const sign = n < 0 && Number(fixed) !== 0 ? '-' : '';
  return sign + grouped + (trimmed ? '.' + trimmed : '');
}

/** A number with exactly `decimals` decimals, grouped: (1234.5, 2) → "1,234.50". */
export function fmtFixed(n: number | null | undefined, decimals: number): string {
  if (!finite(n)) return DASH;
  const fixed = Math.abs(n).toFixed(decimals);
  const [whole = '0', frac] = fixed.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const sign = n < 0 && Number(fixed) !== 0 ? '-' : '';
  return sign + grouped + (frac ? '.' + frac : '');
}

/** A latency in milliseconds with a precision that fits its size: "0.42 ms", "12.3 ms", "1.25 s". */
export function fmtMs(ms: number | null | undefined): string {
  if (!finite(ms)) return DASH;
  const abs = Math.abs(ms);
  if (abs >= 1000) return `${fmtNum(ms / 1000, 2)} s`;
  if (abs >= 100) return `${fmtNum(ms, 0)} ms`;
  if (abs >= 10) return `${fmtNum(ms, 1)} ms`;
  return `${fmtNum(ms, 2)} ms`;
}

/** Requests per second: "1,234/s" above 100, one decimal below. */
export function fmtRate(rps: number | null | undefined): string {
  if (!finite(rps)) return DASH;
  return `${fmtNum(rps, Math.abs(rps) >= 100 ? 0 : 1)}/s`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function fmtBytes(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${fmtInt(value)} B` : `${fmtNum(value, 1)} ${BYTE_UNITS[unit]}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** A span of time: "850 ms", "12.3 s", "1m 05s", "2h 03m". */
export function fmtDuration(ms: number | null | undefined): string {
  if (!finite(ms)) return DASH;
  if (ms < 0) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${fmtNum(ms / 1000, 1)} s`;
  const totalSeconds = Math.floor(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h ${pad2(minutes)}m`;
  return `${minutes}m ${pad2(seconds)}s`;
}

/** An x-axis tick for seconds since start: "45s", "2m", "2m30s", "1h", "1h05m". */
export function fmtSecondsTick(seconds: number): string {
  if (!Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  if (Math.abs(s) < 120) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return m === 0 && rest === 0 ? `${h}h` : `${h}h${pad2(m)}m`;
  return rest === 0 ? `${m}m` : `${m}m${pad2(rest)}s`;
}

/** How long ago `then` was, relative to `now`: "just now", "4 s ago", "3 min ago". */
export function fmtAgo(then: number | null | undefined, now: number): string {
  if (!finite(then) || then <= 0) return 'never';
  const seconds = Math.floor((now - then) / 1000);
  if (seconds < 1) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** Local date and time, "2025-11-25 09:04:05". */
export function fmtDateTime(ms: number | null | undefined): string {
  if (!finite(ms) || ms <= 0) return DASH;
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Compact local date and time for tables, "Nov 25 09:04". */
export function fmtShortDateTime(ms: number | null | undefined): string {
  if (!finite(ms) || ms <= 0) return DASH;
  const d = new Date(ms);
  return `${MONTHS[d.getMonth()]} ${d.getDate()} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** A ratio as a percentage: 0.9876 → "98.8%". */
export function fmtPercent(ratio: number | null | undefined, decimals = 1): string {
  if (!finite(ratio)) return DASH;
  return `${fmtNum(ratio * 100, decimals)}%`;
}

/** Sums the values of a count map (errors by kind, status codes). */
export function sumCounts(counts: Record<string, number> | null | undefined): number {
  if (!counts) return 0;
  let total = 0;
  for (const v of Object.values(counts)) if (finite(v)) total += v;
  return total;
}

/** Lower-cased test type for display: "TSUNAMI" → "tsunami". */
export function fmtTestType(t: string | null | undefined): string {
  return (t ?? '').toLowerCase() || DASH;
}
