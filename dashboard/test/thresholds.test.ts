import { describe, expect, it } from 'vitest';
import { fmtPercent, fmtRate } from '../src/format';
import { fmtThresholdValue, thresholdLines } from '../src/thresholds';
import type { TestView } from '../src/types';

const view = (thresholds: TestView['thresholds']) => ({ thresholds }) as TestView;

describe('thresholdLines', () => {
  it('shows each verdict with its measured value in its unit', () => {
    const lines = thresholdLines(
      view([
        { expression: 'p99 < 100ms', value: 212.5, passed: false },
        { expression: 'error_rate<1%', value: 0.001, passed: true },
        { expression: 'rps > 900', value: null, passed: false },
      ]),
      true,
    );
    expect(lines.map((l) => l.verdict)).toEqual(['fail', 'pass', 'pending']);
    expect(lines[0]!.measured).toBe('213 ms');
    expect(lines[1]!.measured).toBe(fmtThresholdValue('error_rate<1%', 0.001));
    expect(lines[1]!.measured).toContain('%');
    expect(lines[2]!.measured).toBe('nothing measured yet');
  });
  it('reads the metric after a request name, and checks as a percentage', () => {
    expect(fmtThresholdValue('login: p95 < 400ms', 212.5)).toBe('213 ms');
    expect(fmtThresholdValue('GET /a/:id: error_rate<1%', 0.5)).toBe(fmtPercent(0.5, 2));
    expect(fmtThresholdValue('checks > 99%', 0.995)).toBe(fmtPercent(0.995, 2));
    expect(fmtThresholdValue('login:rps>1', 3)).toBe(fmtRate(3));
  });
  it('fails what was never measured once the test is over', () => {
    const [line] = thresholdLines(view([{ expression: 'p99 < 1s', value: null, passed: false }]), false);
    expect(line!.verdict).toBe('fail');
  });
  it('is empty without thresholds', () => {
    expect(thresholdLines(view(undefined), true)).toEqual([]);
  });
});
