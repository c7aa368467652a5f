// The y axes' ticks: which steps an axis may take and how its labels read, so that every label
// is distinct and carries just the decimals its step needs. Pure (uPlot picks the step).

import { fmtFixed } from './format';

/** Steps for an axis of counts: whole numbers only (1, 2, 5, 10, 20, 25, 50, 100, …). */
export const COUNT_INCREMENTS: readonly number[] = (() => {
  const out: number[] = [];
  for (let magnitude = 1; magnitude <= 1e15; magnitude *= 10) {
    for (const m of [1, 2, 2.5, 5]) {
      const step = m * magnitude;
      if (Number.isInteger(step)) out.push(step);
    }
  }
  return out;
})();

/** Most decimals a tick label gets. */
const MAX_DECIMALS = 6;

/** Decimals that write `step` exactly: 5 → 0, 0.2 → 1, 0.25 → 2. */
export function stepDecimals(step: number): number {
  if (!Number.isFinite(step) || step <= 0) return 0;
  for (let d = 0; d < MAX_DECIMALS; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
  }
  return MAX_DECIMALS;
}

/**
 * Labels of ticks `step` apart: each with the decimals of the step, thousands grouped, so that
 * 0 … 1 in steps of 0.2 reads "0.0, 0.2, …, 1.0" (never "0, 0, 0, 1, 1, 1").
 */
export function tickLabels(splits: readonly number[], step: number): string[] {
  const decimals = stepDecimals(step);
  return splits.map((v) => fmtFixed(v, decimals));
}
