import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bisectRate, findCeiling } from '../bench/ceiling.js';

/** The ceiling search against a client that keeps up with every rate up to `limit`: its result and what it tried. */
async function search(limit: number, upTo = 50_000): Promise<{ best: number; tried: string[] }> {
  const tried: string[] = [];
  const best = await findCeiling(upTo, async (rate, bisecting) => {
    tried.push(`${rate}${bisecting ? '?' : ''}`);
    return Promise.resolve(rate <= limit);
  });
  return { best, tried };
}

test('the ceiling: rungs 25 % apart, then bisected between the last sustained and the first missed, to 5 %', async () => {
  const r = await search(13_000);
  assert.deepEqual(r.tried, [
    ...['2000', '2500', '3100', '3900', '4900', '6100', '7600', '9500', '11900', '14900'],
    ...['13400?', '12700?', '13100?'], // 13,100 missed: within 5 % of 12,700
  ]);
  assert.equal(r.best, 12_700);
  // A client at exactly a rung: the bisection only tries rates between it and the next.
  const exact = await search(2_500);
  assert.deepEqual(exact.tried, ['2000', '2500', '3100', '2800?', '2700?', '2600?']);
  assert.equal(exact.best, 2_500);
});

test('the ceiling: nothing sustained is 0; everything up to the limit is the highest rung', async () => {
  assert.deepEqual(await search(1_000), { best: 0, tried: ['2000'] });
  const all = await search(100_000, 3_000);
  assert.deepEqual(all, { best: 2_500, tried: ['2000', '2500'] }); // 3,100 is past the limit: never tried
});

test('nothing is bisected without both bounds, or once they are close', () => {
  assert.equal(bisectRate(0, 2_000), null); // the first rung missed: no lower bound
  assert.equal(bisectRate(18_600, null), null); // no rung missed up to the limit
  assert.equal(bisectRate(10_000, 10_500), null); // within 5 %
  assert.equal(bisectRate(1_000, 1_100), null); // within 100/s
  assert.equal(bisectRate(1_000, 1_300), 1_200); // (1,150 rounds to 1,200)
});
