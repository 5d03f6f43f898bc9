import type { OutageOp, Summary } from '../../analyze/index.js';
import type { ThresholdResult } from '../../analyze/thresholds.js';
import { formatDuration, formatOffset } from '../../util/duration.js';
import { timeOfDay } from '../../util/time.js';
import { OUTAGE_OPS, durationText, errorsText, formatAvailability, formatNines, latencyText } from './wording.js';

/** The tables and lists the summary table, summary.md and report.html have in common, as rows of cells. */

/** Rows of the main table: [label, read, write, full]. */
export function rows(s: Summary): string[][] {
  const col = (f: (op: OutageOp) => string): string[] => OUTAGE_OPS.map(f);
  const opCol = (f: (op: 'read' | 'write') => string): string[] => [f('read'), f('write'), ''];
  return [
    ['', 'read', 'write', 'full (both down)'],
    ['downtime', ...col((op) => durationText(s.downtimeMs[op]))],
    ['gross (no answer)', ...col((op) => durationText(s.grossDowntimeMs?.[op] ?? null))],
    ...(s.slowMs === null || s.slowMs === undefined
      ? []
      : [
          [`degraded (slower than ${durationText(s.slowMs)})`, ...opCol((o) => durationText(s.degradedMs[o]))],
          [
            'availability counting slow as down',
            ...opCol((o) => {
              const a = s.ops[o]?.availabilityDegraded;
              return a === null || a === undefined ? 'n/a' : formatAvailability(a, a === 1 ? null : -Math.log10(1 - a));
            }),
          ],
        ]),
    ['outage windows', ...col((op) => (s.windows[op] === null ? 'n/a' : String(s.windows[op])))],
    ['availability (this run)', ...col((op) => formatAvailability(s.availability[op], s.nines[op]))],
    ['nines (this run)', ...col((op) => formatNines(s.nines[op], s.availability[op]))],
    [
      'if once a month',
      ...col((op) =>
        s.oncePerMonth[op].availability === null
          ? 'n/a'
          : `${formatAvailability(s.oncePerMonth[op].availability, s.oncePerMonth[op].nines)} (${formatNines(s.oncePerMonth[op].nines, s.oncePerMonth[op].availability)} nines)`,
      ),
    ],
    [
      'disruption span',
      ...opCol((op) => {
        const d = s.ops[op]?.disruption;
        return s.ops[op] ? (d ? formatDuration(d.durationMs) : 'none') : 'n/a';
      }),
    ],
    [
      'probes ok / failed / dropped',
      ...opCol((op) => {
        const o = s.ops[op];
        return o ? `${o.ok} / ${o.failed} / ${o.dropped}` : 'n/a';
      }),
    ],
    ['latency p50 / p99 / max', ...opCol((op) => (s.ops[op] ? latencyText(s.ops[op]?.latencyMs) : 'n/a'))],
  ];
}

/** A send lag above this near a window's edges is said in its note (edges are otherwise exact to an interval). */
const EDGE_LAG_NOTE_MS = 20;

/** The first `limit` outage windows: op, start (offset and UTC), duration, errors, notes on gaps and open ends. */
export function outageRows(s: Summary, limit: number): string[][] {
  const t = [['op', 'start (s from start)', 'start (UTC)', 'duration', 'errors', 'note']];
  for (const o of s.outages.slice(0, limit)) {
    const note = [
      o.open ? 'still down at end' : '',
      o.endsAtGap ? 'ends at missing seconds' : '',
      o.startsAfterGap ? 'starts after missing seconds' : '',
      (o.poolRecoveryMs ?? 0) > 0 ? `the pool answered ${formatDuration(o.poolRecoveryMs as number)} later` : '',
      (o.edgeLagMs ?? 0) > EDGE_LAG_NOTE_MS
        ? `edges uncertain by up to ${formatDuration(o.edgeLagMs as number)} (the harness sent late)`
        : '',
    ]
      .filter(Boolean)
      .join('; ');
    t.push([
      o.op,
      ((o.startMs - s.startMs) / 1000).toFixed(3),
      new Date(o.startMs).toISOString(),
      formatDuration(o.durationMs),
      errorsText(o.errors),
      note,
    ]);
  }
  return t;
}

/**
 * Every run's outage windows on one clock (UTC), in time order: the side-by-side members of one run (endpoints,
 * client models) share their clocks, so this says which was down when. At most `limit` rows.
 */
export function compareWindowRows(summaries: Summary[], limit: number): { rows: string[][]; more: number } {
  const all = summaries.flatMap((s) => s.outages.map((o) => ({ label: s.label, o })));
  all.sort((a, b) => a.o.startMs - b.o.startMs || a.o.endMs - b.o.endMs);
  const t = [['run', 'op', 'start (UTC)', 'end (UTC)', 'duration', 'errors']];
  for (const { label, o } of all.slice(0, limit)) {
    t.push([
      label,
      o.op,
      new Date(o.startMs).toISOString(),
      o.open ? 'still down at end' : new Date(o.endMs).toISOString(),
      formatDuration(o.durationMs),
      errorsText(o.errors),
    ]);
  }
  return { rows: t, more: Math.max(0, all.length - limit) };
}

/** Who answered: one row per change of the answering server. */
export function identityRows(s: Summary): string[][] {
  const t = [
    ['from (s from start)', 'from (UTC)', 'server_id', 'hostname', 'version', 'read_only', 'address', 'seen by'],
  ];
  for (const i of s.identities) {
    t.push([
      ((i.atMs - s.startMs) / 1000).toFixed(3),
      new Date(i.atMs).toISOString(),
      i.serverId === null ? '?' : String(i.serverId),
      i.hostname ?? '?',
      i.version ?? '?',
      i.readOnly === null ? '?' : i.readOnly ? 'ON' : 'OFF',
      i.address ?? '?',
      i.via ?? 'read',
    ]);
  }
  return t;
}

/** Warnings of the run (a stale pool or DNS, a crashed worker, …): `+s.sss (HH:MM:SS.mmm UTC) name: message`. */
export function warningLines(s: Summary, limit: number): string[] {
  const lines = s.warnings.slice(0, limit).map((w) => {
    const at = `${formatOffset(w.atMs - s.startMs)} (${timeOfDay(w.atMs)} UTC)`;
    return `${at} ${w.name}: ${w.message}`;
  });
  if (s.warnings.length > limit) lines.push(`(${s.warnings.length - limit} more in summary.json)`);
  return lines;
}

/** One line per threshold: ✓ or ✗ and its message. */
export function thresholdLines(results: ThresholdResult[]): string[] {
  return results.map((r) => `${r.ok ? '✓' : '✗'} ${r.message}`);
}
