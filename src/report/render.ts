import type { ChartJSNodeCanvas } from 'chartjs-node-canvas';
import type { Chart, ChartConfiguration, Plugin } from 'chart.js';
import {
  CHART_HEIGHT,
  CHART_WIDTH,
  type ChartJson,
  type MarkBox,
  type MarkLine,
  type MarkPoint,
  type Marks,
} from './charts/index.js';

/**
 * Renders chart configurations to PNG. The only non-JSON part is this inline plugin, which draws what
 * `options.plugins.downtimeMarks` describes: shaded outage windows per panel, a strip for full outages,
 * labelled vertical lines for events and triangles for lost writes (no chartjs-plugin-annotation).
 */
const FONT_FAMILY = 'DejaVu Sans, sans-serif';

function boxRect(chart: Chart, b: MarkBox): { x: number; y: number; w: number; h: number } | null {
  const area = chart.chartArea;
  const xs = chart.scales.x;
  if (!xs) return null;
  const x1 = Math.max(area.left, xs.getPixelForValue(b.fromX));
  const x2 = Math.min(area.right, xs.getPixelForValue(b.toX));
  if (x2 < x1) return null;
  const ys = b.axis ? chart.scales[b.axis] : undefined;
  const top = ys ? ys.top : area.top;
  const bottom = ys ? ys.bottom : area.bottom;
  // A window shorter than a pixel is still drawn, one pixel wide: a short outage must not vanish.
  return { x: x1, y: top, w: Math.max(1, x2 - x1), h: bottom - top };
}

/** An event line's label to place: the line's pixel x, its panel's top and bottom, and the text's length. */
export interface LineLabel {
  x: number;
  top: number;
  bottom: number;
  /** Text length in px (the label reads upwards, so this is its height on the chart). */
  length: number;
}

/** Where a label goes: its text ends at `y` (reading upwards from y + length to y), left edge at `left`. */
export interface LabelSpot {
  left: number;
  y: number;
}

/** A label's thickness across its line (14 px bold text and its backing). */
export const LABEL_THICKNESS = 18;
/** Distance from the panel's top to the end of a label's text. */
const LABEL_TOP_GAP = 40;
const LABEL_GAP = 6;

/**
 * Lays event-line labels out so that none covers another. Each label sits just right of its line, its text
 * ending LABEL_TOP_GAP below the panel's top; events a few pixels apart (a step's phases in quick succession)
 * would print on top of each other, so a label that would overlap one already placed moves down its line
 * below it, or — when that runs out of panel — to the left of its line, then a column further out on either
 * side. Labels are placed in x order; the result is in the order given.
 */
export function placeLineLabels(items: readonly LineLabel[], minLeft = -Infinity): LabelSpot[] {
  const placed: { x1: number; x2: number; y1: number; y2: number }[] = [];
  const overlaps = (x1: number, x2: number, y1: number, y2: number): { y2: number } | undefined =>
    placed.find((p) => x1 < p.x2 && p.x1 < x2 && y1 < p.y2 + LABEL_GAP && p.y1 < y2 + LABEL_GAP);
  const spots: LabelSpot[] = new Array<LabelSpot>(items.length);
  const order = items.map((_, i) => i).sort((a, b) => (items[a] as LineLabel).x - (items[b] as LineLabel).x);
  for (const i of order) {
    const it = items[i] as LineLabel;
    // Right of the line, then left, then one and two columns further out; the left only inside the chart
    // area (not over the axis numbers).
    const step = LABEL_THICKNESS + 2;
    const sides = [0, 1, 2]
      .flatMap((k) => [it.x + 3 + k * step, it.x - 3 - LABEL_THICKNESS - k * step])
      .filter((left) => left >= minLeft);
    let spot: LabelSpot | undefined;
    for (const left of sides) {
      let y = it.top + LABEL_TOP_GAP;
      for (let guard = 0; guard < items.length + 1; guard++) {
        const hit = overlaps(left, left + LABEL_THICKNESS, y, y + it.length);
        if (!hit) break;
        y = hit.y2 + LABEL_GAP;
      }
      if (!overlaps(left, left + LABEL_THICKNESS, y, y + it.length) && y + it.length <= it.bottom) {
        spot = { left, y };
        break;
      }
    }
    // No free place on either side within the panel: the default place (a readable overlap beats none).
    spot ??= { left: it.x + 3, y: it.top + LABEL_TOP_GAP };
    placed.push({ x1: spot.left, x2: spot.left + LABEL_THICKNESS, y1: spot.y, y2: spot.y + it.length });
    spots[i] = spot;
  }
  return spots;
}

type Ctx = Chart['ctx'];

function label(ctx: Ctx, text: string, x: number, y: number, color: string, size = 14): void {
  ctx.font = `bold ${size}px ${FONT_FAMILY}`;
  const w = ctx.measureText(text).width;
  ctx.fillStyle = 'rgba(255,255,255,0.85)';
  ctx.fillRect(x - 2, y - size, w + 4, size + 4);
  ctx.fillStyle = color;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'bottom';
  ctx.fillText(text, x, y + 2);
}

const marksPlugin: Plugin<'line' | 'bar'> = {
  id: 'downtimeMarks',
  beforeDatasetsDraw(chart, _args, opts) {
    const marks = opts as unknown as Marks;
    const ctx = chart.ctx;
    ctx.save();
    for (const b of marks.boxes ?? []) {
      const r = boxRect(chart, b);
      if (!r) continue;
      ctx.fillStyle = b.color;
      ctx.fillRect(r.x, r.y, r.w, r.h);
    }
    ctx.restore();
  },
  afterDatasetsDraw(chart, _args, opts) {
    const marks = opts as unknown as Marks;
    const xs = chart.scales.x;
    if (!xs) return;
    const ctx = chart.ctx;
    ctx.save();
    // Window labels sit at the bottom of their panel (the top carries the full-outage strip); one that would
    // overlap a label already drawn is skipped rather than made unreadable.
    const drawn: DrawnLabel[] = [];
    drawBoxLabels(chart, marks.boxes ?? [], drawn);
    drawStrips(chart, marks.strips ?? [], drawn);
    drawEventLines(chart, xs, marks.lines ?? []);
    for (const c of marks.captions ?? []) {
      const ys = chart.scales[c.axis];
      if (ys) label(ctx, c.text, chart.chartArea.left + 8, ys.top + 20, '#111', 15);
    }
    drawBarLabels(chart, marks.barLabels ?? []);
    drawLostPoints(chart, xs, marks.points ?? []);
    ctx.restore();
  },
};

/** A window or strip label already drawn: its x extent and baseline. */
interface DrawnLabel {
  x1: number;
  x2: number;
  y: number;
}

type Scale = NonNullable<Chart['scales'][string]>;

/** Window labels, at the bottom of their panel. */
function drawBoxLabels(chart: Chart, boxes: readonly MarkBox[], drawn: DrawnLabel[]): void {
  const ctx = chart.ctx;
  ctx.font = `bold 13px ${FONT_FAMILY}`;
  for (const b of boxes) {
    const r = boxRect(chart, b);
    if (!r || !b.label) continue;
    const x1 = r.x + 3;
    const x2 = x1 + ctx.measureText(b.label).width + 6;
    const y = r.y + r.h - 6;
    if (drawn.some((d) => d.y === y && x1 < d.x2 && d.x1 < x2)) continue;
    drawn.push({ x1, x2, y });
    label(ctx, b.label, x1, y, b.labelColor ?? '#8b0000', 13);
  }
}

/** Full-outage strips along the top of the chart area, and their labels. */
function drawStrips(chart: Chart, strips: readonly MarkBox[], drawn: DrawnLabel[]): void {
  const ctx = chart.ctx;
  const area = chart.chartArea;
  ctx.font = `bold 13px ${FONT_FAMILY}`;
  for (const s of strips) {
    const r = boxRect(chart, s);
    if (!r) continue;
    ctx.fillStyle = s.color;
    ctx.fillRect(r.x, area.top, r.w, 8);
    if (!s.label) continue;
    const x1 = r.x + 3;
    const x2 = x1 + ctx.measureText(s.label).width + 6;
    const y = area.top + 26;
    if (drawn.some((d) => d.y === y && x1 < d.x2 && d.x1 < x2)) continue;
    drawn.push({ x1, x2, y });
    label(ctx, s.label, x1, y, '#8b0000', 13);
  }
}

/** Event lines across their panel (or the chart area), each labelled where placeLineLabels puts it. */
function drawEventLines(chart: Chart, xs: Scale, marks: readonly MarkLine[]): void {
  const ctx = chart.ctx;
  const area = chart.chartArea;
  const lines = marks
    .map((l) => {
      const ys = l.axis ? chart.scales[l.axis] : undefined;
      return { l, x: xs.getPixelForValue(l.x), top: ys ? ys.top : area.top, bottom: ys ? ys.bottom : area.bottom };
    })
    .filter((d) => d.x >= area.left && d.x <= area.right);
  ctx.font = `bold 14px ${FONT_FAMILY}`;
  const spots = placeLineLabels(
    lines.map((d) => ({ x: d.x, top: d.top, bottom: d.bottom, length: ctx.measureText(d.l.label).width + 4 })),
    area.left,
  );
  lines.forEach(({ l, x, top, bottom }, i) => {
    ctx.strokeStyle = l.color;
    ctx.lineWidth = 1.5;
    ctx.setLineDash(l.dashed ? [6, 4] : []);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, bottom);
    ctx.stroke();
    ctx.setLineDash([]);
    // Rotated, reading upwards, ending near the top, on the right of the line (inside the chart area even
    // at x = 0, where a label on the left would cover the axis numbers), unless another label is there.
    const spot = spots[i] as LabelSpot;
    ctx.save();
    ctx.translate(spot.left, spot.y);
    ctx.rotate(-Math.PI / 2);
    ctx.font = `bold 14px ${FONT_FAMILY}`;
    const w = ctx.measureText(l.label).width;
    ctx.fillStyle = 'rgba(255,255,255,0.85)';
    ctx.fillRect(-w - 2, -1, w + 4, LABEL_THICKNESS);
    ctx.fillStyle = l.color;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText(l.label, 0, 0);
    ctx.restore();
  });
}

/** Bar charts: each bar's text above it. */
function drawBarLabels(chart: Chart, barLabels: readonly (string | null)[][]): void {
  const ctx = chart.ctx;
  barLabels.forEach((texts, di) => {
    const meta = chart.getDatasetMeta(di);
    if (meta.hidden) return;
    ctx.font = `bold 15px ${FONT_FAMILY}`;
    ctx.fillStyle = '#111';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    texts.forEach((text, i) => {
      const el = meta.data[i];
      if (text === null || !el || !Number.isFinite(el.x)) return;
      // A null value (op not probed) has no bar: its text sits on the axis.
      const y = Number.isFinite(el.y) ? el.y : (chart.scales.y?.bottom ?? chart.chartArea.bottom);
      ctx.fillText(text, el.x, y - 4);
    });
  });
}

/** Lost writes: a triangle at the bottom of the panel in each such second; only the first is labelled. */
function drawLostPoints(chart: Chart, xs: Scale, points: readonly MarkPoint[]): void {
  const ctx = chart.ctx;
  const area = chart.chartArea;
  let labelled = false;
  for (const p of points) {
    const x = xs.getPixelForValue(p.x);
    const ys = chart.scales[p.axis];
    if (!ys || x < area.left || x > area.right) continue;
    const y = ys.bottom - 4;
    ctx.fillStyle = p.color;
    ctx.beginPath();
    ctx.moveTo(x, y - 14);
    ctx.lineTo(x - 8, y);
    ctx.lineTo(x + 8, y);
    ctx.closePath();
    ctx.fill();
    if (!labelled) {
      label(ctx, p.label, x + 10, y - 22, p.color, 13);
      labelled = true;
    }
  }
}

let canvas: ChartJSNodeCanvas | null = null;

/**
 * Loaded on first use, not at start-up: chartjs-node-canvas loads the native `canvas` module, and a host where it
 * does not load can still run and write every text output (the report then says its charts are missing).
 */
async function renderer(): Promise<ChartJSNodeCanvas> {
  if (canvas === null) {
    const { ChartJSNodeCanvas: Canvas } = await import('chartjs-node-canvas');
    canvas = new Canvas({ width: CHART_WIDTH, height: CHART_HEIGHT, backgroundColour: 'white' });
  }
  return canvas;
}

/** Renders one chart to PNG bytes (CHART_WIDTH×CHART_HEIGHT at devicePixelRatio 2); datasets without a label stay out of the legend. */
export async function renderPng(config: ChartJson): Promise<Buffer> {
  const options = config.options as { plugins?: { legend?: { labels?: Record<string, unknown> } } };
  const legendLabels = {
    ...(options.plugins?.legend?.labels ?? {}),
    filter: (item: { text?: string }) => Boolean(item.text),
  };
  const full = {
    ...config,
    options: {
      ...options,
      plugins: { ...options.plugins, legend: { ...options.plugins?.legend, labels: legendLabels } },
    },
    plugins: [marksPlugin],
  } as unknown as ChartConfiguration;
  return (await renderer()).renderToBuffer(full, 'image/png');
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const sig = '89504e470d0a1a0a';
  if (png.subarray(0, 8).toString('hex') !== sig || png.subarray(12, 16).toString('ascii') !== 'IHDR') {
    throw new Error('not a PNG');
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
