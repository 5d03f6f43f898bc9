/**
 * Chart configurations as pure functions: analysis in → chart.js configuration (plain JSON) out, so they are
 * compared as JSON goldens. One file per chart (outcome, latency, lag, compare, downtime bars); what they share
 * is in axes.ts (canvas, options, axes), colors.ts, series.ts (step lines), boxes.ts, lines.ts and legend.ts
 * (the marks: shading, event lines and lost-write markers, plain data under `options.plugins.downtimeMarks`,
 * typed in marks.ts). The inline plugin that draws the marks lives in render.ts (no function in here).
 */
export { CHART_WIDTH, CHART_HEIGHT, type ChartJson } from './axes.js';
export type { MarkBox, MarkLine, MarkPoint, Marks } from './marks.js';
export { outcomeChart } from './outcome.js';
export { latencyChart } from './latency.js';
export { lagChart } from './lag.js';
export { compareChart } from './compare.js';
export { downtimeBarChart } from './downtime-bars.js';
