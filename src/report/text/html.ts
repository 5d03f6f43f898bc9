import type { Analysis, Summary } from '../../analyze/index.js';
import type { ThresholdResult } from '../../analyze/thresholds.js';
import { formatDuration } from '../../util/duration.js';
import { compareWindowRows, identityRows, outageRows, rows, warningLines } from './tables.js';
import {
  chartsMissing,
  errorsText,
  gapsText,
  versionsText,
  replicationLagText,
  resolutionText,
  runLine,
  poolRecoveryText,
  stallsText,
  writesText,
} from './wording.js';

/** Escapes text for HTML, quotes too (it may go into an attribute). */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Escapes text for an element's content (compare.html has always left quotes as they are). */
function escContent(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An HTML table, the first row as its head. */
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
  /** Why the charts are missing, when they could not be rendered. */
  chartError?: string,
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
    `<li>Server: ${esc(versionsText(s))}</li>`,
    `<li>Missing seconds: ${esc(gapsText(s))}</li>`,
    ...(stallsText(s) === null ? [] : [`<li>${esc((stallsText(s) as string).replace(/^h/, 'H'))}</li>`]),
    ...(poolRecoveryText(s) === null ? [] : [`<li>${esc((poolRecoveryText(s) as string).replace(/^p/, 'P'))}</li>`]),
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
  if (chartError !== undefined) parts.push(`<p class="fail">${esc(chartsMissing(chartError))}</p>`);
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

/** compare.html: the runs, the comparison table (`table`, as the terminal shows it) and both charts inline. */
export function compareHtml(
  summaries: Summary[],
  table: string,
  /** The two charts, or why they could not be rendered. */
  charts: { timeline: Buffer; bars: Buffer } | { error: string },
): string {
  const esc = escContent;
  const windows = compareWindowRows(summaries, 200);
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>downtime comparison</title>',
    '<style>body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px}img{width:100%;max-width:1600px;border:1px solid #ddd}pre{font-size:14px}</style></head><body>',
    `<h1>${esc(`Downtime comparison: ${summaries.map((s) => s.label).join(' vs ')}`)}</h1>`,
    `<ol>${summaries.map((s) => `<li>${esc(`${s.label}: ${s.file}`)}</li>`).join('')}</ol>`,
    `<pre>${esc(table)}</pre>`,
    '<p>Runs are aligned at their first action event (or their start).</p>',
    ...('error' in charts
      ? [`<p>${esc(chartsMissing(charts.error))}</p>`]
      : [
          `<img alt="compare" src="data:image/png;base64,${charts.timeline.toString('base64')}">`,
          `<img alt="downtime" src="data:image/png;base64,${charts.bars.toString('base64')}">`,
        ]),
    '<h2>Outage windows, all runs in time order</h2>',
    windows.rows.length > 1 ? htmlTable(windows.rows) : '<p>none in any run</p>',
    windows.more > 0 ? `<p>(${windows.more} more in the runs' summary.json)</p>` : '',
    '</body></html>\n',
  ].join('\n');
}
