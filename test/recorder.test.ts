import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHistogram, decodeHistogram, newHistogram, recordUs } from '../src/results/histogram.js';
import { Recorder, mergeBuckets, newCarry } from '../src/load/recorder.js';
import type { WorkerBucket } from '../src/load/protocol.js';

function bucket(partial: Partial<WorkerBucket> & Pick<WorkerBucket, 'sec' | 'runs'>): WorkerBucket {
  return {
    op: 'read',
    due: 0,
    ok: 0,
    failed: {},
    dropped: 0,
    hist: null,
    servers: [],
    sendLagUs: { p99: 0, max: 0 },
    okAfterUs: [],
    ...partial,
  };
}

test('mergeBuckets interleaves worker runs into global runs and sums counts', () => {
  const h1 = newHistogram();
  recordUs(h1, 1000);
  recordUs(h1, 1500);
  const h2 = newHistogram();
  recordUs(h2, 3000);
  recordUs(h2, 5000);
  recordUs(h2, 7000);
  // Two workers: worker 0 owns even seqs, worker 1 odd. Seqs 0..9; 4..7 failed (refused), 8 dropped.
  const w0 = bucket({
    sec: 5,
    due: 5,
    ok: 2,
    failed: { refused: 2 },
    dropped: 1,
    hist: encodeHistogram(h1),
    runs: [
      [0, 2, 'ok'],
      [4, 2, 'refused'],
      [8, 1, 'dropped'],
    ],
  });
  const w1 = bucket({
    sec: 5,
    due: 5,
    ok: 3,
    failed: { refused: 2 },
    dropped: 0,
    hist: encodeHistogram(h2),
    runs: [
      [1, 2, 'ok'],
      [5, 2, 'refused'],
      [9, 1, 'ok'],
    ],
    servers: [{ serverId: 1, hostname: 'a', version: 'v', readOnly: false, count: 3 }],
  });
  const r = mergeBuckets('read', 5, [w0, w1], 2);
  assert.deepEqual(r.runs, [
    [0, 4, 'ok'],
    [4, 4, 'refused'],
    [8, 1, 'dropped'],
    [9, 1, 'ok'],
  ]);
  assert.equal(r.due, 10);
  assert.equal(
    r.ok + r.dropped + Object.values(r.failed).reduce((a, b) => a + b, 0),
    r.due,
    'due = ok + failed + dropped',
  );
  assert.deepEqual(r.failed, { refused: 4 });
  assert.equal(decodeHistogram(r.hist as string).totalCount, r.ok, 'one latency per success');
  assert.equal(r.ok, 5);
  assert.equal(r.servers[0]?.count, 3);
  assert.deepEqual(r.sendLagUs, { p99: 0, max: 0 });
});

test('a second is emitted only when every worker sealed it, in time order', () => {
  const rec = new Recorder(2, ['read']);
  assert.deepEqual(
    rec.add(0, [bucket({ sec: 1, due: 1, ok: 1, runs: [[0, 1, 'ok']] })], 1),
    [],
    'worker 1 has not sealed second 1',
  );
  const out = rec.add(
    1,
    [bucket({ sec: 1, due: 1, ok: 1, runs: [[1, 1, 'ok']] }), bucket({ sec: 2, due: 1, ok: 1, runs: [[3, 1, 'ok']] })],
    2,
  );
  assert.deepEqual(
    out.map((r) => r.sec),
    [1],
  );
  assert.deepEqual(out[0]?.runs, [[0, 2, 'ok']]);
  const rest = rec.add(0, [bucket({ sec: 2, due: 1, ok: 1, runs: [[2, 1, 'ok']] })], Number.MAX_SAFE_INTEGER);
  assert.deepEqual(
    rest.map((r) => [r.sec, r.due]),
    [[2, 2]],
  );
});

test('edges: the answers next to a not-ok probe, with when they came, across workers and seconds', () => {
  const carry = newCarry();
  // Two workers, 10 probes a second. Second 1: seqs 0-9, 4-6 refused; second 2: seqs 10-19, 19 timed out.
  const s1 = mergeBuckets(
    'read',
    1,
    [
      bucket({
        sec: 1,
        runs: [
          [0, 2, 'ok'],
          [4, 2, 'refused'],
          [8, 1, 'ok'],
        ],
        okAfterUs: [1000, 1100, 1800],
      }),
      bucket({
        sec: 1,
        runs: [
          [1, 2, 'ok'],
          [5, 1, 'refused'],
          [7, 2, 'ok'],
        ],
        okAfterUs: [1200, 1300, 2500, 1400, 1900],
      }),
    ],
    2,
    carry,
  );
  // seq 3 (worker 1, 1300 µs) is the last answer before seq 4; seq 7 (worker 1, 2500 µs) the first after 6.
  assert.deepEqual(s1.edges, [
    [3, 1300],
    [7, 2500],
  ]);
  const s2 = mergeBuckets(
    'read',
    2,
    [
      bucket({ sec: 2, runs: [[10, 5, 'ok']], okAfterUs: [1, 2, 3, 4, 5] }),
      bucket({
        sec: 2,
        runs: [
          [11, 4, 'ok'],
          [19, 1, 'timeout'],
        ],
        okAfterUs: [6, 7, 8, 9],
      }),
    ],
    2,
    carry,
  );
  assert.deepEqual(s2.edges, [[18, 5]], 'the last answer before the timeout');
  const s3 = mergeBuckets('read', 3, [bucket({ sec: 3, runs: [[20, 1, 'ok']], okAfterUs: [777] })], 1, carry);
  assert.deepEqual(s3.edges, [[20, 777]], 'the first answer after, in the next second');
  const s4 = mergeBuckets('read', 4, [bucket({ sec: 4, runs: [[25, 1, 'refused']], okAfterUs: [] })], 1, carry);
  assert.equal(s4.edges, undefined, 'no edge across missing seqs');
});

test('edges while an outage may be ending: every answer intended before the earliest one so far (it may have come first)', () => {
  // 10 probes a second from t0 = 0: seq k intended at 100·k ms. Seq 0 refused; seq 1 answered 700 ms late (it
  // waited in a listen queue); seqs 2-6 are intended before that answer came, so they are edges too, and seq 4's
  // answer (after 5 ms, at 405 ms) is the earliest: seqs 5 and later are intended after it and are not.
  const carry = newCarry({ ratePerSec: 10, t0Ms: 0 });
  const s = mergeBuckets(
    'read',
    0,
    [
      bucket({
        sec: 0,
        runs: [
          [0, 1, 'refused'],
          [1, 9, 'ok'],
        ],
        okAfterUs: [700_000, 600_000, 500_000, 5000, 5000, 5000, 5000, 5000, 5000],
      }),
    ],
    1,
    carry,
  );
  assert.deepEqual(s.edges, [
    [1, 700_000],
    [2, 600_000],
    [3, 500_000],
    [4, 5000],
  ]);
});
