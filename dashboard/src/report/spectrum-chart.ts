// The latency percentile spectrum, drawn with uPlot as hdrhistogram.org's plotter draws it:
// latency (ms) against 1/(1-p) on a log axis labelled with percentiles (90%, 99%, 99.9%, …).

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from '../dom';
import { fmtMs, fmtNum } from '../format';
import type { SpectrumData } from './data';

/** "99.9%" for x = 1000: the percentile that 1/(1-p) = x stands for. */
export function percentileLabel(x: number): string {
  if (x <= 1) return '0%';
  const p = (1 - 1 / x) * 100;
  const decimals = Math.max(0, Math.ceil(Math.log10(x)) - 2);
  return `${fmtNum(p, decimals)}%`;
}

/** Several runs' spectra on one x axis: the union of their x values, null where a run has none. */
export function mergeSpectra(runs: readonly SpectrumData[]): { x: number[]; ys: (number | null)[][] } {
  const x = [...new Set(runs.flatMap((r) => r.x))].sort((a, b) => a - b);
  const ys = runs.map((r) => {
    const at = new Map(r.x.map((v, i) => [v, r.y[i] ?? null]));
    return x.map((v) => at.get(v) ?? null);
  });
  return { x, ys };
}

/** Draws `data` into `host` (a fixed chart: a report does not change). */
export function drawSpectrum(host: HTMLElement, data: SpectrumData, emptyText: string): void {
  drawSpectra(host, [{ label: 'latency', data }], emptyText);
}

/** Draws one or more runs' spectra into `host`, each a line. */
export function drawSpectra(host: HTMLElement, runs: { label: string; data: SpectrumData }[], emptyText: string): void {
  const { x, ys } = mergeSpectra(runs.map((r) => r.data));
  if (x.length === 0) {
    host.append(h('p', { class: 'chart-empty' }, emptyText));
    return;
  }
  const canvas = h('div', { class: 'chart-canvas' });
  host.append(canvas);
  const width = () => Math.max(200, Math.floor(host.clientWidth || 600));
  const styles = getComputedStyle(document.documentElement);
  const color = (name: string, fallback: string) => styles.getPropertyValue(name).trim() || fallback;
  const grid = color('--grid', 'rgba(128,128,128,0.2)');
  const maxX = Math.max(10, ...x);
  const plot = new uPlot(
    {
      width: width(),
      height: 260,
      scales: {
        x: { time: false, distr: 3, log: 10, range: () => [1, 10 ** Math.ceil(Math.log10(maxX))] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] },
      },
      series: [
        { label: 'percentile', value: (_u, v) => (v === null ? '—' : percentileLabel(v)) },
        ...runs.map(
          (r, i): uPlot.Series => ({
            label: r.label,
            stroke: i === 0 ? color('--accent', '#0b63c5') : '#d55e00',
            width: 2,
            spanGaps: true,
            points: { show: true, size: 4 },
            value: (_u, v) => (v === null || v === undefined ? '—' : fmtMs(v)),
          }),
        ),
      ],
      axes: [
        {
          stroke: color('--muted', '#666'),
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid, width: 1 },
          values: (_u, splits) => splits.map((x) => (Number.isInteger(Math.log10(x)) ? percentileLabel(x) : '')),
        },
        { stroke: color('--muted', '#666'), grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: 64 },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    },
    [x, ...ys],
    canvas,
  );
  new ResizeObserver(() => {
    if (plot.width !== width()) plot.setSize({ width: width(), height: 260 });
  }).observe(host);
}
