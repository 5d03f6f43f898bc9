import type { OutageOp, Summary } from '../../analyze/index.js';
import { baseOptions, type ChartJson } from './axes.js';
import { COLORS, FONT } from './colors.js';
import type { Marks } from './marks.js';
import { downtimeText } from './titles.js';
import { wallClock } from '../../util/time.js';

/** Chart 3b: read / write / full downtime per run, seconds. */
export function downtimeBarChart(summaries: Summary[]): ChartJson {
  const labels = summaries.map((s, i) => `${i + 1}. ${s.label}`);
  const colors: Record<OutageOp, string> = { read: COLORS.readOk, write: COLORS.writeOk, full: '#b00000' };
  const datasets = (['read', 'write', 'full'] as const).map((op) => ({
    label: `${op} downtime (s)`,
    data: summaries.map((s) => (s.downtimeMs[op] === null ? null : Math.round(s.downtimeMs[op]) / 1000)),
    backgroundColor: colors[op],
    borderColor: colors[op],
  }));
  const options = baseOptions(
    'Downtime per run (seconds; lower is better)',
    summaries.map((s, i) => `${i + 1}: ${s.label} ${wallClock(s.startMs)}`).join(' · '),
  );
  options.parsing = true;
  const barLabels = (['read', 'write', 'full'] as const).map((op) => summaries.map((s) => downtimeText(s, op)));
  const marks: Marks = { boxes: [], lines: [], points: [], strips: [], barLabels };
  (options.plugins as Record<string, unknown>).downtimeMarks = marks;
  options.scales = {
    x: { ticks: { font: { ...FONT, size: 16 }, color: '#222' }, grid: { display: false } },
    y: {
      beginAtZero: true,
      // Head room for the value labels above the tallest bar.
      grace: '8%',
      title: { display: true, text: 'downtime (s)', font: { ...FONT, size: 16, weight: 'bold' }, color: '#222' },
      ticks: { font: { ...FONT, size: 14 }, color: '#222' },
      grid: { color: COLORS.grid },
    },
  };
  return { type: 'bar', data: { labels, datasets }, options };
}
