import { COLORS } from './colors.js';
import type { MarkBox, Marks } from './marks.js';

/** A legend entry for something the plugin draws: a dataset without data, in its colour. */
export function legendEntry(label: string, color: string, axis: string): Record<string, unknown> {
  return {
    label,
    data: [],
    yAxisID: axis,
    backgroundColor: color,
    borderColor: color,
    borderWidth: 0,
    pointRadius: 0,
  };
}

/** Legend entries for the marks a chart has (windows, gaps, stalls, full outage, lost writes), so it explains itself. */
export function markLegend(marks: Marks): Record<string, unknown>[] {
  const entry = legendEntry;
  const out: Record<string, unknown>[] = [];
  const some = (color: string): MarkBox | undefined => marks.boxes.find((b) => b.color === color);
  const r = some(COLORS.readWindow);
  if (r?.axis) out.push(entry('read outage window', COLORS.readWindow, r.axis));
  const w = some(COLORS.writeWindow);
  if (w?.axis) out.push(entry('write outage window', COLORS.writeWindow, w.axis));
  const g = some(COLORS.gap);
  if (g?.axis) out.push(entry('no data (seconds missing from the file)', COLORS.gap, g.axis));
  const st = some(COLORS.stall);
  if (st?.axis) out.push(entry('harness stalled (not counted as up or down)', COLORS.stall, st.axis));
  const axis = marks.boxes[0]?.axis ?? marks.points[0]?.axis;
  if (marks.strips.length > 0 && axis) out.push(entry('full outage (both down)', COLORS.full, axis));
  const p = marks.points[0];
  if (p) out.push(entry('lost write (acknowledged, then missing)', COLORS.lost, p.axis));
  return out;
}
