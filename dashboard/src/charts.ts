// Line charts over time, drawn with uPlot. A chart is rebuilt only when its set of
// series changes (e.g. a driver joins); otherwise new data is swapped in.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, setAttr, setText } from './dom';
import { fmtSecondsTick } from './format';
import { chartColumns, type ChartData } from './series';
import { COUNT_INCREMENTS, tickLabels } from './ticks';

/** Colour-blind-friendly palette (Okabe–Ito, then Tableau) for per-driver lines. */
const PALETTE = [
  '#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442',
  '#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#9c755f', '#76b7b2', '#edc948',
];

/** Whole-second tick spacings for the time axis. */
const SECOND_INCREMENTS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];

/** How one named series is drawn. */
export interface SeriesStyle {
  stroke: string;
  width?: number;
  dash?: number[];
  label?: string;
}

export interface LineChartOptions {
  height: number;
  /** Formats y values for the legend (the axis shows plain numbers, its unit in the caption). */
  format: (value: number) => string;
  /** The values are counts: the y axis ticks whole numbers only. */
  counts?: boolean;
  /** Fixed styles by series label; others take palette colours in order. */
  styles?: Record<string, SeriesStyle>;
  emptyText: string;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** Canvas needs real colours: resolves "var(--name)" against the page's CSS. */
function resolveColor(color: string): string {
  const m = /^var\((--[\w-]+)\)$/.exec(color);
  return m?.[1] ? cssVar(m[1], '#222') : color;
}

export class LineChart {
  private plot: uPlot | null = null;
  private labelsKey = '';
  private readonly canvasHost: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly observer: ResizeObserver;

  constructor(
    private readonly host: HTMLElement,
    private readonly options: LineChartOptions,
  ) {
    this.canvasHost = h('div', { class: 'chart-canvas' });
    this.empty = h('p', { class: 'chart-empty' }, options.emptyText);
    host.append(this.canvasHost, this.empty);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(host);
  }

  update(data: ChartData): void {
    // Its numbers, for scripts and tests, beside the drawing.
    setAttr(this.host, 'data-columns', JSON.stringify(chartColumns(data)));
    const hasData = data.columns[0].length > 0;
    this.empty.hidden = hasData;
    setText(this.empty, hasData ? '' : this.options.emptyText);
    const key = data.labels.join('\u0000');
    if (!this.plot || key !== this.labelsKey) {
      this.plot?.destroy();
      this.labelsKey = key;
      this.plot = new uPlot(this.buildOptions(data.labels), data.columns, this.canvasHost);
    } else {
      this.plot.setData(data.columns);
    }
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  private width(): number {
    return Math.max(200, Math.floor(this.host.clientWidth || 600));
  }

  private resize(): void {
    if (this.plot && this.plot.width !== this.width()) {
      this.plot.setSize({ width: this.width(), height: this.options.height });
    }
  }

  private buildOptions(labels: readonly string[]): uPlot.Options {
    const axisColor = cssVar('--muted', '#666');
    const gridColor = cssVar('--grid', 'rgba(128,128,128,0.2)');
    const format = this.options.format;
    let next = 0;
    const series: uPlot.Series[] = [
      { label: 'second', value: (_u, v) => (v === null ? '—' : fmtSecondsTick(v)) },
      ...labels.map((label): uPlot.Series => {
        const style = this.options.styles?.[label] ?? { stroke: PALETTE[next++ % PALETTE.length] ?? '#888' };
        return {
          label: style.label ?? label,
          stroke: resolveColor(style.stroke),
          width: style.width ?? 1.5,
          dash: style.dash,
          spanGaps: false,
          points: { show: false },
          value: (_u, v) => (v === null || v === undefined ? '—' : format(v)),
        };
      }),
    ];
    const axis = (values: uPlot.Axis['values']): uPlot.Axis => ({
      stroke: axisColor,
      grid: { stroke: gridColor, width: 1 },
      ticks: { stroke: gridColor, width: 1 },
      values,
    });
    return {
      width: this.width(),
      height: this.options.height,
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] } },
      series,
      axes: [
        { ...axis((_u, splits) => splits.map(fmtSecondsTick)), incrs: SECOND_INCREMENTS },
        {
          ...axis((_u, splits, _axis, _space, step) => {
            const labels = tickLabels(splits, step);
            // What the axis reads, for browser tests (the canvas has no text to query).
            setAttr(this.host, 'data-y-ticks', JSON.stringify(labels));
            return labels;
          }),
          size: 64,
          ...(this.options.counts ? { incrs: [...COUNT_INCREMENTS] } : {}),
        },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
  }
}
