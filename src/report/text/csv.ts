import type { Analysis } from '../../analyze/index.js';
import type { SecondPoint } from '../../analyze/types.js';
import type { Op } from '../../results/types.js';

/**
 * One CSV cell: RFC 4180 quoting where needed (a comma, a quote, LF or CR inside); null is an empty cell. A text
 * cell a spreadsheet would take for a formula (starting with = + - @, a tab or CR) is prefixed with a single quote
 * and quoted, the OWASP way (CSV injection). Numbers are written as numbers: -0.5 stays a number, not text.
 */
export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return s !== v || /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** seconds.csv: one row per second per op; with a latency SLO, a last column of the answers slower than it. */
export function secondsCsv(a: Analysis): string {
  const s = a.summary;
  const slo = s.slowMs !== null && s.slowMs !== undefined;
  const head = [
    'offset_s',
    'epoch_s',
    'op',
    'due',
    'ok',
    'failed',
    'dropped',
    ...a.classes.map((c) => `failed_${c}`),
    'p50_ms',
    'p99_ms',
    'max_ms',
    'send_lag_p99_ms',
    'send_lag_max_ms',
    ...(slo ? [`slow_over_${s.slowMs}ms`] : []),
  ];
  const row = (op: Op, p: SecondPoint): string =>
    [
      p.sec - s.startMs / 1000,
      p.sec,
      op,
      p.due,
      p.ok,
      p.failed,
      p.dropped,
      ...a.classes.map((c) => p.failedByClass[c] ?? 0),
      p.latencyMs?.p50 ?? null,
      p.latencyMs?.p99 ?? null,
      p.latencyMs?.max ?? null,
      p.sendLagMs?.p99 ?? null,
      p.sendLagMs?.max ?? null,
      ...(slo ? [p.slow] : []),
    ]
      .map(csvCell)
      .join(',');
  // Rows by second, reads before writes: the two series (each in second order) merged as they are written,
  // not gathered and sorted (a 3-day run has a million rows: that took 300 MB more than the text).
  const lines = [head.map(csvCell).join(',')];
  const reads = a.series.read;
  const writes = a.series.write;
  let i = 0;
  let j = 0;
  while (i < reads.length || j < writes.length) {
    const r = reads[i];
    const w = writes[j];
    if (r !== undefined && (w === undefined || r.sec <= w.sec)) {
      lines.push(row('read', r));
      i++;
    } else if (w !== undefined) {
      lines.push(row('write', w));
      j++;
    }
  }
  return lines.join('\n') + '\n';
}
