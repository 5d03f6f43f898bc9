import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dueAtMs, dueNow, firstOwnedSeq, secondOf, totalDue, type OpPlan } from '../src/load/pacer.js';

const plan = (ratePerSec: number, t0Ms = 1000, endMs = 2000): OpPlan => ({ ratePerSec, t0Ms, endMs });

test('dueAtMs: probe i is due at t0 + i/rate, never drifting', () => {
  const rows: [rate: number, seq: number, expectedMs: number][] = [
    [100, 0, 1000], // the first probe is due at t0
    [100, 1, 1010], // 10 ms apart at 100/s
    [100, 100, 2000], // exactly one second later
    [3, 1, 1000 + 1000 / 3], // non-integer intervals are kept exact, not rounded
    [1000, 999_999, 1000 + 999_999], // far into a long run: no accumulated drift
    [0.5, 2, 5000], // slower than one per second
  ];
  for (const [rate, seq, expected] of rows) assert.equal(dueAtMs(plan(rate), seq), expected, `rate ${rate} seq ${seq}`);
});

test('totalDue counts the probes due in [t0, end)', () => {
  const rows: [plan: OpPlan, expected: number][] = [
    [plan(100, 1000, 2000), 100], // one second at 100/s
    [plan(100, 1000, 1000), 0], // zero-length run
    [plan(3, 0, 1000), 3], // 0, 333.3, 666.7
    [plan(3, 0, 1001), 4], // the 4th (1000 ms) is inside when end is exclusive and > 1000
    [plan(1000, 0, 10_000), 10_000],
    [plan(7, 0, 60_000), 420],
  ];
  for (const [p, expected] of rows) assert.equal(totalDue(p), expected, JSON.stringify(p));
});

test('firstOwnedSeq: worker w of N owns w, w+N, …', () => {
  const rows: [from: number, worker: number, workers: number, expected: number][] = [
    [0, 0, 1, 0], // a single worker owns everything
    [0, 1, 2, 1],
    [1, 1, 2, 1],
    [2, 1, 2, 3],
    [5, 0, 3, 6],
    [6, 2, 3, 8],
  ];
  for (const [from, w, n, expected] of rows) assert.equal(firstOwnedSeq(from, w, n), expected);
});

/** dueNow's answer with its seqs listed. */
function due(...args: Parameters<typeof dueNow>): { seqs: number[]; nextSeq: number; nextDueMs: number | null } {
  const d = dueNow(...args);
  const seqs = Array.from({ length: d.count }, (_, i) => d.firstSeq + i * args[3]);
  return { seqs, nextSeq: d.nextSeq, nextDueMs: d.nextDueMs };
}

test('dueNow issues every due probe at once when late (open model), and none early', () => {
  const p = plan(100, 1000, 2000);
  // On time: at t=1000 only seq 0 is due, next at 1010.
  assert.deepEqual(due(p, 0, 0, 1, 1000), { seqs: [0], nextSeq: 1, nextDueMs: 1010 });
  // Just before due: nothing is sent early.
  assert.deepEqual(due(p, 0, 0, 1, 999.9), { seqs: [], nextSeq: 0, nextDueMs: 1000 });
  // 35 ms late (a stalled event loop): the 4 probes due by then go out now; they are not skipped or queued.
  assert.deepEqual(due(p, 0, 0, 1, 1035), { seqs: [0, 1, 2, 3], nextSeq: 4, nextDueMs: 1040 });
  // Two workers split the sequence.
  assert.deepEqual(due(p, 0, 1, 2, 1035), { seqs: [1, 3], nextSeq: 5, nextDueMs: 1050 });
  // Past the end: finished.
  assert.deepEqual(due(p, 98, 0, 1, 5000), { seqs: [98, 99], nextSeq: 100, nextDueMs: null });
  // Stopped early (Ctrl-C at 1025): nothing due at or after the stop is issued.
  assert.deepEqual(due(p, 0, 0, 1, 5000, 1025), { seqs: [0, 1, 2], nextSeq: 3, nextDueMs: null });
});

test('workers together issue each seq exactly once', () => {
  const p = plan(250, 0, 4000);
  for (const workers of [1, 2, 3, 7]) {
    const seen = new Map<number, number>();
    for (let w = 0; w < workers; w++) {
      let next = 0;
      for (let now = 0; now <= 5000; now += 37) {
        const d = due(p, next, w, workers, now);
        next = d.nextSeq;
        for (const s of d.seqs) seen.set(s, (seen.get(s) ?? 0) + 1);
        if (d.nextDueMs === null) break;
      }
    }
    assert.equal(seen.size, totalDue(p), `workers=${workers}`);
    for (const [seq, n] of seen) assert.equal(n, 1, `seq ${seq} issued ${n} times with ${workers} workers`);
  }
});

test('secondOf buckets by intended time', () => {
  assert.equal(secondOf(1_700_000_000_999.9), 1_700_000_000);
  assert.equal(secondOf(1_700_000_001_000), 1_700_000_001);
});

test('lagSummary: p99 and max of send lags', async () => {
  const { lagSummary } = await import('../src/load/engine.js');
  assert.deepEqual(lagSummary([]), { p99: 0, max: 0 });
  assert.deepEqual(lagSummary([...Array(100).keys()].map((i) => i + 1)), { p99: 99, max: 100 });
  assert.deepEqual(lagSummary([5.4]), { p99: 5, max: 5 });
});
