import type { Analysis } from '../../analyze/index.js';
import type { Op } from '../../results/types.js';
import { baseOptions, xAxis, xRange, type ChartJson } from './axes.js';
import { fullStrips, gapBoxes, windowBoxes } from './boxes.js';
import { COLORS, FONT } from './colors.js';
import { eventLines } from './lines.js';
import type { Marks } from './marks.js';
import { steps, type XY } from './series.js';
import { subtitleOf } from './titles.js';

/** Chart 2: latency percentiles per second (log scale), per op; seconds with no success leave a gap. */
export function latencyChart(a: Analysis): ChartJson {
  const s = a.summary;
  const originMs = s.startMs;
  const [min, max] = xRange(a, originMs);
  const datasets: Record<string, unknown>[] = [];
  const shades: Record<Op, string[]> = {
    read: ['#9ecae1', '#3182bd', '#08306b'],
    write: ['#a1d99b', '#31a354', '#00441b'],
  };
  for (const op of ['read', 'write'] as const) {
    if (!s.ops[op]) continue;
    (['p50', 'p99', 'max'] as const).forEach((p, i) => {
      const color = shades[op][i] as string;
      datasets.push({
        label: `${op} ${p} (ms)`,
        data: steps(
          a.series[op].map((pt) => ({ sec: pt.sec, y: pt.latencyMs ? Math.max(pt.latencyMs[p], 0.001) : null })),
          originMs,
        ),
        yAxisID: 'y',
        borderColor: color,
        backgroundColor: color,
        borderWidth: p === 'p99' ? 2.5 : 1.5,
        borderDash: p === 'max' ? [6, 4] : [],
        pointRadius: 0,
        stepped: 'before',
        spanGaps: false,
        fill: false,
      });
    });
  }
  const options = baseOptions(
    `${s.label}: latency of successful probes per second (from intended time, ms, log scale)`,
    subtitleOf(s, originMs, 'start'),
  );
  options.scales = {
    x: xAxis(min, max, 'seconds from start'),
    y: {
      type: 'logarithmic',
      ...logDecades(datasets),
      title: { display: true, text: 'latency (ms)', font: { ...FONT, size: 16, weight: 'bold' }, color: '#222' },
      ticks: { font: { ...FONT, size: 14 }, color: '#222' },
      grid: { color: COLORS.grid },
    },
  };
  (options.plugins as Record<string, unknown>).downtimeMarks = {
    boxes: [
      ...windowBoxes(s.outages, originMs, { read: 'y', write: 'y' }).map(({ label: _l, ...b }) => b),
      // One box per gap: read's and write's usually coincide and would shade twice as dark.
      ...gapBoxes(s, originMs, { read: 'y', write: 'y' }, false).filter(
        (b, i, all) => all.findIndex((o) => o.fromX === b.fromX && o.toX === b.toX) === i,
      ),
    ],
    lines: eventLines(s, originMs),
    points: [],
    strips: fullStrips(s.outages, originMs),
  } satisfies Marks;
  return { type: 'line', data: { datasets }, options };
}

/**
 * Whole decades around the data: chart.js fits a log axis tightly to the data, which put a steady p50 on the
 * bottom edge (invisible) and turned 1.8…2.1 ms into a full-height swing. Empty (chart.js decides) without data.
 */
function logDecades(datasets: Record<string, unknown>[]): { min?: number; max?: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const d of datasets) {
    for (const p of d.data as XY[]) {
      if (p.y === null) continue;
      lo = Math.min(lo, p.y);
      hi = Math.max(hi, p.y);
    }
  }
  return lo <= hi
    ? {
        min: 10 ** Math.floor(Math.log10(lo)),
        max: Math.max(10 ** Math.ceil(Math.log10(hi)), 10 ** (Math.floor(Math.log10(lo)) + 1)),
      }
    : {};
}
