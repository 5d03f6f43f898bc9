import type { Analysis } from '../../analyze/index.js';
import type { Op } from '../../results/types.js';
import { CHART_WIDTH, secondsFrom } from './axes.js';
import { COLORS } from './colors.js';

/** A point of a line dataset; y null breaks the line. */
export interface XY {
  x: number;
  y: number | null;
}

/**
 * Per-second values as a step line: the value of second x holds over [x, x+1). chart.js's `stepped: 'before'`
 * draws each segment at its start point's value; a closing point ends the last step.
 */
export function steps(points: { sec: number; y: number | null }[], originMs: number): XY[] {
  const out: XY[] = [];
  let prev: { sec: number; y: number | null } | undefined;
  for (const p of points) {
    // Missing seconds (a crash, a stalled writer) are unknown, not "same as before": close the last step
    // and break the line (a null point), so nothing is drawn across the gap.
    if (prev && p.sec > prev.sec + 1) {
      const x = secondsFrom(originMs, (prev.sec + 1) * 1000);
      out.push({ x, y: prev.y }, { x, y: null });
    }
    out.push({ x: secondsFrom(originMs, p.sec * 1000), y: p.y });
    prev = p;
  }
  const last = points[points.length - 1];
  if (last) out.push({ x: secondsFrom(originMs, (last.sec + 1) * 1000), y: last.y });
  return decimate(out);
}

/** Slices of a chart's width a line is thinned to: one per 2 px, the width of its lines. */
const BUCKETS = CHART_WIDTH / 2;

/**
 * A line of more points than the chart has room for, thinned to the lowest and the highest point of each of
 * `buckets` equal slices of its x range (in x order), as the full line would paint that slice anyway: a
 * one-second outage in a day-long run still reaches 0, a one-second spike its top (held until the slice's next
 * point: up to one slice wider than it was). Breaks (y null) are kept, one per run of them. Cairo strokes a long path in more than linear time: a 5-hour run's charts took 25 s
 * to draw with a point per second, a 10-hour run's 2 min 40 s.
 */
export function decimate(points: XY[], buckets = BUCKETS): XY[] {
  const first = points[0];
  const last = points[points.length - 1];
  if (first === undefined || last === undefined || points.length <= 2 * buckets + 2) return points;
  const width = (last.x - first.x) / buckets;
  if (!(width > 0)) return points;
  const out: XY[] = [first];
  let bucket = -1;
  let lo: (XY & { y: number }) | null = null;
  let hi: (XY & { y: number }) | null = null;
  const push = (p: XY): void => {
    if (out[out.length - 1] !== p) out.push(p);
  };
  const flush = (): void => {
    if (lo !== null && hi !== null) {
      const [a, b] = lo.x <= hi.x ? [lo, hi] : [hi, lo];
      push(a);
      push(b);
    }
    lo = null;
    hi = null;
  };
  for (const p of points) {
    const b = Math.min(buckets - 1, Math.floor((p.x - first.x) / width));
    if (b !== bucket) {
      flush();
      bucket = b;
    }
    if (p.y === null) {
      flush();
      if (out[out.length - 1]?.y !== null) out.push(p);
      continue;
    }
    const q = p as XY & { y: number };
    if (lo === null || q.y < lo.y) lo = q;
    if (hi === null || q.y > hi.y) hi = q;
  }
  flush();
  push(last);
  return out;
}

/** An op's ok/s and failed-or-dropped/s step lines on `axis`, labels prefixed with `prefix`. */
export function opDatasets(
  a: Analysis,
  op: Op,
  axis: string,
  originMs: number,
  prefix = '',
): Record<string, unknown>[] {
  const pts = a.series[op];
  const okColor = op === 'read' ? COLORS.readOk : COLORS.writeOk;
  const badColor = op === 'read' ? COLORS.readFailed : COLORS.writeFailed;
  return [
    {
      label: `${prefix}${op}s ok/s`,
      data: steps(
        pts.map((p) => ({ sec: p.sec, y: p.ok })),
        originMs,
      ),
      yAxisID: axis,
      borderColor: okColor,
      backgroundColor: okColor,
      borderWidth: 2,
      pointRadius: 0,
      stepped: 'before',
      fill: false,
    },
    {
      label: `${prefix}${op}s failed or dropped/s`,
      data: steps(
        pts.map((p) => ({ sec: p.sec, y: p.failed + p.dropped })),
        originMs,
      ),
      yAxisID: axis,
      borderColor: badColor,
      backgroundColor: badColor.replace(
        /^#(..)(..)(..)$/,
        (_m, r: string, g: string, b: string) =>
          `rgba(${parseInt(r, 16)}, ${parseInt(g, 16)}, ${parseInt(b, 16)}, 0.35)`,
      ),
      borderWidth: 2,
      pointRadius: 0,
      stepped: 'before',
      fill: 'origin',
    },
  ];
}
