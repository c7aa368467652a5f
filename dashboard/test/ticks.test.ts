import { describe, expect, it } from 'vitest';
import { COUNT_INCREMENTS, stepDecimals, tickLabels } from '../src/ticks';

/** uPlot's own choice of step (findIncr): the smallest one at least `space` px apart. */
function uplotStep(max: number, incrs: readonly number[], px = 180, space = 30): number {
  return incrs.find((incr) => (px * incr) / max >= space) ?? 0;
}

/** uPlot's default steps for numeric axes: 1, 2, 2.5, 5 × 10^k. */
const DEFAULT_INCREMENTS = [-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6].flatMap((k) =>
  [1, 2, 2.5, 5].map((m) => Number((m * 10 ** k).toPrecision(2))),
);

function splits(max: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; i * step <= max + 1e-12; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

describe('COUNT_INCREMENTS', () => {
  it('holds whole numbers only, ascending', () => {
    expect(COUNT_INCREMENTS.slice(0, 8)).toEqual([1, 2, 5, 10, 20, 25, 50, 100]);
    for (const step of COUNT_INCREMENTS) expect(Number.isInteger(step)).toBe(true);
    expect([...COUNT_INCREMENTS].sort((a, b) => a - b)).toEqual(COUNT_INCREMENTS);
  });
});

describe('stepDecimals', () => {
  it('counts the decimals a step needs', () => {
    expect(stepDecimals(5)).toBe(0);
    expect(stepDecimals(2500)).toBe(0);
    expect(stepDecimals(0.2)).toBe(1);
    expect(stepDecimals(0.25)).toBe(2);
    expect(stepDecimals(0.005)).toBe(3);
    expect(stepDecimals(0)).toBe(0);
  });
});

describe('tickLabels', () => {
  it('reads an empty count axis (0 … 1) as 0 and 1, not 0, 0, 0, 1, 1, 1', () => {
    const step = uplotStep(1, COUNT_INCREMENTS);
    expect(step).toBe(1);
    expect(tickLabels(splits(1, step), step)).toEqual(['0', '1']);
  });
  it('reads an empty latency axis (0 … 1) with one decimal', () => {
    const step = uplotStep(1, DEFAULT_INCREMENTS);
    expect(tickLabels(splits(1, step), step)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
  });
  it('groups thousands', () => {
    expect(tickLabels([0, 5000, 10000], 5000)).toEqual(['0', '5,000', '10,000']);
  });
  it('gives distinct labels for any range and step uPlot may pick', () => {
    for (const max of [0.003, 0.021, 0.5, 1, 1.05, 3.15, 7, 42, 315, 1234, 98765, 3.2e6]) {
      for (const incrs of [DEFAULT_INCREMENTS, COUNT_INCREMENTS]) {
        const step = uplotStep(max, incrs);
        if (step === 0) continue;
        const labels = tickLabels(splits(max, step), step);
        expect(new Set(labels).size, `${max} by ${step}: ${labels.join(', ')}`).toBe(labels.length);
      }
    }
  });
});
