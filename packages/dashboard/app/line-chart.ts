/**
 * An SVG line chart drawn by hand: a few series over time, a y axis from 0
 * to a rounded maximum, and a legend. Enough for throughput; no library.
 */
import { h, s } from './dom.js';
import { rate } from './format.js';

/** One line. */
export interface Series {
  name: string;
  color: string;
  values: readonly number[];
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  series: readonly Series[];
  /** Epoch ms of each point, shared by the series. */
  times: readonly number[];
  width?: number;
  height?: number;
  unit?: string;
  testId?: string;
}

/** The smallest of 1, 2, 5 × 10^n at or above `n` (at least 1). */
function niceMax(n: number): number {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
  return 10 * power;
}

const clock = (ms: number): string => new Date(ms).toLocaleTimeString();

/** The chart as an element (an `<svg>` inside a `<figure>` with its legend). */
export function lineChart(options: LineChartOptions): HTMLElement {
  const width = options.width ?? 1200;
  const height = options.height ?? 240;
  const pad = { left: 48, right: 12, top: 12, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const n = options.times.length;
  const max = niceMax(Math.max(0, ...options.series.flatMap((line) => line.values)));
  const x = (i: number): number => pad.left + (n <= 1 ? plotW : (i / (n - 1)) * plotW);
  const y = (v: number): number => pad.top + plotH - (v / max) * plotH;

  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const value = max * f;
    return s(
      'g',
      {},
      s('line', { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: 'grid' }),
      s('text', { x: pad.left - 6, y: y(value) + 4, 'text-anchor': 'end', class: 'axis' }, rate(value)),
    );
  });
  const lines = options.series.map((line) =>
    s('polyline', {
      points: line.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '),
      fill: 'none',
      stroke: line.color,
      'stroke-width': 2,
      'data-series': line.name,
      'data-values': line.values.map((v) => v.toFixed(3)).join(' '),
    }),
  );
  // The latest value of each line as a dot: visible from the first point on.
  const dots = options.series.flatMap((line) => {
    const last = line.values[line.values.length - 1];
    return last === undefined ? [] : [s('circle', { cx: x(n - 1), cy: y(last), r: 3.5, fill: line.color })];
  });
  const first = options.times[0];
  const last = options.times[n - 1];
  const svg = s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': 'throughput chart' },
    grid,
    lines,
    dots,
    first !== undefined && s('text', { x: pad.left, y: height - 6, class: 'axis' }, clock(first)),
    last !== undefined &&
      n > 1 &&
      s('text', { x: width - pad.right, y: height - 6, 'text-anchor': 'end', class: 'axis' }, clock(last)),
    n === 0 &&
      s(
        'text',
        { x: pad.left + plotW / 2, y: pad.top + plotH / 2, 'text-anchor': 'middle', class: 'axis' },
        'collecting samples…',
      ),
  );
  const legend = h(
    'figcaption',
    { class: 'legend' },
    options.series.map((line) =>
      h(
        'span',
        {},
        h('i', { style: `background:${line.color}` }),
        `${line.name} ${rate(line.values[line.values.length - 1])}${options.unit ?? ''}`,
      ),
    ),
  );
  return h('figure', { class: 'chart', 'data-testid': options.testId }, svg, legend);
}
