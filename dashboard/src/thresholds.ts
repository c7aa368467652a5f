// A test's thresholds as the orchestrator judged them (on the merged data of all drivers, each
// second while it runs and at its end), as lines for the live view's pass/fail list.

import { fmtMs, fmtPercent, fmtRate } from './format';
import type { TestView } from './types';

/** One line of the list. */
export interface ThresholdLine {
  expression: string;
  /** The measured value in the metric's unit, or a note that nothing is measured yet. */
  measured: string;
  /** `pending` while nothing is measured and the test still runs. */
  verdict: 'pass' | 'fail' | 'pending';
}

/**
 * The measured value in the unit of the expression's metric (`error_rate` and `checks` as
 * percentages, `rps`, latency), with or without a request name before it (`login: p95 < 1s`).
 */
export function fmtThresholdValue(expression: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return 'nothing measured yet';
  const left = expression.split(/[<>]/, 1)[0] ?? '';
  const unscoped = left.slice(left.lastIndexOf(':') + 1);
  const metric = unscoped.trim().split(/[\s[]/, 1)[0]?.toLowerCase() ?? '';
  if (metric === 'error_rate' || metric === 'checks') return fmtPercent(value, 2);
  if (metric === 'rps') return fmtRate(value);
  return fmtMs(value);
}

/** The test's thresholds in the order given; none without thresholds. */
export function thresholdLines(test: TestView, active: boolean): ThresholdLine[] {
  return (test.thresholds ?? []).map((t) => ({
    expression: t.expression,
    // A threshold still in its warm-up (`after`): neither pass nor fail while the test runs.
    measured: t.warming_up
      ? active
        ? 'pending (warm-up)'
        : 'the test ended in its warm-up: nothing measured'
      : fmtThresholdValue(t.expression, t.value),
    verdict: t.passed ? 'pass' : active && (t.value === null || t.value === undefined) ? 'pending' : 'fail',
  }));
}
