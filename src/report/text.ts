import type { Analysis, LatencyMs, OutageOp, Summary } from '../analyze/index.js';
import type { ThresholdResult } from '../analyze/thresholds.js';
import { formatDuration } from '../util/duration.js';
import { wallClock } from './charts.js';

/** Text renderings of a summary: stdout tables, summary.md, report.html, seconds.csv. */
const OUTAGE_OPS = ['read', 'write', 'full'] as const;

/**
 * Availability as a percentage, truncated (never rounded up: 99.9996 % is not 100 %), with as many
 * decimals as its nines need: 99.99 %, 99.999 %.
 */
export function formatAvailability(
  a: number | null,
  nines: number | null = a === null || a === 1 ? null : -Math.log10(1 - a),
): string {
  if (a === null) return 'n/a';
  if (a === 1) return '100 %';
  const decimals = Math.min(8, Math.max(2, Math.floor((nines ?? 0) + 1e-9) - 2));
  const f = 10 ** decimals;
  return `${(Math.floor(a * 100 * f + 1e-9) / f).toFixed(decimals)} %`;
}

/** Nines truncated to one decimal ("4.0"), "∞" for no downtime. */
export function formatNines(n: number | null, a: number | null): string {
  if (a === null) return 'n/a';
  if (n === null) return '∞';
  return (Math.floor(n * 10 + 1e-9) / 10).toFixed(1);
}

function dt(ms: number | null): string {
  return ms === null ? 'n/a' : formatDuration(ms);
}

function latency(l: LatencyMs | null | undefined): string {
  if (!l) return 'n/a';
  const f = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  return `${f(l.p50)} / ${f(l.p99)} / ${f(l.max)} ms`;
}

/** "read p99 32.1 ms (max 32.7 ms) in the second at +1800 s, write …". */
function worstText(s: Summary): string {
  const parts = (['read', 'write'] as const).flatMap((op) => {
    const o = s.ops[op];
    if (!o) return [];
    const w = o.worstSecond;
    if (!w) return [`${op}: none succeeded`];
    const f = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
    return [`${op} p99 ${f(w.p99Ms)} ms (max ${f(w.maxMs)} ms) in the second at +${Math.round(w.offsetMs / 1000)} s`];
  });
  return parts.length === 0 ? 'n/a' : parts.join(', ');
}

function errorsText(e: Record<string, number> | undefined): string {
  const entries = Object.entries(e ?? {}).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

function writesText(s: Summary): string {
  const w = s.writes;
  if (!w) return s.writesUnverified !== null ? `NOT VERIFIED: ${s.writesUnverified}` : 'not verified';
  const lost = w.lost === 0 ? 'none lost' : `${w.lost} LOST`;
  return `${lost} of ${w.acknowledged} acknowledged; in doubt: ${w.inDoubtCommitted} committed, ${w.inDoubtAbsent} absent`;
}

/** Rows of the main table: [label, read, write, full]. */
function rows(s: Summary): string[][] {
  const col = (f: (op: OutageOp) => string): string[] => OUTAGE_OPS.map(f);
  const opCol = (f: (op: 'read' | 'write') => string): string[] => [f('read'), f('write'), ''];
  return [
    ['', 'read', 'write', 'full (both down)'],
    ['downtime', ...col((op) => dt(s.downtimeMs[op]))],
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
    ['latency p50 / p99 / max', ...opCol((op) => (s.ops[op] ? latency(s.ops[op]?.latencyMs) : 'n/a'))],
  ];
}

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

function runLine(s: Summary): string {
  const state = s.complete ? (s.reason ?? 'completed') : 'INCOMPLETE (no trailer: crashed or still running)';
  return `${s.label}: ${s.target}, ${wallClock(s.startMs)} → ${wallClock(s.endMs)} (${formatDuration(s.durationMs)}), ${state}${s.truncated ? ', last line cut off' : ''}`;
}

/** Replication lag on green (heartbeat), or null when it was not measured. */
function replicationLagText(s: Summary): string | null {
  const l = s.replicationLag;
  if (l === null) return null;
  const at = (ms: number): string => `+${Math.round((ms - s.startMs) / 1000)} s`;
  const parts: string[] = [];
  if (l.maxMs === null) parts.push('no sample (green never answered with a heartbeat from blue)');
  else if (l.maxMs === 0) parts.push(`0 ms in all ${l.samples} samples (green showed every acknowledged heartbeat)`);
  else {
    parts.push(`max ${formatDuration(l.maxMs)} in the second at ${at(l.maxAtMs as number)}`);
    if (l.lastMs !== null) parts.push(`last ${formatDuration(l.lastMs)}`);
    parts.push(`${l.samples} samples`);
  }
  if (l.selfWrittenFromMs !== null) {
    parts.push(
      `from ${at(l.selfWrittenFromMs)} green wrote the heartbeat itself (endpoint moved to green): not measured`,
    );
  }
  const errs = [
    ...Object.entries(l.writeErrors).map(([k, v]) => `write ${k} ${v}`),
    ...Object.entries(l.readErrors).map(([k, v]) => `read ${k} ${v}`),
  ];
  if (errs.length > 0) parts.push(`heartbeat errors: ${errs.join(', ')}`);
  return `replication lag on ${l.green}: ${parts.join('; ')}`;
}

/** The harness's own lateness: evidence that the load host was (not) the bottleneck. */
function lagText(s: Summary): string | null {
  const parts = (['read', 'write'] as const).flatMap((op) => {
    const l = s.ops[op]?.sendLagMs;
    return l ? [`${op} p99 ≤ ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`] : [];
  });
  return parts.length === 0 ? null : `harness send lag: ${parts.join('; ')}`;
}

function gapsText(s: Summary): string {
  if (s.gaps.length === 0) return 'none';
  // Per op, with offsets: "2" alone read as two seconds when it meant two gaps of 10 s each.
  const parts = s.gaps.map(
    (g) =>
      `${g.op} ${formatDuration(g.durationMs)} from +${((g.startMs - s.startMs) / 1000).toFixed(3)} s (${g.missingProbes} probes)`,
  );
  const shown = parts.slice(0, 6).join(', ') + (parts.length > 6 ? `, … ${parts.length - 6} more` : '');
  return `${s.gaps.length} gap(s): ${shown}; not observed, so counted neither as up nor as down (an outage may hide there)`;
}

/** Where the harness itself stalled: shown only when it did. */
function stallsText(s: Summary): string | null {
  if (s.stalls.length === 0) return null;
  const parts = s.stalls.map(
    (g) =>
      `${g.op} ${formatDuration(g.durationMs)} from +${((g.startMs - s.startMs) / 1000).toFixed(3)} s (${g.probes} probes)`,
  );
  const shown = parts.slice(0, 6).join(', ') + (parts.length > 6 ? `, … ${parts.length - 6} more` : '');
  return `harness stalls: ${shown}; the harness could not send or watch these probes on time, so they count neither as up nor as down`;
}

/**
 * What the numbers can and cannot show: edges are exact to one probe interval, and an outage shorter than that
 * can fall between two probes. Said next to "0 ms" and "∞ nines" so no one reads them as a proof.
 */
function resolutionText(s: Summary): string {
  const parts = (['read', 'write'] as const).flatMap((op) => {
    const rate = s.ops[op]?.ratePerSec;
    if (!rate || !(rate > 0)) return [];
    const ms = 1000 / rate;
    // Sub-10 ms intervals (fast probes) keep their decimals: "0 ms" would claim infinite resolution.
    return [`${op} ${ms < 10 ? `${Number(ms.toFixed(3))} ms` : formatDuration(ms)}`];
  });
  if (parts.length === 0) return 'n/a';
  return `one probe interval (${parts.join(', ')}): window edges are exact to it; a shorter outage can fall between probes`;
}

/** Compact table for stdout (report's default output, the demo). */
export function formatSummaryTable(s: Summary): string {
  return [
    runLine(s),
    pad(rows(s)),
    `errors (read): ${errorsText(s.ops.read?.errors)}`,
    `errors (write): ${errorsText(s.ops.write?.errors)}`,
    `writes: ${writesText(s)}`,
    `missing seconds: ${gapsText(s)}`,
    ...(stallsText(s) === null ? [] : [stallsText(s) as string]),
    `resolution: ${resolutionText(s)}`,
    ...(replicationLagText(s) === null ? [] : [replicationLagText(s) as string]),
    ...(lagText(s) === null ? [] : [lagText(s) as string]),
    `"if once a month": this run's downtime in a 30.44-day month (4.38 min = 99.99 %, 26.3 s = 99.999 %)`,
  ].join('\n');
}

/** Side-by-side table of several runs. */
export function formatCompareTable(summaries: Summary[]): string {
  const head = ['', ...summaries.map((s, i) => `${i + 1}. ${s.label}`)];
  const line = (name: string, f: (s: Summary) => string): string[] => [name, ...summaries.map(f)];
  const table = [
    head,
    ...OUTAGE_OPS.map((op) => line(`${op} downtime`, (s) => dt(s.downtimeMs[op]))),
    ...OUTAGE_OPS.map((op) => line(`${op} windows`, (s) => (s.windows[op] === null ? 'n/a' : String(s.windows[op])))),
    ...OUTAGE_OPS.map((op) =>
      line(
        `${op} once a month`,
        (s) => `${formatAvailability(s.oncePerMonth[op].availability, s.oncePerMonth[op].nines)}`,
      ),
    ),
    line('disruption span', (s) => (s.disruption ? formatDuration(s.disruption.durationMs) : 'none')),
    line('read p50 / p99 / max', (s) => latency(s.ops.read?.latencyMs)),
    line('write p50 / p99 / max', (s) => latency(s.ops.write?.latencyMs)),
    line('lost writes', (s) => (s.writes ? String(s.writes.lost) : 'not verified')),
    line('max replication lag', (s) =>
      s.replicationLag === null
        ? 'not measured'
        : s.replicationLag.maxMs === null
          ? 'no sample'
          : formatDuration(s.replicationLag.maxMs),
    ),
    line('complete', (s) => (s.complete ? 'yes' : 'NO')),
  ];
  return pad(table);
}

function mdTable(table: string[][]): string {
  const [head, ...body] = table;
  if (!head) return '';
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function outageRows(s: Summary, limit: number): string[][] {
  const t = [['op', 'start (s from start)', 'start (UTC)', 'duration', 'errors', 'note']];
  for (const o of s.outages.slice(0, limit)) {
    const note = [
      o.open ? 'still down at end' : '',
      o.endsAtGap ? 'ends at missing seconds' : '',
      o.startsAfterGap ? 'starts after missing seconds' : '',
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

/** Who answered: one row per change of the answering server. */
function identityRows(s: Summary): string[][] {
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
function warningLines(s: Summary, limit: number): string[] {
  const lines = s.warnings.slice(0, limit).map((w) => {
    const at = `+${((w.atMs - s.startMs) / 1000).toFixed(3)} s (${new Date(w.atMs).toISOString().slice(11, 23)} UTC)`;
    return `${at} ${w.name}: ${w.message}`;
  });
  if (s.warnings.length > limit) lines.push(`(${s.warnings.length - limit} more in summary.json)`);
  return lines;
}

function thresholdLines(results: ThresholdResult[]): string[] {
  return results.map((r) => `${r.ok ? '✓' : '✗'} ${r.message}`);
}

/** summary.md: what a person pastes into a change ticket. */
export function summaryMarkdown(a: Analysis, images: string[], thresholds: ThresholdResult[]): string {
  const s = a.summary;
  const out = [
    `## Downtime: ${s.label}`,
    '',
    runLine(s),
    '',
    mdTable(rows(s)),
    '',
    `- Errors (read): ${errorsText(s.ops.read?.errors)}`,
    `- Errors (write): ${errorsText(s.ops.write?.errors)}`,
    `- Worst latency: ${worstText(s)} (successful probes, measured from their intended time)`,
    `- Writes: ${writesText(s)}`,
    `- Missing seconds: ${gapsText(s)}`,
    ...(stallsText(s) === null ? [] : [`- ${(stallsText(s) as string).replace(/^h/, 'H')}`]),
    `- Resolution: ${resolutionText(s)}`,
    ...(replicationLagText(s) === null
      ? []
      : [
          `- Replication lag: ${(replicationLagText(s) as string).replace(/^replication lag /, '')} (heartbeat written through the endpoint every 100 ms, read on green: how long the oldest acknowledged heartbeat green lacked had been waiting)`,
        ]),
    ...(lagText(s) === null ? [] : [`- ${lagText(s) as string} (small = the load host was not the bottleneck)`]),
    `- "If once a month": this run's downtime in a 30.44-day month; 4.38 min a month is 99.99 %, 26.3 s is 99.999 %. Nines = -log10(1 - availability).`,
    `- An outage window runs from the intended time of the first failed probe to that of the next successful one; full = reads and writes both down.`,
  ];
  if (thresholds.length > 0) out.push('', '### Thresholds', '', ...thresholdLines(thresholds).map((l) => `- ${l}`));
  if (s.identities.length > 0) {
    const limit = 30;
    const rowsOf = identityRows(s);
    out.push('', '### Who answered', '', mdTable(rowsOf.slice(0, limit + 1)));
    if (s.identities.length > limit) out.push('', `(${s.identities.length - limit} more in summary.json)`);
  }
  if (s.warnings.length > 0) out.push('', '### Warnings', '', ...warningLines(s, 30).map((l) => `- ${l}`));
  if (s.outages.length > 0) {
    const limit = 30;
    out.push('', '### Outage windows', '', mdTable(outageRows(s, limit)));
    if (s.outages.length > limit) out.push('', `(${s.outages.length - limit} more in summary.json)`);
  }
  out.push('', ...images.map((img) => `![${img}](${img})`), '');
  return out.join('\n');
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function htmlTable(table: string[][]): string {
  const [head, ...body] = table;
  if (!head) return '';
  return `<table><thead><tr>${head.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const CSS =
  'body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;color:#111;max-width:1700px}' +
  'table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}' +
  'th{background:#f3f3f3}img{width:100%;max-width:1600px;border:1px solid #ddd;margin:12px 0}.fail{color:#b00000}.ok{color:#206020}';

/** report.html: self-contained (PNGs as data: URIs, no network), the summary plus every outage window. */
export function reportHtml(
  a: Analysis,
  images: { name: string; png: Buffer }[],
  thresholds: ThresholdResult[],
): string {
  const s = a.summary;
  const parts = [
    '<!doctype html><html><head><meta charset="utf-8">',
    `<title>${esc(`downtime: ${s.label}`)}</title><style>${CSS}</style></head><body>`,
    `<h1>Downtime: ${esc(s.label)}</h1><p>${esc(runLine(s))}</p>`,
    htmlTable(rows(s)),
    '<ul>',
    `<li>Errors (read): ${esc(errorsText(s.ops.read?.errors))}</li>`,
    `<li>Errors (write): ${esc(errorsText(s.ops.write?.errors))}</li>`,
    `<li>Writes: ${esc(writesText(s))}</li>`,
    `<li>Missing seconds: ${esc(gapsText(s))}</li>`,
    ...(stallsText(s) === null ? [] : [`<li>${esc((stallsText(s) as string).replace(/^h/, 'H'))}</li>`]),
    `<li>Resolution: ${esc(resolutionText(s))}</li>`,
    ...(replicationLagText(s) === null ? [] : [`<li>${esc(replicationLagText(s) as string)}</li>`]),
    `<li>"If once a month": this run's downtime in a 30.44-day month; 4.38 min a month is 99.99 %, 26.3 s is 99.999 %.</li>`,
    '</ul>',
  ];
  if (thresholds.length > 0) {
    parts.push(
      '<h2>Thresholds</h2><ul>',
      ...thresholds.map((r) => `<li class="${r.ok ? 'ok' : 'fail'}">${esc(`${r.ok ? '✓' : '✗'} ${r.message}`)}</li>`),
      '</ul>',
    );
  }
  for (const img of images) {
    parts.push(`<img alt="${esc(img.name)}" src="data:image/png;base64,${img.png.toString('base64')}">`);
  }
  if (s.identities.length > 0) parts.push('<h2>Who answered</h2>', htmlTable(identityRows(s)));
  if (s.warnings.length > 0) {
    parts.push('<h2>Warnings</h2><ul>', ...warningLines(s, 100).map((l) => `<li>${esc(l)}</li>`), '</ul>');
  }
  parts.push(
    `<h2>Outage windows (${s.outages.length})</h2>`,
    s.outages.length > 0 ? htmlTable(outageRows(s, Infinity)) : '<p>none</p>',
  );
  if (s.gaps.length > 0) {
    parts.push(
      '<h2>Missing seconds</h2>',
      htmlTable([
        ['op', 'start (UTC)', 'duration', 'probes missing'],
        ...s.gaps.map((g) => [
          g.op,
          new Date(g.startMs).toISOString(),
          formatDuration(g.durationMs),
          String(g.missingProbes),
        ]),
      ]),
    );
  }
  parts.push('</body></html>\n');
  return parts.join('\n');
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** seconds.csv: one row per second per op. */
export function secondsCsv(a: Analysis): string {
  const s = a.summary;
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
  ];
  const rowsOut: (string | number | null)[][] = [];
  for (const op of ['read', 'write'] as const) {
    for (const p of a.series[op]) {
      rowsOut.push([
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
      ]);
    }
  }
  rowsOut.sort((x, y) => (x[1] as number) - (y[1] as number) || String(x[2]).localeCompare(String(y[2])));
  return [head, ...rowsOut].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}
