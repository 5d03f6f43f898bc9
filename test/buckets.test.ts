import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bucket, OutcomeCodes } from '../src/load/buckets.js';

test('Bucket: outcomes settled in any order come out as runs in seq order, over the worker’s own seqs', () => {
  // Worker 1 of 2 owns the odd seqs; its second starts at seq 11. Capacity 2: the columns grow past it.
  const b = new Bucket(7, 2, 2, new OutcomeCodes());
  for (const seq of [11, 13, 15, 17, 19, 21]) b.issued(seq, seq * 10);
  b.settled(17, 'timeout', -1);
  b.settled(13, 'ok', 1300);
  b.settled(21, 'ok', 2100);
  b.settled(11, 'ok', 1100);
  b.settled(19, 'refused', -1);
  b.settled(15, 'timeout', -1);
  const w = b.toWire('read');
  assert.equal(w.sec, 7);
  assert.equal(w.due, 6);
  assert.deepEqual(w.runs, [
    [11, 2, 'ok'],
    [15, 2, 'timeout'],
    [19, 1, 'refused'],
    [21, 1, 'ok'],
  ]);
  assert.deepEqual(w.okAfterUs, [1100, 1300, 2100]);
  assert.equal(w.ok, 3);
  assert.deepEqual(w.failed, { timeout: 2, refused: 1 });
  assert.equal(w.dropped, 0);
  assert.equal(w.stalled, undefined);
  assert.deepEqual(w.sendLagUs, { p99: 210, max: 210 });
});

test('Bucket: a probe not settled is left out of the runs, and the run around it is split', () => {
  const b = new Bucket(0, 10, 1, new OutcomeCodes());
  for (let seq = 0; seq < 4; seq++) b.issued(seq, 0);
  b.settled(0, 'ok', 5);
  b.settled(1, 'ok', 6);
  b.settled(3, 'ok', 8);
  const w = b.toWire('write');
  assert.equal(w.ok, 3);
  assert.deepEqual(w.runs, [
    [0, 2, 'ok'],
    [3, 1, 'ok'],
  ]);
});

test('Bucket: a seq issued out of order, or settled without being issued, is an error, not a silent slot', () => {
  const b = new Bucket(0, 4, 2, new OutcomeCodes());
  b.issued(4, 0);
  assert.throws(() => b.issued(8, 0), /seq 8 issued out of order/);
  b.issued(6, 0);
  assert.throws(() => b.settled(8, 'ok', 1), /seq 8 was not issued/);
  assert.throws(() => b.settled(5, 'ok', 1), /seq 5 was not issued/);
  assert.throws(() => b.settled(2, 'ok', 1), /seq 2 was not issued/);
});

test('OutcomeCodes: one code per outcome, 0 kept for none', () => {
  const c = new OutcomeCodes();
  assert.equal(c.code('ok'), 1);
  assert.equal(c.code('timeout'), 2);
  assert.equal(c.code('ok'), 1);
  assert.deepEqual(c.names, ['', 'ok', 'timeout']);
});

test('Bucket: each outcome is counted once, where it belongs', () => {
  const b = new Bucket(0, 4, 1, new OutcomeCodes());
  for (let seq = 0; seq < 4; seq++) b.issued(seq, 0);
  b.settled(0, 'ok', 5);
  b.settled(1, 'stalled', -1);
  b.settled(2, 'dropped', -1);
  b.settled(3, 'timeout', -1);
  const w = b.toWire('read');
  assert.deepEqual([w.due, w.ok, w.stalled, w.dropped, w.failed], [4, 1, 1, 1, { timeout: 1 }]);
});
