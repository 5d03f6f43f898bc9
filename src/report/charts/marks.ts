/**
 * What the charts draw besides their datasets, as plain data under `options.plugins.downtimeMarks`: shaded
 * outage windows per panel, a strip for full outages, labelled event lines and lost-write markers. The inline
 * plugin that draws them lives in render.ts (no function in a chart configuration).
 */
export interface MarkBox {
  /** x range in the chart's x units (seconds). */
  fromX: number;
  toX: number;
  /** Shade only this y axis' panel; null: the whole chart area. */
  axis: string | null;
  color: string;
  label?: string;
  /** Label colour; default dark red (outage labels). */
  labelColor?: string;
}
export interface MarkLine {
  x: number;
  label: string;
  color: string;
  dashed: boolean;
  /** Draw only across this y axis' panel (compare: each run's own events); absent: the whole chart area. */
  axis?: string;
}
export interface MarkPoint {
  x: number;
  axis: string;
  label: string;
  color: string;
}
export interface Marks {
  boxes: MarkBox[];
  lines: MarkLine[];
  points: MarkPoint[];
  /** A strip along the top of the chart area for full outages (both ops down). */
  strips: MarkBox[];
  /** A caption inside the top left of a panel. */
  captions?: { axis: string; text: string }[];
  /** Bar charts: a text above each bar, [datasetIndex][barIndex] (null: none), so numbers read off a ticket. */
  barLabels?: (string | null)[][];
}
