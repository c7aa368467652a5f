import { describe, expect, it } from 'vitest';
import {
  DASH,
  fmtAgo,
  fmtBytes,
  fmtDateTime,
  fmtDuration,
  fmtFixed,
  fmtInt,
  fmtMs,
  fmtNum,
  fmtPercent,
  fmtRate,
  fmtSecondsTick,
  fmtShortDateTime,
  fmtTestType,
  sumCounts,
} from '../src/format';

describe('fmtInt', () => {
  it('groups thousands', () => {
    expect(fmtInt(0)).toBe('0');
    expect(fmtInt(999)).toBe('999');
    expect(fmtInt(1000)).toBe('1,000');
    expect(fmtInt(1234567)).toBe('1,234,567');
    expect(fmtInt(-45000)).toBe('-45,000');
  });
  it('rounds and handles missing values', () => {
    expect(fmtInt(12.6)).toBe('13');
    expect(fmtInt(null)).toBe(DASH);
    expect(fmtInt(undefined)).toBe(DASH);
    expect(fmtInt(Number.NaN)).toBe(DASH);
    expect(fmtInt(Infinity)).toBe(DASH);
  });
});

describe('fmtNum', () => {
  it('trims trailing zeros and groups', () => {
    expect(fmtNum(1234.5, 1)).toBe('1,234.5');
    expect(fmtNum(2.0, 2)).toBe('2');
    expect(fmtNum(2.456, 2)).toBe('2.46');
    expect(fmtNum(-0.01, 1)).toBe('0');
    expect(fmtNum(-3.25, 1)).toBe('-3.3');
  });
});

describe('fmtMs', () => {
  it('picks a precision that fits the size', () => {
    expect(fmtMs(0.4213)).toBe('0.42 ms');
    expect(fmtMs(4.2)).toBe('4.2 ms');
    expect(fmtMs(12.345)).toBe('12.3 ms');
    expect(fmtMs(123.4)).toBe('123 ms');
    expect(fmtMs(1250)).toBe('1.25 s');
    expect(fmtMs(30000)).toBe('30 s');
    expect(fmtMs(0)).toBe('0 ms');
    expect(fmtMs(null)).toBe(DASH);
  });
});

describe('fmtRate', () => {
  it('shows one decimal below 100/s', () => {
    expect(fmtRate(12.34)).toBe('12.3/s');
    expect(fmtRate(1234.5)).toBe('1,235/s');
    expect(fmtRate(undefined)).toBe(DASH);
  });
});

describe('fmtBytes', () => {
  it('uses binary units', () => {
    expect(fmtBytes(512)).toBe('512 B');
    expect(fmtBytes(2048)).toBe('2 KiB');
    expect(fmtBytes(1.5 * 1024 * 1024)).toBe('1.5 MiB');
  });
});

describe('fmtDuration', () => {
  it('formats spans of time', () => {
    expect(fmtDuration(850)).toBe('850 ms');
    expect(fmtDuration(12_340)).toBe('12.3 s');
    expect(fmtDuration(65_000)).toBe('1m 05s');
    expect(fmtDuration(3_725_000)).toBe('1h 02m');
    expect(fmtDuration(-1)).toBe(DASH);
    expect(fmtDuration(null)).toBe(DASH);
  });
});

describe('fmtSecondsTick', () => {
  it('labels seconds since start', () => {
    expect(fmtSecondsTick(0)).toBe('0s');
    expect(fmtSecondsTick(45)).toBe('45s');
    expect(fmtSecondsTick(119)).toBe('119s');
    expect(fmtSecondsTick(120)).toBe('2m');
    expect(fmtSecondsTick(150)).toBe('2m30s');
    expect(fmtSecondsTick(3600)).toBe('1h');
    expect(fmtSecondsTick(3900)).toBe('1h05m');
  });
});

describe('fmtAgo', () => {
  const now = 1_000_000_000;
  it('says how long ago', () => {
    expect(fmtAgo(now - 300, now)).toBe('just now');
    expect(fmtAgo(now - 4_000, now)).toBe('4 s ago');
    expect(fmtAgo(now - 180_000, now)).toBe('3 min ago');
    expect(fmtAgo(now - 5 * 3_600_000, now)).toBe('5 h ago');
    expect(fmtAgo(now - 72 * 3_600_000, now)).toBe('3 d ago');
    expect(fmtAgo(0, now)).toBe('never');
  });
});

describe('dates', () => {
  it('formats local date and time', () => {
    const d = new Date(2025, 10, 5, 9, 4, 7).getTime();
    expect(fmtDateTime(d)).toBe('2025-11-05 09:04:07');
    expect(fmtShortDateTime(d)).toBe('Nov 5 09:04');
    expect(fmtDateTime(null)).toBe(DASH);
    expect(fmtShortDateTime(0)).toBe(DASH);
  });
});

describe('small helpers', () => {
  it('fmtPercent', () => {
    expect(fmtPercent(0.98765)).toBe('98.8%');
    expect(fmtPercent(1)).toBe('100%');
    expect(fmtPercent(null)).toBe(DASH);
  });
  it('sumCounts ignores non-numbers', () => {
    expect(sumCounts({ timeout: 3, connect: 2 })).toBe(5);
    expect(sumCounts({ a: Number.NaN, b: 1 })).toBe(1);
    expect(sumCounts(undefined)).toBe(0);
  });
  it('fmtTestType lower-cases', () => {
    expect(fmtTestType('TSUNAMI')).toBe('tsunami');
    expect(fmtTestType('avalanche')).toBe('avalanche');
    expect(fmtTestType(undefined)).toBe(DASH);
  });
});

describe('fmtFixed', () => {
  it('keeps exactly the decimals asked for, grouped', () => {
    expect(fmtFixed(0, 1)).toBe('0.0');
    expect(fmtFixed(1, 1)).toBe('1.0');
    expect(fmtFixed(1234.5, 2)).toBe('1,234.50');
    expect(fmtFixed(10000, 0)).toBe('10,000');
    expect(fmtFixed(-0.0001, 2)).toBe('0.00');
    expect(fmtFixed(-1500, 0)).toBe('-1,500');
    expect(fmtFixed(null, 1)).toBe(DASH);
  });
});
