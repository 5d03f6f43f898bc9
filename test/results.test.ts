import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { parseResults, readResults } from '../src/results/reader.js';
import { encodeHistogram, newHistogram, recordUs } from '../src/results/histogram.js';
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

/** The round-trip file with one line (1-based) edited, or replaced when `edit` returns a value. */
function editedFile(lineNo: number, edit: (r: Record<string, unknown>) => unknown): string {
  const out = lines.map((l) => JSON.parse(JSON.stringify(l)) as Record<string, unknown>);
  const r = out[lineNo - 1] as Record<string, unknown>;
  const replaced = edit(r);
  return out.map((l, i) => JSON.stringify(i === lineNo - 1 && replaced !== undefined ? replaced : l) + '\n').join('');
}

test('impossible records: exit 5, one line naming the file, the line and the field (#17 item 10)', () => {
  // Line 1 header, 2 event, 3 second (sec 1001: 7 ok, 3 refused), 4 second (sec 1000), 5 trailer.
  const rows: [name: string, text: string, message: RegExp][] = [
    ['header without ops', editedFile(1, (r) => void delete r.ops), /line 1: header\.ops is missing/],
    ['header with empty ops', editedFile(1, (r) => void (r.ops = {})), /line 1: header\.ops must be a read or write/],
    [
      'schedule rate 0',
      editedFile(1, (r) => void (r.ops = { read: { ratePerSec: 0, t0Ms: 1 } })),
      /line 1: header\.ops\.read\.ratePerSec must be a number above 0, got 0/,
    ],
    ['startMs a string', editedFile(1, (r) => void (r.startMs = 'now')), /line 1: header\.startMs must be a finite/],
    [
      'merged part pointing nowhere',
      editedFile(1, (r) => void (r.ops = { read: { ratePerSec: 10, t0Ms: 1, parts: [{ source: 3 }] } })),
      /line 1: header\.ops\.read\.parts\[0\]\.source must be an index into header\.sources \(0 of them\), got 3/,
    ],
    ['version "1"', editedFile(1, (r) => void (r.version = '1')), /line 1: header\.version .*got "1" \(not a valid/],
    ['version 0', editedFile(1, (r) => void (r.version = 0)), /line 1: header\.version .*got 0 \(not a valid/],
    ['version 2.5', editedFile(1, (r) => void (r.version = 2.5)), /line 1: header\.version .*got 2\.5 \(not a valid/],
    ['version missing', editedFile(1, (r) => void delete r.version), /line 1: header\.version .*got nothing/],
    ['runs "ok"', editedFile(3, (r) => void (r.runs = 'ok')), /line 3: second\.runs must be an array .*, got "ok"/],
    ['second without runs', editedFile(3, (r) => void delete r.runs), /line 3: second\.runs is missing/],
    [
      'a run of 0 probes',
      editedFile(
        3,
        (r) =>
          void (r.runs = [
            [10, 0, 'ok'],
            [10, 10, 'ok'],
          ]),
      ),
      /line 3: second\.runs\[0\]\[1\] \(count\) must be an integer ≥ 1, got 0/,
    ],
    [
      'overlapping runs',
      editedFile(
        3,
        (r) =>
          void (r.runs = [
            [10, 7, 'ok'],
            [15, 3, 'refused'],
          ]),
      ),
      /line 3: second\.runs\[1\] starts at seq 15, inside the run before it/,
    ],
    [
      'runs short of due',
      editedFile(
        3,
        (r) =>
          void (r.runs = [
            [10, 7, 'ok'],
            [17, 2, 'refused'],
          ]),
      ),
      /line 3: second\.runs cover 9 probes but second\.due is 10/,
    ],
    [
      'runs with another class than failed',
      editedFile(
        3,
        (r) =>
          void (r.runs = [
            [10, 7, 'ok'],
            [17, 3, 'timeout'],
          ]),
      ),
      /line 3: second\.failed\.refused is 3 but second\.runs hold 0 "refused" probes/,
    ],
    ['ok above due', editedFile(3, (r) => void (r.ok = 12)), /line 3: second\.ok \(12\) is above second\.due \(10\)/],
    ['negative dropped', editedFile(3, (r) => void (r.dropped = -1)), /line 3: second\.dropped must be an integer ≥ 0/],
    ['due not the sum', editedFile(3, (r) => void (r.due = 11)), /line 3: second\.due \(11\) is not ok \+ failed/],
    ['hist not a histogram', editedFile(3, (r) => void (r.hist = 'ok')), /line 3: second\.hist .*does not decode/],
    ['hist a number', editedFile(3, (r) => void (r.hist = 5)), /line 3: second\.hist must be an HDR histogram/],
    [
      'hist with more latencies than ok',
      editedFile(3, (r) => {
        const h = newHistogram();
        for (let i = 0; i < 8; i++) recordUs(h, 1000);
        r.hist = encodeHistogram(h);
      }),
      /line 3: second\.hist holds 8 latencies, more than second\.ok \(7\)/,
    ],
    [
      'servers above ok',
      editedFile(3, (r) => {
        r.servers = [{ serverId: 1, hostname: 'a', version: '1', readOnly: false, count: 9 }];
      }),
      /line 3: second\.servers count 9 answers, more than second\.ok \(7\)/,
    ],
    ['sec not an integer', editedFile(3, (r) => void (r.sec = 1001.5)), /line 3: second\.sec must be an integer/],
    [
      'an op without schedule',
      editedFile(3, (r) => void (r.op = 'write')),
      /line 3: second\.op must be an op the header schedules \(header\.ops has no write\)/,
    ],
    ['duplicated second', editedFile(4, (r) => void (r.sec = 1001)), /line 4: second\.sec 1001 of read appears twice/],
    ['edges not pairs', editedFile(3, (r) => void (r.edges = [[1]])), /line 3: second\.edges\[0\] must be a \[seq/],
    ['event without atMs', editedFile(2, (r) => void delete r.atMs), /line 2: event\.atMs is missing/],
    ['event detail a string', editedFile(2, (r) => void (r.detail = 'x')), /line 2: event\.detail must be an object/],
    ['trailer reason', editedFile(5, (r) => void (r.reason = 'done')), /line 5: trailer\.reason must be "completed"/],
    [
      'trailer totals above due',
      editedFile(5, (r) => void (r.totals = { read: { due: 1, ok: 17, failed: 3, dropped: 0 } })),
      /line 5: trailer\.totals\.read: ok \+ failed \+ dropped \+ stalled \(20\) is above due \(1\)/,
    ],
    [
      'lag line without samples',
      editedFile(5, () => ({ type: 'lag', sec: 1000, maxMs: null, lastMs: null, selfWritten: 0 })),
      /line 5: lag\.samples is missing/,
    ],
    ['a line that is not an object', editedFile(2, () => 42), /line 2: the line must be a JSON object, got 42/],
    [
      'gzip-compressed',
      '\x1f\ufffd\b\0\0\0\0\0\0\x03',
      /x\.ndjson is gzip-compressed; decompress it first \(gunzip x\.ndjson\)/,
    ],
  ];
  for (const [name, text, message] of rows) {
    assert.throws(
      () => parseResults(text, 'x.ndjson'),
      (e: unknown) =>
        e instanceof DowntimeError &&
        e.exitCode === ExitCode.InputFile &&
        message.test(e.message) &&
        e.message.includes('x.ndjson') &&
        !e.message.includes('\n'),
      name,
    );
  }
});

test('what the checks let through: older versions, unknown lines and ops, a BOM, a truncated last line', () => {
  const text = lines.map((l) => JSON.stringify(l) + '\n').join('');
  for (const version of [1, 2, 3]) {
    const old = editedFile(1, (r) => void (r.version = version));
    assert.equal(parseResults(old, 'old.ndjson').header.version, version);
  }
  const extra =
    text +
    JSON.stringify({ type: 'something-new', x: 1 }) +
    '\n' +
    JSON.stringify({ type: 'second', op: 'ping', sec: 1 }) +
    '\n\n';
  const r = parseResults(extra, 'x.ndjson');
  assert.equal(r.seconds.read.length, 2, 'an unknown line type and an unknown op are skipped');
  const bom = parseResults('\uFEFF' + text, 'bom.ndjson');
  assert.deepEqual(bom.header, header, 'a UTF-8 byte order mark is accepted');
  const cut = parseResults(text + '{"type":"second","op":"read","sec":10', 'cut.ndjson');
  assert.equal(cut.truncated, true);
});

test('readResults streams the file in chunks: lines and UTF-8 characters cut at any chunk boundary', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'r.ndjson');
    const withText: ResultsLine[] = [
      { ...header, label: 'größe ✓ 日本語 🚀' },
      ...lines.slice(1, 4),
      { type: 'event', atMs: 1_001_000, kind: 'output', name: 'ünïcödé → 💥 '.repeat(20) },
      lines[4] as ResultsLine,
    ];
    const text = '\uFEFF' + withText.map((l) => JSON.stringify(l) + '\n').join('') + '{"type":"second","op":"re';
    writeFileSync(path, text);
    const whole = parseResults(text, path);
    assert.equal(whole.header.label, 'größe ✓ 日本語 🚀');
    assert.equal(whole.truncated, true);
    for (const chunkBytes of [1, 2, 3, 5, 7, 64, 1000, 1 << 20]) {
      assert.deepEqual(readResults(path, { chunkBytes }), whole, `chunks of ${chunkBytes} bytes`);
    }
    // A bad record still names its line when lines span chunks.
    writeFileSync(path, text.replace('"ok":7', '"ok":70'));
    assert.throws(() => readResults(path, { chunkBytes: 3 }), /r\.ndjson is invalid at line 3: second\.ok \(70\)/);
    // gzip is recognised from its first bytes whatever the chunk size.
    writeFileSync(path, gzipSync(text));
    assert.throws(() => readResults(path, { chunkBytes: 1 }), /is gzip-compressed; decompress it first/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
