import type { Analysis } from '../../analyze/index.js';
import type { Op } from '../../results/types.js';
import { secondsFrom } from './axes.js';
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
