import type { Analysis } from '../../analyze/index.js';
import { COLORS, FONT } from './colors.js';

/** Canvas size and the options, axes and x range every chart shares; x is in seconds from an origin. */
export const CHART_WIDTH = 1600;
export const CHART_HEIGHT = 900;
const DEVICE_PIXEL_RATIO = 2;

/** The JSON shape we produce; render.ts hands it to chart.js as a ChartConfiguration. */
export interface ChartJson {
  type: 'line' | 'bar';
  data: { labels?: string[]; datasets: Record<string, unknown>[] };
  options: Record<string, unknown>;
}

/** Seconds from `originMs` to `t`, to the µs. */
export const secondsFrom = (originMs: number, t: number): number => Math.round((t - originMs) * 1000) / 1e6;

/** Options every chart has: size, no animation, no parsing, fonts, title, subtitle, legend. */
export function baseOptions(title: string, subtitle: string): Record<string, unknown> {
  return {
    devicePixelRatio: DEVICE_PIXEL_RATIO,
    animation: false,
    responsive: false,
    parsing: false,
    normalized: true,
    layout: { padding: { top: 8, right: 24, bottom: 8, left: 8 } },
    font: FONT,
    plugins: {
      title: { display: true, text: title, font: { ...FONT, size: 24, weight: 'bold' }, color: '#111' },
      subtitle: { display: true, text: subtitle, font: { ...FONT, size: 15 }, color: '#444', padding: { bottom: 8 } },
      legend: { position: 'top', labels: { font: { ...FONT, size: 15 }, color: '#222', boxWidth: 28 } },
      tooltip: { enabled: false },
    },
  };
}

/** The shared time axis, in seconds. */
export function xAxis(min: number, max: number, title: string): Record<string, unknown> {
  return {
    type: 'linear',
    min,
    max,
    title: { display: true, text: title, font: { ...FONT, size: 16 }, color: '#222' },
    ticks: { font: { ...FONT, size: 14 }, color: '#222', maxTicksLimit: 20 },
    grid: { color: COLORS.grid },
  };
}

/** One of a chart's stacked panels (a y axis of its own), `weight` its share of the height. */
export function yPanel(
  title: string | string[],
  weight = 1,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 'linear',
    stack: 'panels',
    stackWeight: weight,
    offset: true,
    beginAtZero: true,
    // Headroom above the data for captions and window labels.
    grace: '12%',
    title: { display: true, text: title, font: { ...FONT, size: 16, weight: 'bold' }, color: '#222' },
    ticks: { font: { ...FONT, size: 14 }, color: '#222', maxTicksLimit: 6 },
    grid: { color: COLORS.grid },
    border: { color: '#888' },
    ...extra,
  };
}

/** The x range of a run's chart: its start to its end (at least 1 s), in seconds from `originMs`. */
export function xRange(a: Analysis, originMs: number): [number, number] {
  const s = a.summary;
  return [secondsFrom(originMs, s.startMs), Math.max(secondsFrom(originMs, s.endMs), 1)];
}
