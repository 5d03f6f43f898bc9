import type { Summary } from '../../analyze/index.js';
import { formatDuration } from '../../util/duration.js';
import { rows } from './tables.js';
import {
  OUTAGE_OPS,
  durationText,
  errorsText,
  formatAvailability,
  gapsText,
  sendLagText,
  latencyText,
  replicationLagText,
  resolutionText,
  runLine,
  poolRecoveryText,
  stallsText,
  versionsText,
  writesText,
} from './wording.js';

/** A plain-text table: columns padded to their widest cell, two spaces apart. */
function pad(table: string[][]): string {
  const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length))) ?? [];
  return table
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Compact table for stdout (report's default output, the demo). */
export function formatSummaryTable(s: Summary): string {
  return [
    runLine(s),
    pad(rows(s)),
    `errors (read): ${errorsText(s.ops.read?.errors)}`,
    `errors (write): ${errorsText(s.ops.write?.errors)}`,
    `writes: ${writesText(s)}`,
    `server: ${versionsText(s)}`,
    `missing seconds: ${gapsText(s)}`,
    ...(stallsText(s) === null ? [] : [stallsText(s) as string]),
    ...(poolRecoveryText(s) === null ? [] : [poolRecoveryText(s) as string]),
    `resolution: ${resolutionText(s)}`,
    ...(replicationLagText(s) === null ? [] : [replicationLagText(s) as string]),
    ...(sendLagText(s) === null ? [] : [sendLagText(s) as string]),
    `"if once a month": this run's downtime in a 30.44-day month (4.38 min = 99.99 %, 26.3 s = 99.999 %)`,
  ].join('\n');
}

/** Side-by-side table of several runs. */
export function formatCompareTable(summaries: Summary[]): string {
  const head = ['', ...summaries.map((s, i) => `${i + 1}. ${s.label}`)];
  const line = (name: string, f: (s: Summary) => string): string[] => [name, ...summaries.map(f)];
  const table = [
    head,
    ...OUTAGE_OPS.map((op) => line(`${op} downtime`, (s) => durationText(s.downtimeMs[op]))),
    ...OUTAGE_OPS.map((op) => line(`${op} windows`, (s) => (s.windows[op] === null ? 'n/a' : String(s.windows[op])))),
    ...OUTAGE_OPS.map((op) =>
      line(
        `${op} once a month`,
        (s) => `${formatAvailability(s.oncePerMonth[op].availability, s.oncePerMonth[op].nines)}`,
      ),
    ),
    ...(summaries.some((s) => s.slowMs !== null && s.slowMs !== undefined)
      ? (['read', 'write'] as const).map((op) =>
          line(`${op} degraded`, (s) =>
            s.slowMs === null || s.slowMs === undefined
              ? 'no --slow'
              : `${durationText(s.degradedMs[op])} (> ${durationText(s.slowMs)})`,
          ),
        )
      : []),
    line('disruption span', (s) => (s.disruption ? formatDuration(s.disruption.durationMs) : 'none')),
    line('read p50 / p99 / max', (s) => latencyText(s.ops.read?.latencyMs)),
    line('write p50 / p99 / max', (s) => latencyText(s.ops.write?.latencyMs)),
    line('lost writes', (s) => (s.writes ? String(s.writes.lost) : 'not verified')),
    line('max replication lag', (s) =>
      s.replicationLag === null
        ? 'not measured'
        : s.replicationLag.maxMs === null
          ? 'no sample'
          : formatDuration(s.replicationLag.maxMs),
    ),
    line('server before → after', (s) => versionsText(s)),
    line('complete', (s) => (s.complete ? 'yes' : 'NO')),
  ];
  return pad(table);
}
