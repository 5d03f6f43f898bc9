import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeDetailed, type Summary } from '../src/analyze/index.js';
import { defaultReportDir } from '../src/commands/report.js';
import { ExitCode } from '../src/errors.js';
import {
  compareChart,
  downtimeBarChart,
  formatAvailability,
  formatCompareTable,
  formatNines,
  formatSummaryTable,
  latencyChart,
  outcomeChart,
  pngSize,
} from '../src/report/index.js';
import { parseResults } from '../src/results/reader.js';
import { golden } from './helpers/golden.js';
import { SYNTH_START_MS as T0, syntheticResults, type SyntheticSpec } from './helpers/synthetic.js';
import { runMain } from './helpers/cli.js';

/** An in-place restart: both ops down, writes longer (read-only first), reads flap afterwards, one lost write. */
const IN_PLACE: SyntheticSpec = {
  label: 'in-place',
  durationMs: 12_000,
  rates: { read: 10, write: 5 },
  outages: [
    { op: 'write', fromMs: 3000, toMs: 4000, cls: 'read-only' },
    { op: 'both', fromMs: 4000, toMs: 6500, cls: 'refused' },
    { op: 'read', fromMs: 7000, toMs: 7300, cls: 'lost-connection' },
  ],
  latencyUs: (_op, off) => (off >= 6500 && off < 8000 ? 40_000 : 1500),
  sendLagUs: (op, offSec) => (op === 'read' ? { p99: offSec === 4 ? 0 : 120, max: 250 } : undefined),
  events: [
    { atMs: T0 + 2800, kind: 'action', name: 'restart blue', detail: { phase: 'start' } },
    { atMs: T0 + 6400, kind: 'action', name: 'restart blue', endMs: T0 + 6400, detail: { phase: 'end' } },
    { atMs: T0 + 5000, kind: 'phase', name: 'SERVER_DOWN' },
  ],
  writes: {
    acknowledged: 45,
    lost: 1,
    lostSeconds: [T0 / 1000 + 2],
    inDoubtCommitted: 1,
    inDoubtAbsent: 0,
    checkedAt: 'mysql://app@db.test:3306/probe',
  },
};

const BLUE_GREEN: SyntheticSpec = {
  label: 'blue-green',
  startMs: T0 + 60_000,
  durationMs: 10_000,
  rates: { read: 10, write: 5 },
  outages: [{ op: 'write', fromMs: 5000, toMs: 5600, cls: 'read-only' }],
  events: [{ atMs: T0 + 60_000 + 4000, kind: 'action', name: 'switchover', detail: { phase: 'start' } }],
};

function analysisOf(spec: SyntheticSpec) {
  return analyzeDetailed(parseResults(syntheticResults(spec), `${spec.label}.ndjson`));
}

test('chart configurations are pure JSON and match their goldens', () => {
  const a = analysisOf(IN_PLACE);
  const b = analysisOf(BLUE_GREEN);
  const configs = {
    'report-outcomes': outcomeChart(a),
    'report-latency': latencyChart(a),
    'compare-timeline': compareChart([a, b]),
    'compare-downtime': downtimeBarChart([a.summary, b.summary]),
  };
  for (const [name, config] of Object.entries(configs)) {
    // Pure data: survives a JSON round trip unchanged (no functions, no undefined, no NaN).
    assert.deepEqual(JSON.parse(JSON.stringify(config)), config, `${name} is plain JSON`);
    golden(name, config);
  }
  // What the marks say, independent of the goldens: windows shaded at exact offsets, events, lost write.
  const marks = (
    configs['report-outcomes'].options.plugins as {
      downtimeMarks: { boxes: unknown[]; lines: unknown[]; points: unknown[]; strips: unknown[] };
    }
  ).downtimeMarks;
  assert.deepEqual(
    marks.boxes.map((x) => {
      const b = x as { fromX: number; toX: number; axis: string };
      return [b.axis, b.fromX, b.toX];
    }),
    [
      ['y_read', 4, 6.5],
      ['y_read', 7, 7.3],
      ['y_write', 3, 6.6],
    ],
  );
  assert.equal(marks.strips.length, 1);
  assert.equal(marks.lines.length, 3);
  assert.deepEqual(marks.points, [{ x: 2.5, axis: 'y_write', label: 'lost write', color: '#9400d3' }]);
  // Compare: aligned at the first action: in-place at 2.8 s, blue-green at 4 s after their starts.
  const x = (configs['compare-timeline'].options.scales as { x: { min: number; max: number } }).x;
  assert.deepEqual([x.min, x.max], [-4, 10]);
});

test('formatting: availability truncated to the nines it has, nines to one decimal', () => {
  assert.equal(formatAvailability(1 - 262_800 / 2_630_016_000), '99.99 %');
  assert.equal(formatAvailability(1 - 26_300 / 2_630_016_000), '99.999 %');
  assert.equal(formatAvailability(0.9999996), '99.9999 %');
  assert.equal(formatAvailability(0.8833333), '88.33 %');
  assert.equal(formatAvailability(1), '100 %');
  assert.equal(formatAvailability(null), 'n/a');
  assert.equal(formatNines(-Math.log10(1e-4), 0.9999), '4.0');
  assert.equal(formatNines(null, 1), '∞');
  assert.equal(formatNines(3.99, 0.99989), '3.9');
});

test('stdout tables name every op and the month framing', () => {
  const a = analysisOf(IN_PLACE);
  const t = formatSummaryTable(a.summary);
  assert.match(t, /downtime\s+2\.80 s\s+3\.60 s\s+2\.50 s/);
  assert.match(t, /30\.44-day month/);
  assert.match(t, /resolution: one probe interval \(read \d+ ms, write \d+ ms\)/);
  assert.match(t, /1 LOST of 45 acknowledged/);
  const c = formatCompareTable([a.summary, analysisOf(BLUE_GREEN).summary]);
  assert.match(c, /write downtime\s+3\.60 s\s+600 ms/);
});

test('missing seconds: step lines break, the gap is shaded "no data", and the text names it per op', () => {
  const a = analysisOf({
    label: 'crash',
    durationMs: 60_000,
    rates: { read: 100, write: 50 },
    outages: [{ op: 'read', fromMs: 20_000, toMs: 35_000, cls: 'timeout' }],
    gaps: [{ op: 'both', fromSec: 30, toSec: 40 }],
  });
  const chart = outcomeChart(a);
  const failed = chart.data.datasets.find((d) => d.label === 'reads failed or dropped/s');
  const pts = (failed?.data ?? []) as { x: number; y: number | null }[];
  // The last step before the gap is closed at 30 s and the line broken there; nothing is drawn over 30–40 s.
  const at30 = pts.filter((p) => p.x === 30);
  assert.deepEqual(at30, [
    { x: 30, y: 100 },
    { x: 30, y: null },
  ]);
  assert.equal(
    pts.some((p) => p.x > 30 && p.x < 40),
    false,
  );
  const marks = (
    chart.options.plugins as { downtimeMarks: { boxes: { fromX: number; toX: number; label?: string }[] } }
  ).downtimeMarks;
  const gaps = marks.boxes.filter((b) => b.label?.startsWith('no data'));
  assert.deepEqual(
    gaps.map((b) => [b.fromX, b.toX, b.label]),
    [
      [30, 40, 'no data 10.0 s'],
      [30, 40, 'no data 10.0 s'],
    ],
  );
  assert.ok(chart.data.datasets.some((d) => d.label === 'no data (seconds missing from the file)'));
  const t = formatSummaryTable(a.summary);
  assert.match(
    t,
    /2 gap\(s\): read 10\.0 s from \+30\.000 s \(1000 probes\), write 10\.0 s from \+30\.000 s \(500 probes\)/,
  );
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'downtime-report-'));
}

test('downtime report writes every file: real PNGs of 3200×1800, self-contained HTML, JSON, CSV', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'inplace.ndjson');
  const input = syntheticResults(IN_PLACE);
  writeFileSync(file, input);
  // lost_writes==0 is applied by default when writes were verified: this run lost one.
  const r = await runMain(['report', file, '--threshold', 'write_downtime<60s']);
  assert.equal(r.code, ExitCode.ThresholdsFailed, r.err);
  assert.match(r.out, /write_downtime<60s: 3\.60 s — ok/);
  assert.match(r.out, /lost_writes==0: 1 — FAILED/);
  assert.match(r.err, /1 threshold\(s\) failed: lost_writes==0/);
  const out = join(dir, 'inplace');
  assert.equal(defaultReportDir(file), out);
  assert.deepEqual(readdirSync(out).sort(), [
    'latency.png',
    'report.html',
    'report.png',
    'seconds.csv',
    'summary.json',
    'summary.md',
  ]);
  assert.equal(readFileSync(file, 'utf8'), input, 'input untouched');
  for (const png of ['report.png', 'latency.png']) {
    assert.deepEqual(pngSize(readFileSync(join(out, png))), { width: 3200, height: 1800 }, png);
  }
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 2);
  assert.doesNotMatch(html, /(src|href)="https?:/, 'no network references');
  assert.match(html, /Outage windows \(4\)/);
  const md = readFileSync(join(out, 'summary.md'), 'utf8');
  assert.match(md, /!\[report\.png\]\(report\.png\)/);
  assert.match(md, /\| downtime \| 2\.80 s \| 3\.60 s \| 2\.50 s \|/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary & {
    thresholds: { expr: string; ok: boolean }[];
  };
  assert.deepEqual(summary.downtimeMs, { read: 2800, write: 3600, full: 2500 });
  assert.deepEqual(
    summary.outages.map((o) => [o.op, o.startMs - T0, o.endMs - T0, o.durationMs]),
    [
      ['write', 3000, 6600, 3600],
      ['read', 4000, 6500, 2500],
      ['full', 4000, 6500, 2500],
      ['read', 7000, 7300, 300],
    ],
  );
  assert.deepEqual(summary.outages[1]?.errors, { refused: 25 });
  assert.equal(summary.writes?.lost, 1);
  assert.deepEqual(
    summary.thresholds.map((x) => [x.expr, x.ok]),
    [
      ['write_downtime<60s', true],
      ['lost_writes==0', false],
    ],
  );
  const csv = readFileSync(join(out, 'seconds.csv'), 'utf8').trimEnd().split('\n');
  assert.equal(
    csv[0],
    'offset_s,epoch_s,op,due,ok,failed,dropped,failed_lost-connection,failed_read-only,failed_refused,p50_ms,p99_ms,max_ms,send_lag_p99_ms,send_lag_max_ms',
  );
  assert.equal(csv.length, 1 + 12 * 2);
  assert.equal(csv[9], `4,${T0 / 1000 + 4},read,10,0,10,0,0,0,10,,,,0,0.25`);
  assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), /harness send lag: read p99 ≤ 0\.1 ms, max 0\.3 ms/);
  // No temporary files left behind.
  assert.ok(readdirSync(out).every((f) => !f.includes('.tmp-')));
});

test('downtime report --json prints the summary; a passing run exits 0; --out is honoured', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bg.ndjson');
  writeFileSync(file, syntheticResults(BLUE_GREEN));
  const r = await runMain(['report', file, '--json', '--out', join(dir, 'out'), '--threshold', 'write_downtime<1s']);
  assert.equal(r.code, ExitCode.Ok, r.err);
  const s = JSON.parse(r.out) as Summary;
  assert.equal(s.downtimeMs.write, 600);
  assert.equal(s.downtimeMs.full, 0);
  assert.ok(existsSync(join(dir, 'out', 'summary.json')));
});

// Bad results files, thresholds and outputs of report/compare: the table in test/bad-input.test.ts.

test('downtime compare writes aligned timelines and a downtime bar chart', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'inplace.ndjson');
  const b = join(dir, 'bg.ndjson');
  writeFileSync(a, syntheticResults(IN_PLACE));
  writeFileSync(b, syntheticResults(BLUE_GREEN));
  const r = await runMain(['compare', a, b, '--out', join(dir, 'compare')]);
  assert.equal(r.code, ExitCode.Ok, r.err);
  assert.match(r.out, /full downtime\s+2\.50 s\s+0 ms/);
  const out = join(dir, 'compare');
  assert.deepEqual(readdirSync(out).sort(), [
    'compare.html',
    'compare.json',
    'compare.md',
    'compare.png',
    'downtime.png',
  ]);
  for (const png of ['compare.png', 'downtime.png']) {
    assert.deepEqual(pngSize(readFileSync(join(out, png))), { width: 3200, height: 1800 }, png);
  }
  const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')) as { runs: Summary[] };
  assert.deepEqual(
    json.runs.map((s) => s.label),
    ['in-place', 'blue-green'],
  );
});

test('report --slow and compare --slow: degraded time against a latency SLO, apart from downtime', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'inplace.ndjson');
  const b = join(dir, 'bg.ndjson');
  writeFileSync(a, syntheticResults(IN_PLACE));
  writeFileSync(b, syntheticResults(BLUE_GREEN));
  // Successful probes intended in [6.5 s, 8 s) answer in 40 ms: 12 reads (every 100 ms, 3 of them lost in the read
  // outage at 7 s) and 7 writes (every 200 ms).
  const r = await runMain(['report', a, '--slow', '30ms', '--out', join(dir, 'rep')]);
  assert.equal(r.code, ExitCode.ThresholdsFailed, r.err); // IN_PLACE lost a write
  assert.match(r.out, /degraded \(slower than 30 ms\)\s+1\.20 s\s+1\.40 s\n/);
  assert.match(r.out, /availability counting slow as down\s+66\.66 %\s+58\.33 %\n/);
  const json = await runMain(['report', a, '--slow', '30ms', '--json', '--out', join(dir, 'rep2')]);
  const s = JSON.parse(json.out) as Summary;
  assert.deepEqual([s.slowMs, s.degradedMs.read, s.degradedMs.write, s.ops.read?.slowProbes], [30, 1200, 1400, 12]);
  assert.equal(s.downtimeMs.write, 3600, 'degraded time is not downtime: as without --slow');
  const csv = readFileSync(join(dir, 'rep', 'seconds.csv'), 'utf8')
    .trimEnd()
    .split('\n');
  assert.match(csv[0] ?? '', /,send_lag_max_ms,slow_over_30ms$/);
  const slowCells = csv.slice(1).map((row) => row.split(','));
  assert.equal(
    slowCells.reduce((n, c) => n + Number(c[c.length - 1]), 0),
    19,
    '12 reads and 7 writes over 30 ms',
  );
  // Without --slow (and none in the run) the rows are left out.
  const plain = await runMain(['report', a, '--out', join(dir, 'rep3')]);
  assert.doesNotMatch(plain.out, /degraded/);
  const c = await runMain(['compare', a, b, '--slow', '30ms', '--out', join(dir, 'cmp')]);
  assert.equal(c.code, ExitCode.Ok, c.err);
  assert.match(c.out, /read degraded\s+1\.20 s \(> 30 ms\)\s+0 ms \(> 30 ms\)/);
});

test('a report cleans up after a killed one: its stale temp files, and an earlier lag.png it does not replace', async (t) => {
  const dir = tmp();
  const live = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => {
    live.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const dead = spawnSync('true').pid as number;
  const file = join(dir, 'bg.ndjson');
  writeFileSync(file, syntheticResults(BLUE_GREEN));
  const out = join(dir, 'bg');
  const first = await runMain(['report', file]);
  assert.equal(first.code, ExitCode.Ok, first.err);
  // What kill -9 of a report leaves: temp files of a dead writer; a live writer's are still being written;
  // a lag.png from an earlier report of a run that had one; and a file that is not the report's.
  const leftovers = {
    [`report.png.tmp-${dead}-a1b2c3`]: true,
    [`summary.json.tmp-${dead}-zz9`]: true,
    [`lag.png.tmp-${dead}-q1`]: true,
    [`summary.md.tmp-${live.pid}-d4e5f6`]: false,
    [`notes.txt.tmp-${dead}-a1b2c3`]: false,
    'lag.png': true,
  };
  for (const name of Object.keys(leftovers)) writeFileSync(join(out, name), 'old');
  const again = await runMain(['report', file]);
  assert.equal(again.code, ExitCode.Ok, again.err);
  const left = readdirSync(out);
  for (const [name, removed] of Object.entries(leftovers)) {
    assert.equal(!left.includes(name), removed, `${name} ${removed ? 'should be gone' : 'should be left'}`);
  }
  assert.deepEqual(left.filter((f) => !f.includes('.tmp-') && f !== 'notes.txt').sort(), [
    'latency.png',
    'report.html',
    'report.png',
    'seconds.csv',
    'summary.json',
    'summary.md',
  ]);
});
