import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHistogram, decodeHistogram, newHistogram, recordUs } from '../src/results/histogram.js';
import { Recorder, mergeBuckets } from '../src/load/recorder.js';
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
