import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteLedger } from '../src/load/verify.js';
import type { SecondRecord } from '../src/results/types.js';

function rec(sec: number, runs: SecondRecord['runs']): SecondRecord {
  const due = runs.reduce((a, r) => a + r[1], 0);
  return { type: 'second', op: 'write', sec, due, ok: 0, failed: {}, dropped: 0, hist: null, runs, servers: [] };
}

test('the ledger classifies every write against what the server holds', () => {
  const ledger = new WriteLedger(4); // grows past its first guess
  ledger.add(
    rec(100, [
      [0, 5, 'ok'],
      [5, 3, 'timeout'],
    ]),
  );
  ledger.add(
    rec(101, [
      [8, 2, 'dropped'],
      [10, 4, 'read-only'],
      [14, 6, 'ok'],
    ]),
  );
  assert.equal(ledger.acknowledged, 11);
  // On the server: all acknowledged except 2 and 16; of the failed, 5 and 6 did commit.
  const present = [0, 1, 3, 4, 5, 6, 14, 15, 17, 18, 19];
  const r = ledger.compare(present, (seq) => (seq < 8 ? 100 : 101));
  assert.deepEqual(r, { acknowledged: 11, lost: 2, lostSeconds: [100, 101], inDoubtCommitted: 2, inDoubtAbsent: 5 });
});

test('nothing lost when everything acknowledged is present', () => {
  const ledger = new WriteLedger(10);
  ledger.add(rec(1, [[0, 10, 'ok']]));
  assert.deepEqual(
    ledger.compare([...Array(10).keys()], () => 1),
    {
      acknowledged: 10,
      lost: 0,
      lostSeconds: [],
      inDoubtCommitted: 0,
      inDoubtAbsent: 0,
    },
  );
});
