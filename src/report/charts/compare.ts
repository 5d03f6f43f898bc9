import type { Analysis, Summary } from '../../analyze/index.js';
import { baseOptions, xAxis, xRange, yPanel, type ChartJson } from './axes.js';
import { gapBoxes, lostPoints, windowBoxes } from './boxes.js';
import { COLORS } from './colors.js';
import { eventLines } from './lines.js';
import type { MarkBox, MarkLine, MarkPoint, Marks } from './marks.js';
import { opDatasets } from './series.js';
import { compactDowntime } from './titles.js';
import { wallClock } from '../../util/time.js';

/** Where a run is aligned in a comparison: its first `action` event, else its start. */
function alignmentOf(s: Summary): { originMs: number; what: string } {
  const action = s.events.find((e) => e.kind === 'action');
  return action
    ? { originMs: action.atMs, what: `first action (${action.name})` }
    : { originMs: s.startMs, what: 'start' };
}

/** Chart 3a: runs one above another on one time scale, aligned at their first action (or start). */
export function compareChart(runs: Analysis[]): ChartJson {
  const datasets: Record<string, unknown>[] = [];
  const scales: Record<string, unknown> = {};
  const boxes: MarkBox[] = [];
  const lines: MarkLine[] = [];
  const points: MarkPoint[] = [];
  let min = Infinity;
  let max = -Infinity;
  // Bottom-up layout: the last run is listed first so the first run is on top.
  runs.forEach((a, i) => {
    const s = a.summary;
    const { originMs } = alignmentOf(s);
    const axis = `y_run${i}`;
    const [lo, hi] = xRange(a, originMs);
    min = Math.min(min, lo);
    max = Math.max(max, hi);
    for (const op of ['read', 'write'] as const) {
      if (!s.ops[op]) continue;
      // One legend entry per kind of line: later runs' datasets have no label (render.ts hides those).
      const ds = opDatasets(a, op, axis, originMs);
      datasets.push(...(i === 0 ? ds : ds.map((d) => ({ ...d, label: '' }))));
    }
    for (const b of windowBoxes(s.outages, originMs, { read: axis, write: axis })) boxes.push({ ...b });
    boxes.push(...gapBoxes(s, originMs, { read: axis, write: axis }));
    for (const l of eventLines(s, originMs)) if (l.color !== COLORS.identity) lines.push({ ...l, axis });
    points.push(...lostPoints(s, originMs, axis));
  });
  [...runs].reverse().forEach((a) => {
    const i = runs.indexOf(a);
    const s = a.summary;
    scales[`y_run${i}`] = yPanel(`${i + 1}. ${s.label}`);
  });
  const aligned = runs.map(
    (a, i) => `${i + 1}: ${alignmentOf(a.summary).what} at ${wallClock(alignmentOf(a.summary).originMs)}`,
  );
  const options = baseOptions(
    `Comparison: ${runs.map((a) => a.summary.label).join(' vs ')} — probes ok / failed per second`,
    `x = seconds from each run's alignment point · ${aligned.join(' · ')}`,
  );
  options.scales = {
    x: xAxis(
      Number.isFinite(min) ? Math.floor(min) : 0,
      Number.isFinite(max) ? Math.ceil(max) : 1,
      'seconds from alignment point (first action, else start)',
    ),
    ...scales,
  };
  const captions = runs.map((a, i) => ({
    axis: `y_run${i}`,
    text: `${i + 1}. ${a.summary.label} — down: ${compactDowntime(a.summary)} · x = 0 at ${alignmentOf(a.summary).what}`,
  }));
  (options.plugins as Record<string, unknown>).downtimeMarks = {
    boxes,
    lines,
    points,
    strips: [],
    captions,
  } satisfies Marks;
  return { type: 'line', data: { datasets }, options };
}
