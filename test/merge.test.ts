import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { mergeCommandCore } from '../src/commands/merge.js';
import { DowntimeError, ExitCode } from '../src/errors.js';
import type { Io } from '../src/io.js';
import { decodeHistogram, mergeEncoded } from '../src/results/histogram.js';
import { mergeResults, type MergeInput } from '../src/analyze/merge.js';
import { parseResults } from '../src/results/reader.js';
import { OK, OPS, intendedMs, mergedTimes, type Op, type ResultsFile, type ResultsLine } from '../src/results/types.js';
import { assertInvariants } from './helpers/invariants.js';
import { SYNTH_START_MS as T0, syntheticResults, type SyntheticSpec } from './helpers/synthetic.js';

/** A synthetic host's file, with its own runId and hostname (the generator's are fixed). */
function host(name: string, spec: SyntheticSpec): MergeInput {
  const r = parseResults(syntheticResults(spec), `${name}.ndjson`);
  r.header.runId = `run-${name}`;
  r.header.host.hostname = name;
  return { file: `${name}.ndjson`, results: r };
}

function mergedFile(inputs: MergeInput[], force = false): { file: ResultsFile; warnings: string[] } {
  const m = mergeResults(inputs, { runId: 'merged-run', force });
  const text = m.lines.map((l: ResultsLine) => JSON.stringify(l)).join('\n') + '\n';
  return { file: parseResults(text, 'merged.ndjson'), warnings: m.warnings };
}

/**
 * The union expectation, computed independently of merge.ts and scanOp: every source probe expanded to
 * (intended time, outcome), sorted by time, and scanned with the window definition.
 */
function unionWindows(inputs: MergeInput[], op: Op): [number, number][] {
  const probes: [number, string][] = [];
  for (const { results: r } of inputs) {
    const s = r.header.ops[op];
    if (!s) continue;
    for (const sec of r.seconds[op])
      for (const [first, count, outcome] of sec.runs)
        for (let k = first; k < first + count; k++) probes.push([s.t0Ms + (k * 1000) / s.ratePerSec, outcome]);
  }
  probes.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  let start: number | null = null;
  for (const [t, outcome] of probes) {
    if (outcome === OK) {
      if (start !== null) out.push([start, t]);
      start = null;
    } else start ??= t;
  }
  assert.equal(start, null, 'test fixtures end with successes');
  return out;
}

function windowsOf(file: ResultsFile, op: Op): [number, number][] {
  return analyze(file)
    .outages.filter((o) => o.op === op)
    .map((o) => [o.startMs, o.endMs]);
}

function near(actual: [number, number][], expected: [number, number][], msg: string): void {
  assert.equal(actual.length, expected.length, `${msg}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
  actual.forEach(([s, e], i) => {
    const [xs, xe] = expected[i] as [number, number];
    assert.ok(Math.abs(s - xs) < 1e-6 && Math.abs(e - xe) < 1e-6, `${msg} #${i}: [${s}, ${e}] vs [${xs}, ${xe}]`);
  });
}

// Three hosts, started at different offsets, each seeing the same outage at the same true time, plus one
// host-local blip that the other hosts' successes cover.
const A = host('a', {
  durationMs: 12_000,
  rates: { read: 10, write: 5 },
  outages: [{ op: 'both', fromMs: 4000, toMs: 6000, cls: 'refused' }],
});
const B = host('b', {
  startMs: T0 + 30,
  durationMs: 12_000,
  rates: { read: 10, write: 5 },
  outages: [
    { op: 'both', fromMs: 3970, toMs: 5970, cls: 'lost-connection' },
    { op: 'read', fromMs: 8000, toMs: 8500, cls: 'timeout' },
  ],
});
const C = host('c', {
  startMs: T0 + 1000, // started a second later, at another rate
  durationMs: 10_000,
  rates: { read: 7, write: 5 },
  outages: [{ op: 'both', fromMs: 3000, toMs: 5000, cls: 'refused' }],
});

test('merged windows are the windows of the union of all hosts probes, to the probe', () => {
  const inputs = [A, B, C];
  const { file } = mergedFile(inputs);
  assert.equal(file.header.version, 3);
  assertInvariants(file);
  for (const op of OPS) near(windowsOf(file, op), unionWindows(inputs, op), op);
  // The common outage: one window per op, starting at the first failed probe of any host (A's at +4000 ms)
  // and ending at the first success of any host after it.
  const [first, ...blip] = windowsOf(file, 'read');
  assert.ok(first);
  assert.equal(first[0] - T0, 4000);
  assert.ok(Math.abs(first[1] - T0 - 6000) < 100, 'ends within one read interval of 6 s');
  // B's read blip alone: only the stretches between its failures and the next success of A or C.
  assert.ok(blip.length >= 5);
  for (const [s, e] of blip) assert.ok(s - T0 >= 8030 && e - T0 <= 8600 && e - s < 100, `${s - T0}…${e - T0}`);
});

test('a blip one host sees alone is a window only where no other host succeeded', () => {
  const a = host('a', { durationMs: 6000, rates: { read: 10 }, outages: [] });
  const b = host('b', {
    startMs: T0 + 50,
    durationMs: 6000,
    rates: { read: 10 },
    outages: [{ op: 'read', fromMs: 1950, toMs: 3950, cls: 'refused' }],
  });
  const { file } = mergedFile([a, b]);
  // A succeeds every 100 ms, so B's failures at x50 are each a 50 ms window, until A's next success.
  const w = windowsOf(file, 'read');
  near(w, unionWindows([a, b], 'read'), 'read');
  assert.equal(w.length, 20);
  for (const [s, e] of w) assert.ok(Math.abs(e - s - 50) < 1e-6);
});

test('counts sum per second and in total; histograms are merged; merged seq times match the union', () => {
  const inputs = [A, B, C];
  const { file } = mergedFile(inputs);
  for (const op of OPS) {
    const sum = (f: (r: ResultsFile) => number): number => inputs.reduce((a, x) => a + f(x.results), 0);
    assert.equal(
      file.trailer?.totals[op]?.due,
      sum((r) => r.trailer?.totals[op]?.due ?? 0),
    );
    assert.equal(
      file.trailer?.totals[op]?.ok,
      sum((r) => r.trailer?.totals[op]?.ok ?? 0),
    );
    assert.equal(
      file.trailer?.totals[op]?.failed,
      sum((r) => r.trailer?.totals[op]?.failed ?? 0),
    );
    for (const rec of file.seconds[op]) {
      const parts = inputs.flatMap((x) => x.results.seconds[op].filter((s) => s.sec === rec.sec));
      assert.equal(
        rec.due,
        parts.reduce((a, s) => a + s.due, 0),
        `${op} ${rec.sec} due`,
      );
      assert.equal(
        rec.ok,
        parts.reduce((a, s) => a + s.ok, 0),
        `${op} ${rec.sec} ok`,
      );
      const expected = mergeEncoded(parts.map((s) => s.hist));
      const got = rec.hist === null ? 0 : decodeHistogram(rec.hist).totalCount;
      assert.equal(got, rec.ok, `${op} ${rec.sec}: one latency per ok probe`);
      assert.equal(got, expected.totalCount);
      if (rec.hist !== null)
        assert.equal(decodeHistogram(rec.hist).getValueAtPercentile(99), expected.getValueAtPercentile(99));
    }
    // Every source probe's intended time appears in the merged schedule, in order.
    const schedule = file.header.ops[op];
    assert.ok(schedule?.parts);
    const times = [...mergedTimes(schedule)];
    const union = inputs
      .flatMap(({ results: r }) => {
        const s = r.header.ops[op];
        const n = r.trailer?.totals[op]?.due ?? 0;
        return s ? Array.from({ length: n }, (_, k) => intendedMs(s, k)) : [];
      })
      .sort((a, b) => a - b);
    assert.deepEqual(times, union);
  }
  const s = analyze(file);
  assert.equal(
    s.ops.read?.due,
    (A.results.trailer?.totals.read?.due ?? 0) * 2 + (C.results.trailer?.totals.read?.due ?? 0),
  );
});

test('each source is kept as its own series', () => {
  const { file } = mergedFile([A, B]);
  const srcs = file.header.sources ?? [];
  assert.deepEqual(
    srcs.map((s) => [s.id, s.runId, s.hostname, s.file, s.rates]),
    [
      ['a/run-a', 'run-a', 'a', 'a.ndjson', { read: 10, write: 5 }],
      ['b/run-b', 'run-b', 'b', 'b.ndjson', { read: 10, write: 5 }],
    ],
  );
  for (const [id, input] of [
    ['a/run-a', A],
    ['b/run-b', B],
  ] as const) {
    for (const op of OPS) {
      const own = file.sourceSeconds?.[id]?.[op] ?? [];
      assert.deepEqual(
        own.map(({ source, ...rest }) => {
          assert.equal(source, id);
          return rest;
        }),
        input.results.seconds[op],
      );
    }
  }
  assert.ok(file.events.some((e) => e.kind === 'note' && e.name === 'merged'));
});

test('clock skew: estimated from the common outage; warned beyond the bound, silent within it', () => {
  // Host B's clock runs 200 ms ahead: it stamps the same outage 200 ms later.
  const skewed = host('b', {
    startMs: T0 + 200,
    durationMs: 12_000,
    rates: { read: 10, write: 5 },
    outages: [{ op: 'both', fromMs: 4000, toMs: 6000, cls: 'refused' }],
  });
  const m = mergeResults([A, skewed], { runId: 'm' });
  assert.equal(m.skews[1]?.skewMs, 200);
  assert.equal(m.skews[1]?.from, 'longest write outage');
  // The estimate from a 5/s write stream is only good to one write interval (200 ms): the bound is
  // max(50 ms, one probe interval), so 200 ms is not above it.
  assert.equal(m.skews[1]?.boundMs, 200);
  assert.deepEqual(m.warnings, []);
  // At 100 probes/s the bound is 50 ms and 120 ms of skew is warned, on stderr and as an event.
  const fastA = host('a', {
    durationMs: 8000,
    rates: { read: 100 },
    outages: [{ op: 'read', fromMs: 3000, toMs: 4000, cls: 'refused' }],
  });
  const fastB = host('b', {
    startMs: T0 + 120,
    durationMs: 8000,
    rates: { read: 100 },
    outages: [{ op: 'read', fromMs: 3000, toMs: 4000, cls: 'refused' }],
  });
  const w = mergeResults([fastA, fastB], { runId: 'm' });
  assert.equal(w.skews[1]?.skewMs, 120);
  assert.equal(w.skews[1]?.boundMs, 50);
  assert.equal(w.warnings.length, 1);
  assert.match(
    w.warnings[0] ?? '',
    /^clock skew: b\/run-b is 120\.0 ms off a\/run-a \(from longest read outage\), more than 50\.0 ms/,
  );
  // The same 120 ms, but host B's harness sent probes up to 150 ms late around the outage: a late sender sees
  // the outage begin early, so the offset may be its lag, not its clock. The bound takes the lag in; no warning.
  const laggingB = host('b', {
    startMs: T0 + 120,
    durationMs: 8000,
    rates: { read: 100 },
    outages: [{ op: 'read', fromMs: 3000, toMs: 4000, cls: 'refused' }],
    sendLagUs: (_op, sec) => (sec === 3 ? { p99: 90_000, max: 150_000 } : { p99: 500, max: 900 }),
  });
  const lagged = mergeResults([fastA, laggingB], { runId: 'm' });
  assert.equal(lagged.skews[1]?.skewMs, 120);
  assert.equal(lagged.skews[1]?.lagMs, 150);
  assert.equal(lagged.skews[1]?.boundMs, 150);
  assert.deepEqual(lagged.warnings, []);
  // A lag far from the outage (second 7: the run's end) does not widen the bound.
  const lateLag = mergeResults(
    [
      fastA,
      host('b', {
        startMs: T0 + 120,
        durationMs: 8000,
        rates: { read: 100 },
        outages: [{ op: 'read', fromMs: 3000, toMs: 4000, cls: 'refused' }],
        sendLagUs: (_op, sec) => (sec === 7 ? { p99: 90_000, max: 150_000 } : undefined),
      }),
    ],
    { runId: 'm' },
  );
  assert.equal(lateLag.skews[1]?.lagMs, 0);
  assert.equal(lateLag.warnings.length, 1);
  // Started 30 ms apart but the same outage at the same true time: no skew, no warning.
  const ok = mergeResults([A, B], { runId: 'm' });
  assert.ok(Math.abs(ok.skews[1]?.skewMs ?? 99) <= 100, `skew ${ok.skews[1]?.skewMs}`);
  assert.deepEqual(ok.warnings, []);
  // No shared outage and no shared event: unknown, not zero.
  const quiet = mergeResults(
    [host('a', { durationMs: 3000, rates: { read: 10 } }), host('b', { durationMs: 3000, rates: { read: 10 } })],
    { runId: 'm' },
  );
  assert.equal(quiet.skews[1]?.skewMs, null);
});

test('refuses different targets or scenarios unless forced, the same run twice, and merged files', () => {
  const other = host('x', { durationMs: 3000, rates: { read: 10 } });
  other.results.header.target = { ...other.results.header.target, host: 'other.test' };
  const expectInput = (f: () => unknown, re: RegExp): void =>
    assert.throws(
      f,
      (e: unknown) =>
        e instanceof DowntimeError &&
        e.exitCode === ExitCode.InputFile &&
        re.test(e.message) &&
        !e.message.includes('\n'),
    );
  expectInput(() => mergeResults([A, other], { runId: 'm' }), /probed other\.test:3306\/probe .*or pass --force/);
  assert.doesNotThrow(() => mergeResults([A, other], { runId: 'm', force: true }));
  const label = host('y', { durationMs: 3000, rates: { read: 10 }, label: 'blue-green' });
  expectInput(() => mergeResults([A, label], { runId: 'm' }), /scenario "blue-green"/);
  expectInput(() => mergeResults([A, { ...A, file: 'copy.ndjson' }], { runId: 'm' }), /same run/);
  const { file } = mergedFile([A, B]);
  expectInput(
    () => mergeResults([{ file: 'merged.ndjson', results: file }, C], { runId: 'm' }),
    /already a merged file/,
  );
});

test('an incomplete source leaves the merged file without a trailer; gaps in a source stay gaps', () => {
  const cut = host('b', { startMs: T0 + 50, durationMs: 6000, rates: { read: 10 }, complete: false });
  const gappy = host('c', {
    startMs: T0 + 25,
    durationMs: 6000,
    rates: { read: 10 },
    gaps: [{ op: 'read', fromSec: 2, toSec: 3 }],
  });
  const a = host('a', { durationMs: 6000, rates: { read: 10 } });
  const { file } = mergedFile([a, cut, gappy]);
  assert.equal(file.trailer, null);
  const s = analyze(file);
  assert.equal(s.outages.length, 0, 'missing seconds are not failures');
  const withTrailer = mergedFile([a, gappy]).file;
  assert.equal(withTrailer.trailer?.totals.read?.due, 120, 'the gap seqs are counted as due, not seen');
  assert.equal(
    withTrailer.seconds.read.reduce((x, r) => x + r.due, 0),
    110,
  );
});

test('downtime merge command: writes via a temp name, refuses an existing --out, report reads the result', () => {
  const dir = mkdtempSync(join(tmpdir(), 'downtime-merge-'));
  try {
    const write = (name: string, x: MergeInput): string => {
      const p = join(dir, name);
      writeFileSync(
        p,
        [x.results.header, ...OPS.flatMap((op) => x.results.seconds[op]), ...x.results.events, x.results.trailer]
          .map((l) => JSON.stringify(l))
          .join('\n') + '\n',
      );
      return p;
    };
    write('a.ndjson', A);
    write('b.ndjson', B);
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      env: {},
      now: () => 0,
      cwd: dir,
      onSignal: () => () => undefined,
      isInteractive: false,
    } as Io;
    const opts = { files: ['a.ndjson', 'b.ndjson'], out: 'all.ndjson', force: false, skewBoundMs: 50 };
    assert.equal(mergeCommandCore(opts, io), ExitCode.Ok);
    assert.match(out.join(''), /^merged 2 runs into all\.ndjson \(clock skew vs a\/run-a: b\/run-b /);
    assert.deepEqual(readdirSync(dir).sort(), ['a.ndjson', 'all.ndjson', 'b.ndjson'], 'no temp file left');
    assert.throws(
      () => mergeCommandCore(opts, io),
      (e: unknown) => e instanceof DowntimeError && e.exitCode === ExitCode.Output && /already exists/.test(e.message),
    );
    assert.equal(mergeCommandCore({ ...opts, force: true }, io), ExitCode.Ok);
    assert.throws(
      () => mergeCommandCore({ ...opts, files: ['a.ndjson', 'missing.ndjson'], out: 'x.ndjson' }, io),
      (e: unknown) => e instanceof DowntimeError && e.exitCode === ExitCode.InputFile,
    );
    assert.equal(existsSync(join(dir, 'x.ndjson')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('skew comes from the outage both saw, not from a blip one host saw first', () => {
  const a = host('a', {
    durationMs: 10_000,
    rates: { read: 100 },
    outages: [
      { op: 'read', fromMs: 1000, toMs: 1100, cls: 'timeout' }, // A alone
      { op: 'read', fromMs: 5000, toMs: 7000, cls: 'refused' },
    ],
  });
  // B's clock is 30 ms ahead: it stamps the common outage at 5030…7030.
  const b = host('b', {
    startMs: T0 + 30,
    durationMs: 10_000,
    rates: { read: 100 },
    outages: [{ op: 'read', fromMs: 5000, toMs: 7000, cls: 'refused' }],
  });
  const m = mergeResults([a, b], { runId: 'm' });
  assert.equal(m.skews[1]?.skewMs, 30);
  assert.equal(m.skews[1]?.from, 'longest read outage');
  assert.deepEqual(m.warnings, [], '30 ms is within the 50 ms bound');
});

test('the reader reads versions 1 to 3, refuses 4, and keeps source series out of the merged stream', () => {
  const { file } = mergedFile([A, B]);
  assert.equal(A.results.header.version, 3);
  assert.equal(file.header.version, 3);
  assert.equal(file.seconds.read.filter((s) => s.source !== undefined).length, 0);
  for (const version of [1, 2]) {
    const old = JSON.stringify({ ...A.results.header, version }) + '\n';
    assert.equal(parseResults(old, 'old.ndjson').header.version, version);
  }
  const text = JSON.stringify({ ...file.header, version: 4 }) + '\n';
  assert.throws(
    () => parseResults(text, 'future.ndjson'),
    (e: unknown) => e instanceof DowntimeError && e.exitCode === ExitCode.InputFile && /reads up to 3/.test(e.message),
  );
});
