import type { Analysis, Outage, OutageOp, Summary } from '../analyze/index.js';
import type { Op } from '../results/types.js';
import { formatDuration } from '../util/duration.js';

/**
 * Chart configurations as pure functions: analysis in → chart.js configuration (plain JSON) out, so they are
 * compared as JSON goldens. Shading, event lines and lost-write markers are plain data under
 * `options.plugins.downtimeMarks`; the inline plugin that draws them lives in render.ts (no function in here).
 */
export const CHART_WIDTH = 1600;
export const CHART_HEIGHT = 900;
export const DEVICE_PIXEL_RATIO = 2;

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

/** The JSON shape we produce; render.ts hands it to chart.js as a ChartConfiguration. */
export interface ChartJson {
  type: 'line' | 'bar';
  data: { labels?: string[]; datasets: Record<string, unknown>[] };
  options: Record<string, unknown>;
}

export const COLORS = {
  readOk: '#1f77b4',
  writeOk: '#2ca02c',
  readFailed: '#d62728',
  writeFailed: '#ff7f0e',
  readWindow: 'rgba(214, 39, 40, 0.14)',
  writeWindow: 'rgba(255, 127, 14, 0.16)',
  full: 'rgba(150, 0, 0, 0.85)',
  action: '#333333',
  phase: '#7b3fa0',
  fault: '#8b0000',
  identity: '#777777',
  lost: '#9400d3',
  grid: '#e5e5e5',
  gap: 'rgba(90, 90, 90, 0.22)',
  stall: 'rgba(31, 119, 180, 0.2)',
  lagMax: '#6a3d9a',
  lagLast: '#cab2d6',
  lagSelf: 'rgba(44, 160, 44, 0.14)',
  lagNone: 'rgba(90, 90, 90, 0.22)',
} as const;

const FONT = { family: 'DejaVu Sans, sans-serif' };

const secondsFrom = (originMs: number, t: number): number => Math.round((t - originMs) * 1000) / 1e6;

/** "2026-01-01 00:00:00 UTC". */
export function wallClock(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

function downtimeText(s: Summary, op: OutageOp): string {
  const d = s.downtimeMs[op];
  return d === null ? 'not probed' : formatDuration(d);
}

export function titleOf(s: Summary): string {
  const parts = (['read', 'write', 'full'] as const).filter((op) => s.downtimeMs[op] !== null);
  return `${s.label}: ${parts.map((op) => `${op} down ${downtimeText(s, op)}`).join(' · ')}`;
}

function subtitleOf(s: Summary, originMs: number, originWhat: string): string {
  const incomplete = s.complete ? '' : ' · INCOMPLETE (no trailer)';
  return `x = seconds from ${originWhat} (${wallClock(originMs)}); run ${wallClock(s.startMs)} → ${wallClock(s.endMs)} · ${s.target}${incomplete}`;
}

/** At most this many identity changes are drawn: a flapping endpoint would bury the chart in lines. */
const MAX_IDENTITY_LINES = 10;

function eventLines(s: Summary, originMs: number): MarkLine[] {
  const out: MarkLine[] = [];
  let identities = 0;
  let dnsChanges = 0;
  for (const e of s.events) {
    const x = secondsFrom(originMs, e.atMs);
    if (e.kind === 'action') {
      const end = e.phase === 'end';
      // An action's end event carries its start in atMs and its end in endMs.
      const at = end && e.endMs !== undefined ? secondsFrom(originMs, e.endMs) : x;
      out.push({ x: at, label: end ? `${e.name} done` : e.name, color: COLORS.action, dashed: end });
    } else if (e.kind === 'phase') out.push({ x, label: e.name, color: COLORS.phase, dashed: false });
    else if (e.kind === 'fault') out.push({ x, label: `fault: ${e.name}`, color: COLORS.fault, dashed: false });
    else if (e.kind === 'identity') {
      // The first identity event is who answered at the start, not a change.
      identities++;
      if (identities > 1 && identities <= MAX_IDENTITY_LINES + 1) {
        // Identity events are summary.identities in the same order: a short label of who answers from here.
        const id = s.identities[identities - 1];
        const label = id
          ? `→ server_id ${id.serverId ?? '?'}${id.readOnly ? ' read-only' : ''} ${id.hostname ?? ''}${id.address ? ` at ${id.address}` : ''}`
          : e.name;
        out.push({ x, label, color: COLORS.identity, dashed: true });
      }
    } else if (e.kind === 'dns') {
      // The first is where the endpoint's name pointed at the start; then each change of its answer.
      dnsChanges++;
      if (dnsChanges > 1 && dnsChanges <= MAX_IDENTITY_LINES + 1) {
        const label = e.name.replace(/^\S+ resolves to /, 'DNS → ').replace(/^\S+ does not resolve /, 'DNS fails ');
        out.push({ x, label, color: COLORS.identity, dashed: true });
      }
    }
  }
  return out;
}

const MAX_WINDOW_LABELS = 8;

/** Shaded outage windows per panel; the longest few get their duration written on them. */
function windowBoxes(outages: Outage[], originMs: number, axisOf: Partial<Record<Op, string>>): MarkBox[] {
  const boxes: MarkBox[] = [];
  for (const op of ['read', 'write'] as const) {
    const axis = axisOf[op];
    if (axis === undefined) continue;
    const ws = outages.filter((o) => o.op === op);
    const labelled = new Set([...ws].sort((a, b) => b.durationMs - a.durationMs).slice(0, MAX_WINDOW_LABELS));
    for (const w of ws) {
      const box: MarkBox = {
        fromX: secondsFrom(originMs, w.startMs),
        toX: secondsFrom(originMs, w.endMs),
        axis,
        color: op === 'read' ? COLORS.readWindow : COLORS.writeWindow,
      };
      if (labelled.has(w)) box.label = `${formatDuration(w.durationMs)}${w.open ? ' (open)' : ''}`;
      boxes.push(box);
    }
  }
  return boxes;
}

/**
 * Time not observed, per op panel, labelled so no one reads it as up or as down: seconds missing from the file
 * (grey), and stretches where the harness itself stalled (blue).
 */
function gapBoxes(s: Summary, originMs: number, axisOf: Partial<Record<Op, string>>, withLabels = true): MarkBox[] {
  const out: MarkBox[] = [];
  const unknown = [
    ...s.gaps.map((g) => ({ ...g, color: COLORS.gap, what: 'no data' })),
    ...s.stalls.map((g) => ({ ...g, color: COLORS.stall, what: 'harness stalled' })),
  ];
  for (const g of unknown) {
    const axis = axisOf[g.op];
    if (axis === undefined) continue;
    const box: MarkBox = {
      fromX: secondsFrom(originMs, g.startMs),
      toX: secondsFrom(originMs, g.endMs),
      axis,
      color: g.color,
    };
    if (withLabels) {
      box.label = `${g.what} ${formatDuration(g.durationMs)}`;
      box.labelColor = '#333333';
    }
    out.push(box);
  }
  return out;
}

function fullStrips(outages: Outage[], originMs: number): MarkBox[] {
  const full = outages.filter((o) => o.op === 'full');
  const labelled = new Set([...full].sort((a, b) => b.durationMs - a.durationMs).slice(0, MAX_WINDOW_LABELS));
  return full.map((w) => {
    const box: MarkBox = {
      fromX: secondsFrom(originMs, w.startMs),
      toX: secondsFrom(originMs, w.endMs),
      axis: null,
      color: COLORS.full,
    };
    if (labelled.has(w)) box.label = `full outage ${formatDuration(w.durationMs)}`;
    return box;
  });
}

function lostPoints(s: Summary, originMs: number, axis: string | undefined): MarkPoint[] {
  if (!s.writes || axis === undefined) return [];
  return s.writes.lostSeconds.map((sec) => ({
    x: secondsFrom(originMs, sec * 1000 + 500),
    axis,
    label: 'lost write',
    color: COLORS.lost,
  }));
}

function baseOptions(title: string, subtitle: string): Record<string, unknown> {
  return {
    devicePixelRatio: DEVICE_PIXEL_RATIO,
    animation: false,
    responsive: false,
    parsing: false,
    normalized: true,
    layout: { padding: { top: 8, right: 24, bottom: 8, left: 8 } },
    font: FONT,
    plugins: {
      title: { display: true, text: title, font: { ...FONT, size: 24, weight: 'bold' }, color: '#111' },
      subtitle: { display: true, text: subtitle, font: { ...FONT, size: 15 }, color: '#444', padding: { bottom: 8 } },
      legend: { position: 'top', labels: { font: { ...FONT, size: 15 }, color: '#222', boxWidth: 28 } },
      tooltip: { enabled: false },
    },
  };
}

function xAxis(min: number, max: number, title: string): Record<string, unknown> {
  return {
    type: 'linear',
    min,
    max,
    title: { display: true, text: title, font: { ...FONT, size: 16 }, color: '#222' },
    ticks: { font: { ...FONT, size: 14 }, color: '#222', maxTicksLimit: 20 },
    grid: { color: COLORS.grid },
  };
}

function yPanel(title: string | string[], weight = 1, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'linear',
    stack: 'panels',
    stackWeight: weight,
    offset: true,
    beginAtZero: true,
    // Headroom above the data for captions and window labels.
    grace: '12%',
    title: { display: true, text: title, font: { ...FONT, size: 16, weight: 'bold' }, color: '#222' },
    ticks: { font: { ...FONT, size: 14 }, color: '#222', maxTicksLimit: 6 },
    grid: { color: COLORS.grid },
    border: { color: '#888' },
    ...extra,
  };
}

interface XY {
  x: number;
  y: number | null;
}

/**
 * Per-second values as a step line: the value of second x holds over [x, x+1). chart.js's `stepped: 'before'`
 * draws each segment at its start point's value; a closing point ends the last step.
 */
function steps(points: { sec: number; y: number | null }[], originMs: number): XY[] {
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

function opDatasets(a: Analysis, op: Op, axis: string, originMs: number, prefix = ''): Record<string, unknown>[] {
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

function xRange(a: Analysis, originMs: number): [number, number] {
  const s = a.summary;
  return [secondsFrom(originMs, s.startMs), Math.max(secondsFrom(originMs, s.endMs), 1)];
}

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

/** Legend entries (datasets without data) for what the plugin draws, so the chart explains itself. */
function markLegend(marks: Marks): Record<string, unknown>[] {
  const entry = (label: string, color: string, axis: string): Record<string, unknown> => ({
    label,
    data: [],
    yAxisID: axis,
    backgroundColor: color,
    borderColor: color,
    borderWidth: 0,
    pointRadius: 0,
  });
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
  // Whole decades around the data: chart.js fits a log axis tightly to the data, which put a steady p50 on the
  // bottom edge (invisible) and turned 1.8…2.1 ms into a full-height swing.
  let lo = Infinity;
  let hi = -Infinity;
  for (const d of datasets) {
    for (const p of d.data as XY[]) {
      if (p.y === null) continue;
      lo = Math.min(lo, p.y);
      hi = Math.max(hi, p.y);
    }
  }
  const decades =
    lo <= hi
      ? {
          min: 10 ** Math.floor(Math.log10(lo)),
          max: Math.max(10 ** Math.ceil(Math.log10(hi)), 10 ** (Math.floor(Math.log10(lo)) + 1)),
        }
      : {};
  options.scales = {
    x: xAxis(min, max, 'seconds from start'),
    y: {
      type: 'logarithmic',
      ...decades,
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

/** Consecutive seconds matching `pick`, as boxes [fromX, toX) on `axis`. */
function secondRuns(
  secs: number[],
  originMs: number,
  axis: string,
  color: string,
  label: string,
  labelColor: string,
): MarkBox[] {
  const out: MarkBox[] = [];
  let from: number | null = null;
  let prev = -Infinity;
  const close = (): void => {
    if (from === null) return;
    out.push({
      fromX: secondsFrom(originMs, from * 1000),
      toX: secondsFrom(originMs, (prev + 1) * 1000),
      axis,
      color,
      label,
      labelColor,
    });
  };
  for (const sec of secs) {
    if (from === null || sec !== prev + 1) {
      close();
      from = sec;
    }
    prev = sec;
  }
  close();
  return out;
}

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
  const legend = (label: string, color: string): Record<string, unknown> => ({
    label,
    data: [],
    yAxisID: 'y',
    backgroundColor: color,
    borderColor: color,
    borderWidth: 0,
    pointRadius: 0,
  });
  if (selfSecs.length > 0)
    datasets.push(legend('green writes the heartbeat itself (after a switchover)', COLORS.lagSelf));
  if (noneSecs.length > 0) datasets.push(legend('no lag reading (green unreachable or errors)', COLORS.lagNone));
  return { type: 'line', data: { datasets }, options };
}

/** Where a run is aligned in a comparison: its first `action` event, else its start. */
export function alignmentOf(s: Summary): { originMs: number; what: string } {
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

function compactDowntime(s: Summary): string {
  return (['read', 'write', 'full'] as const)
    .filter((op) => s.downtimeMs[op] !== null)
    .map((op) => `${op} ${formatDuration(s.downtimeMs[op] as number)}`)
    .join(' · ');
}

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
  const barLabels = (['read', 'write', 'full'] as const).map((op) =>
    summaries.map((s) => {
      const d = s.downtimeMs[op];
      return d === null ? 'not probed' : formatDuration(d);
    }),
  );
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
