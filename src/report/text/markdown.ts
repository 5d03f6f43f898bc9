import type { Analysis, Summary } from '../../analyze/index.js';
import type { ThresholdResult } from '../../analyze/thresholds.js';
import { compareWindowRows, identityRows, outageRows, rows, thresholdLines, warningLines } from './tables.js';
import {
  chartsMissing,
  errorsText,
  gapsText,
  versionsText,
  sendLagText,
  replicationLagText,
  resolutionText,
  runLine,
  poolRecoveryText,
  stallsText,
  worstText,
  writesText,
} from './wording.js';

/** A Markdown table, the first row as its head (pipes in cells escaped). */
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

/** summary.md: what a person pastes into a change ticket. */
export function summaryMarkdown(
  a: Analysis,
  images: string[],
  thresholds: ThresholdResult[],
  /** Why the charts are missing, when they could not be rendered. */
  chartError?: string,
): string {
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
    `- Server: ${versionsText(s)}`,
    `- Missing seconds: ${gapsText(s)}`,
    ...(stallsText(s) === null ? [] : [`- ${(stallsText(s) as string).replace(/^h/, 'H')}`]),
    ...(poolRecoveryText(s) === null ? [] : [`- ${(poolRecoveryText(s) as string).replace(/^p/, 'P')}`]),
    `- Resolution: ${resolutionText(s)}`,
    ...(replicationLagText(s) === null
      ? []
      : [
          `- Replication lag: ${(replicationLagText(s) as string).replace(/^replication lag /, '')} (heartbeat written through the endpoint every 100 ms, read on green: how long the oldest acknowledged heartbeat green lacked had been waiting)`,
        ]),
    ...(sendLagText(s) === null
      ? []
      : [`- ${sendLagText(s) as string} (small = the load host was not the bottleneck)`]),
    `- "If once a month": this run's downtime in a 30.44-day month; 4.38 min a month is 99.99 %, 26.3 s is 99.999 %. Nines = -log10(1 - availability).`,
    `- An outage window runs from the intended time of the first failed probe to when the next successful one was answered (net); gross runs from the last answer before to the first after; full = reads and writes both down.`,
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
  if (chartError !== undefined) out.push(`_${chartsMissing(chartError)}_`, '');
  return out.join('\n');
}

/** compare.md: the runs, the comparison table (`table`, as the terminal shows it) and both charts. */
export function compareMarkdown(summaries: Summary[], table: string, chartError?: string): string {
  return [
    `## Downtime comparison: ${summaries.map((s) => s.label).join(' vs ')}`,
    '',
    ...summaries.map((s, i) => `${i + 1}. ${s.label}: ${s.file}`),
    '',
    '```',
    table,
    '```',
    '',
    'Runs are aligned at their first action event (or their start). "Once a month": the run\'s downtime in a 30.44-day month.',
    '',
    ...(chartError === undefined
      ? ['![compare.png](compare.png)', '', '![downtime.png](downtime.png)']
      : [`_${chartsMissing(chartError)}_`]),
    '',
    ...windowsSection(summaries),
  ].join('\n');
}

/** Every run's windows on one clock: which endpoint (or client model) was down when. */
function windowsSection(summaries: Summary[]): string[] {
  const { rows: table, more } = compareWindowRows(summaries, 60);
  if (table.length === 1) return ['### Outage windows', '', 'none in any run', ''];
  return [
    '### Outage windows, all runs in time order',
    '',
    mdTable(table),
    ...(more > 0 ? ['', `(${more} more in the runs' summary.json)`] : []),
    '',
  ];
}
