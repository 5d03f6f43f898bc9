import type { Analysis } from '../../analyze/index.js';
import type { Op } from '../../results/types.js';
import { baseOptions, xAxis, xRange, yPanel, type ChartJson } from './axes.js';
import { fullStrips, gapBoxes, lostPoints, windowBoxes } from './boxes.js';
import { markLegend } from './legend.js';
import { eventLines } from './lines.js';
import type { Marks } from './marks.js';
import { opDatasets } from './series.js';
import { subtitleOf, titleOf } from './titles.js';

/** Chart 1: successes and failures per second, reads above writes, windows shaded, events marked. */
export function outcomeChart(a: Analysis): ChartJson {
  const s = a.summary;
  const originMs = s.startMs;
  const ops = (['read', 'write'] as const).filter((op) => s.ops[op]);
  // Stacked axes are laid out bottom-up: list writes first so reads are the upper panel.
  const axisOf: Partial<Record<Op, string>> = {};
  const scales: Record<string, unknown> = {};
  const [min, max] = xRange(a, originMs);
  scales.x = xAxis(min, max, 'seconds from start');
  for (const op of [...ops].reverse()) {
    axisOf[op] = `y_${op}`;
    scales[`y_${op}`] = yPanel(`${op}s per second`);
  }
  const marks: Marks = {
    boxes: [...windowBoxes(s.outages, originMs, axisOf), ...gapBoxes(s, originMs, axisOf)],
    lines: eventLines(s, originMs),
    points: lostPoints(s, originMs, axisOf.write),
    strips: fullStrips(s.outages, originMs),
  };
  const options = baseOptions(titleOf(s), subtitleOf(s, originMs, 'start'));
  options.scales = scales;
  (options.plugins as Record<string, unknown>).downtimeMarks = marks;
  return {
    type: 'line',
    data: {
      datasets: [...ops.flatMap((op) => opDatasets(a, op, axisOf[op] as string, originMs)), ...markLegend(marks)],
    },
    options,
  };
}
