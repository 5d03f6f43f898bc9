import type { Analysis } from '../../analyze/index.js';
import { formatDuration } from '../../util/duration.js';
import { baseOptions, xAxis, xRange, type ChartJson } from './axes.js';
import { secondRuns } from './boxes.js';
import { COLORS, FONT } from './colors.js';
import { legendEntry } from './legend.js';
import { eventLines } from './lines.js';
import type { Marks } from './marks.js';
import { steps } from './series.js';
import { subtitleOf } from './titles.js';

/**
 * Chart: replication lag on green per second (pt-heartbeat style): the max and the last sample of each
 * second, ms. Seconds in which green read heartbeats it had written itself (the endpoint moved to green)
 * are shaded green: no replication lag to measure there; seconds without any reading are shaded grey.
 */
export function lagChart(a: Analysis): ChartJson {
  const s = a.summary;
  const originMs = s.startMs;
  const [min, max] = xRange(a, originMs);
  const point = (pick: 'maxMs' | 'lastMs') =>
    steps(
      a.lag.map((l) => ({ sec: l.sec, y: l[pick] })),
      originMs,
    );
  const datasets: Record<string, unknown>[] = [
    {
      label: 'max lag in the second (ms)',
      data: point('maxMs'),
      yAxisID: 'y',
      borderColor: COLORS.lagMax,
      backgroundColor: COLORS.lagMax,
      borderWidth: 2.5,
      pointRadius: 0,
      stepped: 'before',
      spanGaps: false,
      fill: false,
    },
    {
      label: 'last lag sample of the second (ms)',
      data: point('lastMs'),
      yAxisID: 'y',
      borderColor: COLORS.lagLast,
      backgroundColor: COLORS.lagLast,
      borderWidth: 1.5,
      borderDash: [6, 4],
      pointRadius: 0,
      stepped: 'before',
      spanGaps: false,
      fill: false,
    },
  ];
  const selfSecs = a.lag.filter((l) => l.samples === 0 && l.selfWritten > 0).map((l) => l.sec);
  const noneSecs = a.lag.filter((l) => l.samples === 0 && l.selfWritten === 0).map((l) => l.sec);
  const boxes = [
    ...secondRuns(selfSecs, originMs, 'y', COLORS.lagSelf, 'green is the writer: no lag to measure', '#205020'),
    ...secondRuns(noneSecs, originMs, 'y', COLORS.lagNone, 'no lag reading', '#333333'),
  ];
  const marks: Marks = { boxes, lines: eventLines(s, originMs), points: [], strips: [] };
  const lag = s.replicationLag;
  const maxText = lag?.maxMs == null ? 'no sample' : `max ${formatDuration(lag.maxMs)}`;
  const options = baseOptions(
    `${s.label}: replication lag on green (heartbeat written through the endpoint every 100 ms) · ${maxText}`,
    `${subtitleOf(s, originMs, 'start')}${lag ? ` · green ${lag.green}` : ''}`,
  );
  options.scales = {
    x: xAxis(min, max, 'seconds from start'),
    y: {
      type: 'linear',
      beginAtZero: true,
      grace: '12%',
      title: { display: true, text: 'lag (ms)', font: { ...FONT, size: 16, weight: 'bold' }, color: '#222' },
      ticks: { font: { ...FONT, size: 14 }, color: '#222', maxTicksLimit: 8 },
      grid: { color: COLORS.grid },
    },
  };
  (options.plugins as Record<string, unknown>).downtimeMarks = marks;
  const legend = (label: string, color: string): Record<string, unknown> => legendEntry(label, color, 'y');
  if (selfSecs.length > 0)
    datasets.push(legend('green writes the heartbeat itself (after a switchover)', COLORS.lagSelf));
  if (noneSecs.length > 0) datasets.push(legend('no lag reading (green unreachable or errors)', COLORS.lagNone));
  return { type: 'line', data: { datasets }, options };
}
