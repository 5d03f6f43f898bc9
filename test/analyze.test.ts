import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addHistogram, analyze, analyzeDetailed, MONTH_MS, type Outage, type Summary } from '../src/analyze/index.js';
import { decodeHistogram, encodeHistogram, newHistogram, recordUs } from '../src/results/histogram.js';
import { parseResults } from '../src/results/reader.js';
import { assertInvariants } from './helpers/invariants.js';
import { SYNTH_START_MS as T0, syntheticResults, type SyntheticSpec } from './helpers/synthetic.js';

function run(spec: SyntheticSpec, checkInvariants = true): Summary {
  const r = parseResults(syntheticResults(spec), 'synthetic.ndjson');
  if (checkInvariants) assertInvariants(r);
  return analyze(r);
}

/** Windows as [op, startOffsetMs, endOffsetMs] for compact exact comparison. */
function windows(s: Summary): [string, number, number][] {
  return s.outages.map((o) => [o.op, o.startMs - T0, o.endMs - T0]);
}

test('the generator writes files that satisfy the results invariants and the reader accepts', () => {
  const text = syntheticResults({
    durationMs: 5000,
    rates: { read: 7, write: 3 },
    outages: [{ op: 'both', fromMs: 1000, toMs: 2500, cls: 'refused' }],
  });
  const r = parseResults(text);
  assertInvariants(r);
  assert.equal(r.complete, true);
  assert.equal(r.trailer?.totals.read?.due, 35);
  assert.equal(r.trailer?.totals.write?.due, 15);
});

test('overlapping read and write windows: exact boundaries, full = intersection, errors per window', () => {
  // reads every 100 ms, writes every 200 ms
  const s = run({
    durationMs: 20_000,
    rates: { read: 10, write: 5 },
    outages: [
      { op: 'read', fromMs: 5000, toMs: 7300, cls: 'refused' },
      { op: 'write', fromMs: 5100, toMs: 8000, cls: 'read-only' },
      { op: 'write', fromMs: 7600, toMs: 8000, cls: 'timeout' },
    ],
  });
  // Reads 5000…7200 fail (23 probes), first ok at 7300. Writes 5200…7800 fail (14), first ok at 8000.
  assert.deepEqual(windows(s), [
    ['read', 5000, 7300],
    ['write', 5200, 8000],
    ['full', 5200, 7300],
  ]);
  const [r, w, f] = s.outages as [Outage, Outage, Outage];
  assert.deepEqual(r.errors, { refused: 23 });
  assert.deepEqual(w.errors, { 'read-only': 12, timeout: 2 });
  // In [5200, 7300): reads 5200…7200 (21 refused), writes 5200…7200 (11 read-only).
  assert.deepEqual(f.errors, { 'read-only': 11, refused: 21 });
  assert.equal(f.durationMs, 2100);
  assert.deepEqual(s.downtimeMs, { read: 2300, write: 2800, full: 2100 });
  assert.deepEqual(s.windows, { read: 1, write: 1, full: 1 });
  assert.equal(s.ops.read?.due, 200);
  assert.equal(s.ops.read?.failed, 23);
  assert.equal(s.ops.read?.ok, 177);
  assert.equal(s.ops.write?.sent, 100);
  assert.deepEqual(s.disruption, { startMs: T0 + 5000, endMs: T0 + 8000, durationMs: 3000 });
  assert.equal(r.open, false);
  assert.equal(s.complete, true);
  assert.equal(s.durationMs, 20_000);
  // Availability over the run: 2.3 s of 20 s down.
  assert.equal(s.availability.read, 1 - 2300 / 20_000);
  assert.equal(s.nines.read, -Math.log10(2300 / 20_000));
});

test('flapping: each stretch is its own window; disruption spans them; windows straddle second boundaries', () => {
  const s = run({
    durationMs: 10_000,
    rates: { read: 10 },
    outages: [
      { op: 'read', fromMs: 2900, toMs: 3500, cls: 'lost-connection' },
      { op: 'read', fromMs: 3700, toMs: 4000, cls: 'refused' },
      { op: 'read', fromMs: 4100, toMs: 4200, cls: 'dropped' },
    ],
  });
  assert.deepEqual(windows(s), [
    ['read', 2900, 3500],
    ['full', 2900, 3500],
    ['read', 3700, 4000],
    ['full', 3700, 4000],
    ['read', 4100, 4200],
    ['full', 4100, 4200],
  ]);
  assert.equal(s.windows.read, 3);
  assert.equal(s.downtimeMs.read, 1000);
  assert.deepEqual(s.ops.read?.disruption, { startMs: T0 + 2900, endMs: T0 + 4200, durationMs: 1300 });
  assert.deepEqual(s.ops.read?.errors, { dropped: 1, 'lost-connection': 6, refused: 3 });
  assert.equal(s.ops.read?.dropped, 1);
  assert.equal(s.ops.read?.sent, 99);
  // Only reads probed: full is the read windows, and write metrics are null, not zero.
  assert.equal(s.downtimeMs.write, null);
  assert.equal(s.ops.write, undefined);
});

test('outage at the very start, and one still open at the end of the run', () => {
  const s = run({
    durationMs: 10_000,
    rates: { read: 10, write: 10 },
    outages: [
      { op: 'both', fromMs: 0, toMs: 1000, cls: 'refused' },
      { op: 'write', fromMs: 8000, toMs: 10_000, cls: 'read-only' },
    ],
  });
  assert.deepEqual(windows(s), [
    ['read', 0, 1000],
    ['write', 0, 1000],
    ['full', 0, 1000],
    ['write', 8000, 10_000],
  ]);
  const last = s.outages[3] as Outage;
  assert.equal(last.open, true);
  assert.equal((s.outages[0] as Outage).open, false);
  assert.equal(s.downtimeMs.write, 3000);
  assert.equal(s.downtimeMs.full, 1000);
});

test('both ops open at the end: the full window is open too', () => {
  const s = run({
    durationMs: 5000,
    rates: { read: 4, write: 2 },
    outages: [{ op: 'both', fromMs: 3000, toMs: 5000, cls: 'refused' }],
  });
  assert.deepEqual(windows(s), [
    ['read', 3000, 5000],
    ['write', 3000, 5000],
    ['full', 3000, 5000],
  ]);
  assert.ok(s.outages.every((o) => o.open));
});

test('empty seconds (rate below 1/s): boundaries still come from seqs', () => {
  // One probe every 2 s: 0, 2000, 4000, …; seconds 1, 3, 5 … have no line at all.
  const s = run({
    durationMs: 20_000,
    rates: { read: 0.5 },
    outages: [{ op: 'read', fromMs: 3000, toMs: 7000, cls: 'timeout' }],
  });
  assert.deepEqual(windows(s), [
    ['read', 4000, 8000],
    ['full', 4000, 8000],
  ]);
  assert.deepEqual(s.gaps, []);
  assert.deepEqual((s.outages[0] as Outage).errors, { timeout: 2 });
});

test('a gap in seqs is reported, never counted as success nor as observed time', () => {
  const s = run(
    {
      durationMs: 20_000,
      rates: { read: 10, write: 10 },
      outages: [{ op: 'read', fromMs: 9500, toMs: 13_000, cls: 'refused' }],
      gaps: [{ op: 'read', fromSec: 10, toSec: 12 }],
    },
    false,
  );
  // The window runs into the gap: it ends where knowledge ends; failures after the gap open a new window.
  // Writes never failed, so there is no full outage.
  assert.deepEqual(windows(s), [
    ['read', 9500, 10_000],
    ['read', 12_000, 13_000],
  ]);
  const [a, b] = s.outages as [Outage, Outage];
  assert.equal(a.endsAtGap, true);
  assert.equal(b.startsAfterGap, true);
  assert.deepEqual(s.gaps, [
    { op: 'read', startMs: T0 + 10_000, endMs: T0 + 12_000, durationMs: 2000, missingProbes: 20 },
  ]);
  assert.equal(s.ops.read?.observedMs, 18_000);
  assert.equal(s.ops.read?.gapMs, 2000);
  assert.equal(s.downtimeMs.read, 1500);
  assert.equal(s.availability.read, 1 - 1500 / 18_000);
  // Full availability counts only time both ops were observed.
  assert.equal(s.availability.full, 1);
  assert.equal(s.ops.write?.observedMs, 20_000);
});

test('stalled probes are time not observed: no window of their own; bridged between failures; a window cut where a stall meets a success', () => {
  // 10 probes/s. Reads: up, stalled 2-3 s, up: no window. Writes: failing 5-6 s, stalled 6-7 s, failing
  // 7-8 s (one outage through the stall); failing 10-11 s, stalled 11-12 s, then up (ends where the stall
  // began); stalled 14-15 s, failing 15-16 s (starts after the stall).
  const s = run({
    durationMs: 20_000,
    rates: { read: 10, write: 10 },
    outages: [
      { op: 'read', fromMs: 2000, toMs: 3000, cls: 'stalled' },
      { op: 'write', fromMs: 5000, toMs: 6000, cls: 'refused' },
      { op: 'write', fromMs: 6000, toMs: 7000, cls: 'stalled' },
      { op: 'write', fromMs: 7000, toMs: 8000, cls: 'refused' },
      { op: 'write', fromMs: 10_000, toMs: 11_000, cls: 'timeout' },
      { op: 'write', fromMs: 11_000, toMs: 12_000, cls: 'stalled' },
      { op: 'write', fromMs: 14_000, toMs: 15_000, cls: 'stalled' },
      { op: 'write', fromMs: 15_000, toMs: 16_000, cls: 'reset' },
    ],
  });
  assert.deepEqual(windows(s), [
    ['write', 5000, 8000],
    ['write', 10_000, 11_000],
    ['write', 15_000, 16_000],
  ]);
  const [bridged, cut, after] = s.outages as [Outage, Outage, Outage];
  assert.equal(bridged.stalledProbes, 10);
  assert.deepEqual(bridged.errors, { refused: 20 });
  assert.equal(cut.endsAtGap, true);
  assert.equal(after.startsAfterGap, true);
  assert.deepEqual(
    s.stalls.map((g) => [g.op, g.startMs - T0, g.endMs - T0, g.probes]),
    [
      ['read', 2000, 3000, 10],
      ['write', 11_000, 12_000, 10],
      ['write', 14_000, 15_000, 10],
    ],
  );
  assert.equal(s.ops.read?.stalled, 10);
  assert.equal(s.ops.read?.observedMs, 19_000);
  assert.equal(s.ops.read?.failed, 0, 'stalled is not a failure');
  assert.equal(s.availability.read, 1);
  assert.equal(s.ops.write?.observedMs, 18_000, 'stalls outside windows are not observed');
});

test('a window ends when an answer came back (not at the answering probe intended time); gross from the last answer before to the first after', () => {
  // 10 probes/s. Reads refused 2.0–3.0 s; the reads intended 3.0–3.6 s waited in the server's listen queue and
  // were all answered at 3.7 s: the outage ends at 3.7 s, when the first answer came. The last read before
  // (1.9 s) was answered after 80 ms. Writes: failing 5.0–5.5 s; the write intended at 5.5 s is answered at
  // 5.75 s, but the one at 5.6 s failed before that answer came: the same outage, which ends at the earliest
  // answer after (5.7 s + 1 ms). Failing again from 8.0 s, after that answer: a second outage.
  const latencyUs = (op: string, offMs: number): number => {
    if (op === 'read' && offMs >= 3000 && offMs < 3700) return (3700 - offMs) * 1000;
    if (op === 'read' && offMs === 1900) return 80_000;
    if (op === 'write' && offMs === 5500) return 250_000;
    return 1000;
  };
  const s = run({
    durationMs: 10_000,
    rates: { read: 10, write: 10 },
    outages: [
      { op: 'read', fromMs: 2000, toMs: 3000, cls: 'refused' },
      { op: 'write', fromMs: 5000, toMs: 5500, cls: 'timeout' },
      { op: 'write', fromMs: 5600, toMs: 5700, cls: 'refused' },
      { op: 'write', fromMs: 8000, toMs: 8200, cls: 'refused' },
    ],
    latencyUs,
    edges: true,
  });
  assert.deepEqual(windows(s), [
    ['read', 2000, 3700],
    ['write', 5000, 5701],
    ['write', 8000, 8201],
  ]);
  const [read, w1] = s.outages as [Outage, Outage];
  assert.deepEqual([read.grossStartMs - T0, read.grossEndMs - T0], [1980, 3700]);
  assert.deepEqual([w1.grossStartMs - T0, w1.grossEndMs - T0], [4901, 5701]);
  assert.deepEqual(w1.errors, { refused: 1, timeout: 5 });
  assert.equal(s.downtimeMs.read, 1700);
  assert.equal(s.grossDowntimeMs.read, 1720);
  assert.equal(s.grossDowntimeMs.write, 5701 - 4901 + (8201 - 7901));
  assert.equal(s.grossDowntimeMs.full, 0, 'reads and writes were never both without an answer');
});

test("a stuck pool's scout ends the window where the database answered; the rest is the pool's recovery", () => {
  // Reads every 100 ms time out from 2.0 s to 4.0 s; the pool's first answer comes at 4.0 s + 1 ms. A scout
  // beside it was answered at 3.05 s (the blackhole lifted at 3.0 s): the window ends there.
  const reach = (op: string, atOff: number) => ({
    atMs: T0 + atOff,
    kind: 'note' as const,
    name: 'pool-reach',
    detail: { op, worker: 0, startedMs: T0 + atOff - 3 },
  });
  const spec = (events: ReturnType<typeof reach>[]): SyntheticSpec => ({
    durationMs: 10_000,
    rates: { read: 10, write: 10 },
    outages: [
      { op: 'read', fromMs: 2000, toMs: 4000, cls: 'timeout' },
      // Writes: refused by the server after the scout's answer (read-only, say): not back for writes.
      { op: 'write', fromMs: 2000, toMs: 3500, cls: 'timeout' },
      { op: 'write', fromMs: 3500, toMs: 4000, cls: 'ER_OPTION_PREVENTS_STATEMENT' },
    ],
    latencyUs: () => 1000,
    edges: true,
    events,
  });
  const before = run(spec([]));
  assert.deepEqual(windows(before), [
    ['read', 2000, 4001],
    ['write', 2000, 4001],
    ['full', 2000, 4001],
  ]);
  const s = run(spec([reach('read', 1500), reach('read', 3050), reach('write', 3050), reach('read', 5000)]));
  // Read: the scout at 1.5 s came before the window and the one at 5.0 s after it; 3.05 s ends it. Write: the
  // server refused writes after 3.05 s, so the window keeps its end.
  assert.deepEqual(windows(s), [
    ['read', 2000, 3050],
    ['write', 2000, 4001],
    ['full', 2000, 3050],
  ]);
  const [read, write, full] = s.outages as [Outage, Outage, Outage];
  assert.equal(read.poolRecoveryMs, 951);
  assert.equal(read.grossEndMs - T0, 3050);
  assert.deepEqual(read.errors, { timeout: 20 }, 'the probes that waited for the pool are still its errors');
  assert.equal(write.poolRecoveryMs, 0);
  assert.equal(full.poolRecoveryMs, null);
  assert.equal(s.downtimeMs.read, 1050);
  assert.equal(s.downtimeMs.full, 1050);
});

test("a window's edgeLagMs is the harness's send lag in the seconds of its edges", () => {
  // Send lag 1 ms everywhere but 80 ms in second 7 (the second before the end's) and 300 ms in second 12.
  const s = run({
    durationMs: 15_000,
    rates: { read: 10 },
    outages: [
      { op: 'read', fromMs: 2000, toMs: 3000, cls: 'refused' },
      { op: 'read', fromMs: 5000, toMs: 8000, cls: 'refused' },
    ],
    sendLagUs: (_op, sec) => ({ p99: 1000, max: sec === 7 ? 80_000 : sec === 12 ? 300_000 : 1000 }),
  });
  const lags = s.outages.map((o) => [o.op, o.edgeLagMs]);
  assert.deepEqual(lags, [
    ['read', 1],
    ['full', null],
    ['read', 80],
    ['full', null],
  ]);
  const older = run({
    durationMs: 5000,
    rates: { read: 10 },
    outages: [{ op: 'read', fromMs: 2000, toMs: 3000, cls: 'refused' }],
  });
  assert.equal(older.outages[0]?.edgeLagMs, null, 'files without send lag say nothing');
});

test('a crashed run (no trailer, truncated last line) ends where the file ends', () => {
  const text = syntheticResults({
    durationMs: 10_000,
    rates: { read: 10 },
    outages: [{ op: 'read', fromMs: 6000, toMs: 10_000, cls: 'lost-connection' }],
    gaps: [{ op: 'read', fromSec: 8, toSec: 10 }],
    complete: false,
  });
  const r = parseResults(text + '{"type":"second","op":"re', 'crash.ndjson');
  const s = analyze(r);
  assert.equal(s.complete, false);
  assert.equal(s.truncated, true);
  assert.equal(s.reason, null);
  assert.deepEqual(windows(s), [
    ['read', 6000, 8000],
    ['full', 6000, 8000],
  ]);
  assert.equal((s.outages[0] as Outage).open, true);
  assert.equal(s.durationMs, 8000);
});

test('missing final seconds with a trailer that says more were due are a gap', () => {
  const text = syntheticResults({ durationMs: 5000, rates: { read: 10 } });
  const lines = text.trimEnd().split('\n');
  // Drop the last read second but keep the trailer (due 50): seqs 40…49 are missing.
  const cut = lines.filter((l) => !l.includes(`"sec":${T0 / 1000 + 4}`));
  const s = analyze(parseResults(cut.join('\n') + '\n'));
  assert.deepEqual(
    s.gaps.map((g) => [g.startMs - T0, g.endMs - T0, g.missingProbes]),
    [[4000, 5000, 10]],
  );
  assert.equal(s.ops.read?.observedMs, 4000);
});

test('nines, over the run and "if this happened once a month" (30.44 days)', () => {
  assert.equal(MONTH_MS, 2_630_016_000);
  // 4.38 min = 262.8 s of read downtime → 99.99 % a month; 26.3 s of write downtime → 99.999 %.
  const s = run({
    durationMs: 300_000,
    rates: { read: 10, write: 10 },
    outages: [
      { op: 'read', fromMs: 10_000, toMs: 272_800, cls: 'refused' },
      { op: 'write', fromMs: 10_000, toMs: 36_300, cls: 'refused' },
    ],
  });
  assert.equal(s.downtimeMs.read, 262_800);
  assert.equal(s.downtimeMs.write, 26_300);
  assert.equal(s.downtimeMs.full, 26_300);
  const m = s.oncePerMonth;
  assert.equal(m.read.availability, 1 - 262_800 / 2_630_016_000);
  assert.equal(m.read.nines, -Math.log10(262_800 / 2_630_016_000));
  assert.equal(Math.floor((m.read.availability ?? 0) * 1e4) / 1e2, 99.99);
  assert.equal(Math.floor((m.write.availability ?? 0) * 1e5) / 1e3, 99.999);
  assert.ok(Math.abs((m.read.nines ?? 0) - 4.000333) < 1e-6);
  assert.ok(Math.abs((m.write.nines ?? 0) - 5.0000026) < 1e-6);
  // Over the run itself: 262.8 s of 300 s.
  assert.equal(s.availability.read, 1 - 262_800 / 300_000);
});

test('no downtime: availability 1, nines null (infinite), no windows', () => {
  const s = run({ durationMs: 3000, rates: { read: 10, write: 10 } });
  assert.deepEqual(s.outages, []);
  assert.deepEqual(s.downtimeMs, { read: 0, write: 0, full: 0 });
  assert.equal(s.availability.read, 1);
  assert.equal(s.nines.full, null);
  assert.equal(s.oncePerMonth.full.nines, null);
  assert.equal(s.disruption, null);
});

test('latency percentiles come from the merged HDR histograms, overall and per second', () => {
  // Latency = 1 ms for seqs 0…98, 250 ms for seq 99 (one slow probe in second 9).
  const a = analyzeDetailed(
    parseResults(
      syntheticResults({
        durationMs: 10_000,
        rates: { read: 10 },
        latencyUs: (_op, _off, seq) => (seq === 99 ? 250_000 : 1000),
      }),
    ),
  );
  const l = a.summary.ops.read?.latencyMs;
  assert.ok(l);
  assert.equal(l.count, 100);
  assert.ok(Math.abs(l.p50 - 1) < 0.002, `p50 ${l.p50}`);
  assert.ok(Math.abs(l.p99 - 1) < 0.002, `p99 ${l.p99}`);
  assert.ok(Math.abs(l.max - 250) < 0.25, `max ${l.max}`);
  assert.equal(a.series.read.length, 10);
  const s9 = a.series.read[9]?.latencyMs;
  assert.ok(s9 && Math.abs(s9.max - 250) < 0.25);
  assert.ok(Math.abs((a.series.read[0]?.latencyMs?.max ?? 0) - 1) < 0.002);
  // Where it was slow: second 9 (p99 of 10 probes there is the slow one), 9 s after the start.
  const w = a.summary.ops.read?.worstSecond;
  assert.ok(w);
  assert.equal(w.sec, T0 / 1000 + 9);
  assert.equal(w.offsetMs, 9000);
  assert.ok(Math.abs(w.p99Ms - 250) < 0.25 && Math.abs(w.maxMs - 250) < 0.25, JSON.stringify(w));
});

test('a second with no successes has no latency; failures and classes are per second', () => {
  const a = analyzeDetailed(
    parseResults(
      syntheticResults({
        durationMs: 3000,
        rates: { write: 4 },
        outages: [{ op: 'write', fromMs: 1000, toMs: 2000, cls: 'too-many-connections' }],
      }),
    ),
  );
  const s1 = a.series.write[1];
  assert.equal(s1?.latencyMs, null);
  assert.equal(s1?.failed, 4);
  assert.deepEqual(s1?.failedByClass, { 'too-many-connections': 4 });
  assert.deepEqual(a.classes, ['too-many-connections']);
});

test('events kept for the report: actions, phases, faults and identity changes', () => {
  const s = run({
    durationMs: 3000,
    rates: { read: 10 },
    events: [
      { atMs: T0 + 500, kind: 'action', name: 'restart', detail: { phase: 'start' } },
      { atMs: T0 + 600, kind: 'output', name: 'noise' },
      { atMs: T0 + 1500, kind: 'phase', name: 'SWITCHOVER_IN_PROGRESS' },
    ],
  });
  assert.deepEqual(s.events, [
    { atMs: T0 + 500, kind: 'action', name: 'restart', phase: 'start' },
    { atMs: T0 + 1500, kind: 'phase', name: 'SWITCHOVER_IN_PROGRESS' },
  ]);
});

test('write verification is carried through', () => {
  const s = run({
    durationMs: 2000,
    rates: { write: 10 },
    writes: {
      acknowledged: 20,
      lost: 2,
      lostSeconds: [T0 / 1000 + 1],
      inDoubtCommitted: 1,
      inDoubtAbsent: 0,
      checkedAt: 'mysql://app@db.test/probe',
    },
  });
  assert.equal(s.writes?.lost, 2);
  assert.equal(s.writes?.inDoubtCommitted, 1);
  assert.deepEqual(s.writes?.lostSeconds, [T0 / 1000 + 1]);
});

test('a file with a header only: nothing observed, so no availability at all (not 100 %)', () => {
  const text = syntheticResults({ durationMs: 5000, rates: { read: 10, write: 10 }, complete: false });
  const s = analyze(parseResults(text.split('\n')[0] + '\n'));
  assert.deepEqual(s.outages, []);
  assert.equal(s.availability.read, null);
  assert.equal(s.oncePerMonth.read.availability, null);
  assert.equal(s.oncePerMonth.full.availability, null);
  assert.equal(s.durationMs, 0);
  assert.equal(s.complete, false);
});

test('full outage = intersection, several pieces when reads and writes flap out of step', () => {
  const s = run({
    durationMs: 6000,
    rates: { read: 10, write: 10 },
    outages: [
      { op: 'read', fromMs: 1000, toMs: 2000, cls: 'refused' },
      { op: 'read', fromMs: 3000, toMs: 4000, cls: 'refused' },
      { op: 'write', fromMs: 1500, toMs: 3500, cls: 'read-only' },
    ],
  });
  assert.deepEqual(
    windows(s).filter((w) => w[0] === 'full'),
    [
      ['full', 1500, 2000],
      ['full', 3000, 3500],
    ],
  );
  assert.equal(s.downtimeMs.full, 1000);
  assert.deepEqual(s.outages.find((o) => o.op === 'full')?.errors, { 'read-only': 5, refused: 5 });
  // Disruption: first failure of any op to the end of the last window of any op.
  assert.deepEqual(s.disruption, { startMs: T0 + 1000, endMs: T0 + 4000, durationMs: 3000 });
});

test('a full window cut by a gap in one op carries the flags of that side', () => {
  const s = run(
    {
      durationMs: 10_000,
      rates: { read: 10, write: 10 },
      outages: [{ op: 'both', fromMs: 2000, toMs: 6000, cls: 'refused' }],
      gaps: [{ op: 'write', fromSec: 4, toSec: 5 }],
    },
    false,
  );
  assert.deepEqual(windows(s), [
    ['read', 2000, 6000],
    ['write', 2000, 4000],
    ['full', 2000, 4000],
    ['write', 5000, 6000],
    ['full', 5000, 6000],
  ]);
  const fulls = s.outages.filter((o) => o.op === 'full');
  assert.deepEqual(
    fulls.map((o) => [o.endsAtGap, o.startsAfterGap]),
    [
      [true, false],
      [false, true],
    ],
  );
  // Full availability is over the time both ops were observed: 9 s.
  assert.equal(s.availability.full, 1 - 3000 / 9000);
});

test("the fast histogram merge gives exactly what the library's add() gives", () => {
  // Deterministic pseudo-random latencies over a wide range (µs to minutes), as decoded per-second histograms.
  let x = 12345;
  const rnd = (): number => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const seconds = Array.from({ length: 40 }, (_, i) => {
    const h = newHistogram();
    const n = i % 5 === 0 ? 0 : 50 + Math.floor(rnd() * 500);
    for (let k = 0; k < n; k++) recordUs(h, Math.exp(rnd() * (i % 3 === 0 ? 18 : 9)));
    return decodeHistogram(encodeHistogram(h));
  });
  const viaLibrary = newHistogram();
  const viaFast = newHistogram();
  for (const h of seconds) {
    viaLibrary.add(h);
    addHistogram(viaFast, h);
  }
  assert.ok(viaLibrary.totalCount > 1000);
  assert.equal(viaFast.totalCount, viaLibrary.totalCount);
  assert.equal(viaFast.maxValue, viaLibrary.maxValue);
  assert.equal(viaFast.minNonZeroValue, viaLibrary.minNonZeroValue);
  for (const p of [0, 1, 10, 50, 90, 99, 99.9, 99.99, 100]) {
    assert.equal(viaFast.getValueAtPercentile(p), viaLibrary.getValueAtPercentile(p), `p${p}`);
  }
  assert.equal(encodeHistogram(viaFast), encodeHistogram(viaLibrary));
});

test('degraded time: answers slower than the SLO count one probe interval each, apart from downtime', async () => {
  const { evaluateThresholds, parseThreshold } = await import('../src/analyze/thresholds.js');
  // Reads every 100 ms for 20 s; those intended in [5 s, 8 s) answer in 300 ms (30 probes), the one at 9 s in
  // exactly 200 ms (at the SLO, not above it). Writes every 200 ms, always fast. A refused read outage at 12 s.
  const spec: SyntheticSpec = {
    durationMs: 20_000,
    rates: { read: 10, write: 5 },
    latencyUs: (op, off) => (op === 'read' && off >= 5000 && off < 8000 ? 300_000 : off === 9000 ? 200_000 : 1500),
    outages: [{ op: 'read', fromMs: 12_000, toMs: 12_500, cls: 'refused' }],
    slowMs: 200,
  };
  const r = parseResults(syntheticResults(spec));
  const s = analyze(r);
  assert.equal(s.slowMs, 200);
  assert.equal(s.ops.read?.slowProbes, 30);
  assert.equal(s.degradedMs.read, 3000);
  assert.equal(s.degradedMs.write, 0);
  assert.equal(s.degradedMs.full, null);
  assert.equal(s.downtimeMs.read, 500, 'slow answers are not downtime');
  assert.equal(s.windows.read, 1);
  assert.ok(Math.abs((s.ops.read?.availabilityDegraded ?? 0) - (1 - 3500 / 20_000)) < 1e-9);
  // The per-second series: 10 slow in each of seconds 5, 6 and 7.
  const slow = analyzeDetailed(r).series.read.map((p) => p.slow);
  assert.deepEqual(slow.slice(4, 9), [0, 10, 10, 10, 0]);
  // Another SLO at report time (report --slow): above every answer, nothing is degraded; below 300 ms, 30 + 1.
  assert.equal(analyze(r, { slowMs: 500 }).degradedMs.read, 0);
  assert.equal(analyze(r, { slowMs: 100 }).ops.read?.slowProbes, 31);
  // Without an SLO: no figure, and a threshold on it says why rather than passing.
  const none = analyze(parseResults(syntheticResults({ ...spec, slowMs: undefined })));
  assert.equal(none.degradedMs.read, null);
  assert.equal(none.ops.read?.availabilityDegraded, null);
  const [unknown] = evaluateThresholds(none, [parseThreshold('read_degraded<1s')]);
  assert.equal(unknown?.ok, false);
  assert.match(unknown?.message ?? '', /no latency SLO/);
  const [fails, passes] = evaluateThresholds(s, [
    parseThreshold('read_degraded<2s'),
    parseThreshold('write_degraded==0'),
  ]);
  assert.deepEqual([fails?.ok, passes?.ok], [false, true]);
});

test('a run of 140,000 seconds (39 hours) analyzes: no spread of its seconds into one call (it overflowed the stack)', () => {
  const r = parseResults(
    syntheticResults({
      durationMs: 140_000_000,
      rates: { read: 1 },
      outages: [{ op: 'read', fromMs: 70_000_000, toMs: 70_005_000, cls: 'refused' }],
      sendLagUs: (_op, sec) => ({ p99: 100 + (sec % 7), max: 200 + (sec % 11) }),
    }),
    'long.ndjson',
  );
  const s = analyze(r);
  assert.deepEqual(windows(s), [
    ['read', 70_000_000, 70_005_000],
    ['full', 70_000_000, 70_005_000],
  ]);
  assert.equal(s.ops.read?.sendLagMs?.max, 0.21);
});
