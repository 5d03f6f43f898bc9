import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { parseResults, readResults } from '../src/results/reader.js';
import { ResultsWriter } from '../src/results/writer.js';
import { RESULTS_FORMAT, RESULTS_VERSION, type ResultsHeader, type ResultsLine } from '../src/results/types.js';

const header: ResultsHeader = {
  type: 'header',
  format: RESULTS_FORMAT,
  version: RESULTS_VERSION,
  tool: { name: 'downtime', version: '0.0.0' },
  runId: 'r1',
  label: 't',
  target: { url: 'mysql://u@h:3306/d', host: 'h', port: 3306, user: 'u', database: 'd' },
  host: { hostname: 'x', pid: 1, platform: 'linux', node: 'v20', cpus: 2 },
  startMs: 1_000_000,
  durationMs: 2000,
  ops: { read: { ratePerSec: 10, t0Ms: 1_000_000 } },
  timeoutMs: 2000,
  connectTimeoutMs: 2000,
  connection: 'pool',
  workers: 1,
  maxInFlight: 8,
  resolution: 'probe',
  table: 'downtime_probe',
  readSql: 'SELECT 1',
  writeSql: 'SELECT 1',
  histogram: { unit: 'us', lowestUs: 1, highestUs: 3_600_000_000, significantDigits: 3 },
};

const lines: ResultsLine[] = [
  header,
  { type: 'event', atMs: 1_000_500, kind: 'action', name: 'step' },
  {
    type: 'second',
    op: 'read',
    sec: 1001,
    due: 10,
    ok: 7,
    failed: { refused: 3 },
    dropped: 0,
    hist: null,
    runs: [
      [10, 7, 'ok'],
      [17, 3, 'refused'],
    ],
    servers: [],
  },
  {
    type: 'second',
    op: 'read',
    sec: 1000,
    due: 10,
    ok: 10,
    failed: {},
    dropped: 0,
    hist: null,
    runs: [[0, 10, 'ok']],
    servers: [],
  },
  {
    type: 'trailer',
    endMs: 1_002_000,
    reason: 'completed',
    totals: { read: { due: 20, ok: 17, failed: 3, dropped: 0 } },
  },
];

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'downtime-results-'));
}

test('writer → reader round trip', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'r.ndjson');
    const w = ResultsWriter.open(path);
    for (const l of lines) w.write(l);
    w.close();
    const r = readResults(path);
    assert.deepEqual(r.header, header);
    assert.deepEqual(
      r.seconds.read.map((s) => s.sec),
      [1000, 1001],
      'seconds come back ordered',
    );
    assert.equal(r.events.length, 1);
    assert.equal(r.complete, true);
    assert.equal(r.truncated, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated last line (kill -9 mid-write) is ignored and flagged', () => {
  const full = lines
    .slice(0, 4)
    .map((l) => JSON.stringify(l) + '\n')
    .join('');
  const cut = full + JSON.stringify(lines[4]).slice(0, 25);
  const r = parseResults(cut);
  assert.equal(r.truncated, true);
  assert.equal(r.complete, false);
  assert.equal(r.seconds.read.length, 2);
});

test('a file cut exactly at a line end is incomplete but not truncated', () => {
  const r = parseResults(
    lines
      .slice(0, 3)
      .map((l) => JSON.stringify(l) + '\n')
      .join(''),
  );
  assert.equal(r.truncated, false);
  assert.equal(r.complete, false);
});

test('bad results files give one-line errors with exit code 5', () => {
  const rows: [text: string, message: RegExp][] = [
    ['', /x\.ndjson is empty/],
    ['hello world\n', /is not a downtime results file/],
    ['{"type":"header","format":"something-else"}\n', /is not a downtime results file/],
    [
      JSON.stringify({ ...header, version: 99 }) + '\n',
      /newer downtime \(results format version 99, this one reads up to 3\); upgrade downtime/,
    ],
    [JSON.stringify(header) + '\n{oops\n' + JSON.stringify(lines[4]) + '\n', /corrupt at line 2/],
  ];
  for (const [text, message] of rows) {
    assert.throws(
      () => parseResults(text, 'x.ndjson'),
      (e: unknown) =>
        e instanceof DowntimeError &&
        e.exitCode === ExitCode.InputFile &&
        message.test(e.message) &&
        !e.message.includes('\n'),
      text.slice(0, 40),
    );
  }
});

test('reading a missing file says so', () => {
  assert.throws(
    () => readResults('/nonexistent/x.ndjson'),
    /cannot read results file \/nonexistent\/x.ndjson: no such file/,
  );
});

test('the writer refuses to overwrite, and names a missing directory', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'r.ndjson');
    writeFileSync(path, 'precious');
    assert.throws(
      () => ResultsWriter.open(path),
      (e: unknown) =>
        e instanceof DowntimeError &&
        e.exitCode === ExitCode.Output &&
        /already exists; choose another --out or pass --force/.test(e.message),
    );
    assert.equal(readFileSync(path, 'utf8'), 'precious', 'nothing already written is lost');
    assert.throws(
      () => ResultsWriter.open(join(dir, 'missing', 'r.ndjson')),
      /output directory .*missing does not exist/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
