import { describe, expect, it } from 'vitest';
import { parseCount, parseDuration, parseNumber, type Parsed } from '../src/parse';

const value = (p: Parsed) => (p.ok ? p.value : 'error');

describe('parseDuration', () => {
  it('reads bare numbers as milliseconds', () => {
    expect(value(parseDuration('250'))).toBe(250);
    expect(value(parseDuration(' 30000 '))).toBe(30000);
  });
  it('reads units and combinations', () => {
    expect(value(parseDuration('250ms'))).toBe(250);
    expect(value(parseDuration('1.5s'))).toBe(1500);
    expect(value(parseDuration('30s'))).toBe(30_000);
    expect(value(parseDuration('5m'))).toBe(300_000);
    expect(value(parseDuration('1h30m'))).toBe(5_400_000);
    expect(value(parseDuration('1h 30m 10s'))).toBe(5_410_000);
    expect(value(parseDuration('2M'))).toBe(120_000);
  });
  it('rounds to whole milliseconds unless fractional', () => {
    expect(value(parseDuration('0.5ms'))).toBe(1);
    expect(value(parseDuration('0.5ms', { fractional: true }))).toBe(0.5);
    expect(value(parseDuration('0.25', { fractional: true }))).toBe(0.25);
  });
  it('treats empty as not set', () => {
    expect(value(parseDuration(''))).toBe(null);
    expect(value(parseDuration('   '))).toBe(null);
  });
  it('rejects anything else', () => {
    for (const bad of ['abc', '10x', '5m junk', '-5s', 's', '1.2.3s']) {
      expect(parseDuration(bad).ok, bad).toBe(false);
    }
  });
});

describe('parseCount', () => {
  it('reads counts with suffixes and separators', () => {
    expect(value(parseCount('1000'))).toBe(1000);
    expect(value(parseCount('10k'))).toBe(10_000);
    expect(value(parseCount('1.5m'))).toBe(1_500_000);
    expect(value(parseCount('1,000'))).toBe(1000);
    expect(value(parseCount('1_000_000'))).toBe(1_000_000);
    expect(value(parseCount(''))).toBe(null);
  });
  it('rejects fractions and junk', () => {
    expect(parseCount('1.5').ok).toBe(false);
    expect(parseCount('abc').ok).toBe(false);
    expect(parseCount('-3').ok).toBe(false);
    expect(parseCount('10 kb').ok).toBe(false);
  });
});

describe('parseNumber', () => {
  it('reads decimals', () => {
    expect(value(parseNumber('12.5'))).toBe(12.5);
    expect(value(parseNumber('1,000'))).toBe(1000);
    expect(value(parseNumber(''))).toBe(null);
    expect(parseNumber('1e3').ok).toBe(false);
    expect(parseNumber('fast').ok).toBe(false);
  });
});
