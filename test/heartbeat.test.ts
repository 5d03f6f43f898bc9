import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, analyzeDetailed } from '../src/analyze/index.js';
import { LagRecorder, heartbeatTable } from '../src/load/heartbeat.js';
import { formatCompareTable, formatSummaryTable, lagChart, renderReport } from '../src/report/index.js';
import { parseResults } from '../src/results/reader.js';
import type { LagRecord } from '../src/results/types.js';
import { golden } from './helpers/golden.js';
import { SYNTH_START_MS as T0, syntheticResults, type SyntheticSpec } from './helpers/synthetic.js';

const SPEC: SyntheticSpec = {
  label: 'blue-green',
  durationMs: 10_000,
  rates: { read: 10, write: 5 },
  outages: [{ op: 'write', fromMs: 7000, toMs: 7600, cls: 'read-only' }],
  events: [{ atMs: T0 + 6800, kind: 'action', name: 'switchover', detail: { phase: 'start' } }],
};

const rec = (offSec: number, r: Partial<LagRecord>): LagRecord => ({
  type: 'lag',
  sec: T0 / 1000 + offSec,
  samples: 10,
  maxMs: 60,
  lastMs: 40,
  selfWritten: 0,
  readErrors: {},
  writeErrors: {},
  ...r,
});

/** A blue/green run: lag rises to 2.1 s while green's SQL thread is paused, recovers; switchover at +7 s. */
const LAG: LagRecord[] = [
  rec(0, {}),
  rec(1, {}),
  rec(2, { maxMs: 900, lastMs: 900 }),
  rec(3, { maxMs: 1900, lastMs: 1900 }),
  rec(4, { maxMs: 2100, lastMs: 55 }),
  rec(5, {}),
  rec(6, {}),
  rec(7, { samples: 0, maxMs: null, lastMs: null, readErrors: { refused: 3 }, writeErrors: { 'read-only': 4 } }),
  rec(8, { samples: 0, maxMs: null, lastMs: null, selfWritten: 10 }),
  rec(9, { samples: 0, maxMs: null, lastMs: null, selfWritten: 10 }),
];

/** The synthetic file with a heartbeat header and `lag` lines (before the trailer, as run writes them). */
function withLag(text: string, lag: LagRecord[]): string {
  const lines = text.trimEnd().split('\n');
  const header = JSON.parse(lines[0] as string) as Record<string, unknown>;
  header.heartbeat = { green: 'mysql://app@green.test:3306/probe', table: 'downtime_probe_heartbeat', intervalMs: 100 };
  const trailer = lines.pop() as string;
  return [JSON.stringify(header), ...lines.slice(1), ...lag.map((l) => JSON.stringify(l)), trailer].join('\n') + '\n';
}

test('LagRecorder: max and last per second, errors by class, one record for every second (empty ones too)', () => {
  const out: LagRecord[] = [];
  const r = new LagRecorder(T0 + 200, (x) => out.push(x));
  r.sample(T0 - 50, 999); // before the start: ignored
  r.sample(T0 + 300, 120.4);
  r.sample(T0 + 900, 80);
  r.error(T0 + 950, 'read', 'refused');
  r.error(T0 + 960, 'write', 'read-only');
  r.selfWritten(T0 + 2500);
  r.flushThrough(T0 / 1000 + 2);
  r.sample(T0 + 1500, 5); // a second already written: ignored
  assert.deepEqual(out, [
    rec(0, {
      samples: 2,
      maxMs: 120.4,
      lastMs: 80,
      readErrors: { refused: 1 },
      writeErrors: { 'read-only': 1 },
    }),
    rec(1, { samples: 0, maxMs: null, lastMs: null }),
    rec(2, { samples: 0, maxMs: null, lastMs: null, selfWritten: 1 }),
  ]);
  assert.equal(heartbeatTable('downtime_probe'), 'downtime_probe_heartbeat');
});

test('results files: lag lines are read; files without them (older ones) still read, with no lag', () => {
  const old = parseResults(syntheticResults(SPEC), 'old.ndjson');
  assert.equal(old.lag, undefined);
  assert.equal(analyze(old).replicationLag, null);
  assert.deepEqual(analyzeDetailed(old).lag, []);
  assert.doesNotMatch(formatSummaryTable(analyze(old)), /replication lag/);

  // Lines in any order (the reader sorts), and an unknown line type is skipped.
  const shuffled = [...LAG].reverse();
  const text = withLag(syntheticResults(SPEC), shuffled).replace(
    '\n',
    '\n' + JSON.stringify({ type: 'from-the-future', x: 1 }) + '\n',
  );
  const r = parseResults(text, 'lag.ndjson');
  assert.deepEqual(r.lag, LAG);
  const s = analyze(r);
  assert.deepEqual(s.replicationLag, {
    green: 'mysql://app@green.test:3306/probe',
    maxMs: 2100,
    maxAtMs: T0 + 4000,
    lastMs: 40,
    samples: 70,
    selfWrittenFromMs: T0 + 8000,
    readErrors: { refused: 3 },
    writeErrors: { 'read-only': 4 },
  });
  const table = formatSummaryTable(s);
  assert.match(table, /replication lag on mysql:\/\/app@green\.test:3306\/probe: max 2\.10 s in the second at \+4 s/);
  assert.match(table, /from \+8 s green wrote the heartbeat itself/);
  assert.match(formatCompareTable([s, analyze(old)]), /max replication lag\s+2\.10 s\s+not measured/);
});

test('lag chart: pure JSON, matches its golden; switchover seconds shaded as not measured', () => {
  const a = analyzeDetailed(parseResults(withLag(syntheticResults(SPEC), LAG), 'lag.ndjson'));
  const config = lagChart(a);
  assert.deepEqual(JSON.parse(JSON.stringify(config)), config, 'plain JSON');
  golden('report-lag', config);
  const marks = (
    config.options.plugins as { downtimeMarks: { boxes: { fromX: number; toX: number; label?: string }[] } }
  ).downtimeMarks;
  assert.deepEqual(
    marks.boxes.map((b) => [b.fromX, b.toX, b.label]),
    [
      [8, 10, 'green is the writer: no lag to measure'],
      [7, 8, 'no lag reading'],
    ],
  );
  const max = config.data.datasets[0]?.data as { x: number; y: number | null }[];
  assert.deepEqual(
    max.find((p) => p.x === 4),
    { x: 4, y: 2100 },
  );
});

test('report: lag.png and the replication lag line in summary.md where lag was measured, not otherwise', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'downtime-lag-report-'));
  try {
    const withFile = join(dir, 'lag.ndjson');
    writeFileSync(withFile, withLag(syntheticResults(SPEC), LAG));
    const a = await renderReport(parseResults(readFileSync(withFile, 'utf8'), withFile), join(dir, 'with'));
    assert.ok(a.files.some((f) => f.endsWith('lag.png')));
    const md = readFileSync(join(dir, 'with', 'summary.md'), 'utf8');
    assert.match(md, /- Replication lag: on mysql:\/\/app@green.test:3306\/probe: max 2\.10 s/);
    assert.match(md, /!\[lag\.png\]\(lag\.png\)/);
    const json = JSON.parse(readFileSync(join(dir, 'with', 'summary.json'), 'utf8')) as { replicationLag: unknown };
    assert.equal((json.replicationLag as { maxMs: number }).maxMs, 2100);

    const b = await renderReport(parseResults(syntheticResults(SPEC), 'old.ndjson'), join(dir, 'without'));
    assert.ok(!b.files.some((f) => f.endsWith('lag.png')));
    const json2 = JSON.parse(readFileSync(join(dir, 'without', 'summary.json'), 'utf8')) as { replicationLag: unknown };
    assert.equal(json2.replicationLag, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('green: greenTarget in a scenario, --green-target on the command line (no password in either), not with a sandbox', async () => {
  const { planRun, parseRunArgs } = await import('../src/run/plan.js');
  const { bufferIo } = await import('../src/io.js');
  const { ExitCode } = await import('../src/errors.js');
  const dir = mkdtempSync(join(tmpdir(), 'downtime-green-plan-'));
  try {
    const io = bufferIo({ APP_PW: 's3cret' });
    io.cwd = dir;
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const base = 'name: bg\ntarget: mysql://app@blue.example:3306/probe\npassword: { env: APP_PW }\nduration: 10s\n';
    const withGreen = file('g.yaml', `${base}greenTarget: mysql://app@green.example:3307/probe\n`);
    const plan = await planRun({ scenario: withGreen }, io);
    assert.equal(plan.options.green?.url, 'mysql://app@green.example:3307/probe');
    assert.equal(plan.options.green?.port, 3307);
    // The flag wins over the file.
    const flagged = await planRun({ scenario: withGreen, greenTarget: 'mysql://app@other:3306/probe' }, io);
    assert.equal(flagged.options.green?.host, 'other');
    assert.equal((await planRun({ scenario: file('n.yaml', base) }, io)).options.green, undefined);
    await assert.rejects(
      planRun({ scenario: file('p.yaml', `${base}greenTarget: mysql://app:pw@green:3306/probe\n`) }, io),
      (e: Error & { exitCode?: number }) =>
        /greenTarget: must not contain a password/.test(e.message) && !/pw@/.test(e.message),
    );
    await assert.rejects(
      planRun(
        {
          scenario: file('s.yaml', 'name: s\nsandbox: blue-green\nduration: 10s\ngreenTarget: mysql://app@g:1/probe\n'),
        },
        io,
      ),
      /greenTarget: only applies to target:/,
    );
    const opts = parseRunArgs(
      { target: 'mysql://app@blue:3306/probe', greenTarget: 'mysql://app@green:3306/probe' },
      io,
    );
    assert.equal(opts.green?.url, 'mysql://app@green:3306/probe');
    assert.throws(
      () =>
        parseRunArgs({ target: 'mysql://app@blue:3306/probe', greenTarget: 'mysql://app:secret@green:3306/probe' }, io),
      (e: Error & { exitCode?: number }) =>
        e.exitCode === ExitCode.Usage && /--green-target/.test(e.message) && !e.message.includes('secret'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
