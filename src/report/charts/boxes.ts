import type { Outage, Summary } from '../../analyze/index.js';
import type { Op } from '../../results/types.js';
import { formatDuration } from '../../util/duration.js';
import { secondsFrom } from './axes.js';
import { COLORS } from './colors.js';
import type { MarkBox, MarkPoint } from './marks.js';

/** At most this many windows (the longest) are labelled per panel: more labels would cover each other. */
const MAX_WINDOW_LABELS = 8;

/** Shaded outage windows per panel; the longest few get their duration written on them. */
export function windowBoxes(outages: Outage[], originMs: number, axisOf: Partial<Record<Op, string>>): MarkBox[] {
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
export function gapBoxes(
  s: Summary,
  originMs: number,
  axisOf: Partial<Record<Op, string>>,
  withLabels = true,
): MarkBox[] {
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

/** Full outages (both ops down) as strips along the top, the longest few labelled. */
export function fullStrips(outages: Outage[], originMs: number): MarkBox[] {
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

/** A marker on the write panel in each second that lost an acknowledged write. */
export function lostPoints(s: Summary, originMs: number, axis: string | undefined): MarkPoint[] {
  if (!s.writes || axis === undefined) return [];
  return s.writes.lostSeconds.map((sec) => ({
    x: secondsFrom(originMs, sec * 1000 + 500),
    axis,
    label: 'lost write',
    color: COLORS.lost,
  }));
}

/** Consecutive seconds matching `pick`, as boxes [fromX, toX) on `axis`. */
export function secondRuns(
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
