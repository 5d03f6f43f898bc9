import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bisectRate } from '../bench/ceiling.js';

/** Runs the ceiling's bisection against a harness that sustains every rate up to `limit`; returns what it tried. */
function bisect(lo: number, hi: number | null, limit: number): { best: number; tried: number[] } {
  const tried: number[] = [];
  let best = lo;
  let missed = hi;
  for (let mid = bisectRate(best, missed); mid !== null; mid = bisectRate(best, missed)) {
    tried.push(mid);
    if (mid <= limit) best = mid;
    else missed = mid;
  }
  return { best, tried };
}

test('the ceiling is bisected between the rung sustained and the one missed, to 5 % of the rate', () => {
  // The ladder's rungs 11,900 (sustained) and 14,900 (missed); the harness holds up to 13,000.
  const r = bisect(11_900, 14_900, 13_000);
  assert.deepEqual(r.tried, [13_400, 12_700, 13_100]);
  assert.equal(r.best, 12_700); // 13,100 missed: within 5 % of 12,700
  // Every rate tried lies strictly between the bounds, and the bounds end within 5 %.
  const r2 = bisect(2_000, 2_500, 2_450);
  assert.deepEqual(r2.tried, [2_300, 2_400]);
  assert.equal(r2.best, 2_400);
});

test('nothing is bisected without both bounds, or once they are close', () => {
  assert.equal(bisectRate(0, 2_000), null); // the first rung missed: no lower bound
  assert.equal(bisectRate(18_600, null), null); // no rung missed up to sysbench's figure
  assert.equal(bisectRate(10_000, 10_500), null); // within 5 %
  assert.equal(bisectRate(1_000, 1_100), null); // within 100/s
  assert.equal(bisectRate(1_000, 1_300), 1_200); // (1,150 rounds to 1,200)
});
