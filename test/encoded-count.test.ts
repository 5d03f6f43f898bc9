import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import {
  HIST_HIGHEST_US,
  decodeHistogram,
  encodeHistogram,
  encodedCount,
  newHistogram,
  recordUs,
} from '../src/results/histogram.js';

/** A small deterministic generator: the same histograms on every run. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

test('encodedCount reads the same number of latencies as a decoded histogram holds', () => {
  const rnd = lcg(7);
  const cases: string[] = [encodeHistogram(newHistogram())];
  for (let k = 0; k < 200; k++) {
    const h = newHistogram();
    const n = Math.floor(rnd() * 3000);
    for (let i = 0; i < n; i++) {
      // From 1 µs to the top of the range, most of them near a millisecond, as probes are.
      const us = rnd() < 0.97 ? 200 + rnd() * 5000 : rnd() * HIST_HIGHEST_US;
      recordUs(h, us);
    }
    // Big counts in one bucket take several bytes each.
    if (k % 10 === 0) h.recordValueWithCount(1500, 2 ** 33 + k);
    cases.push(encodeHistogram(h));
  }
  for (const e of cases) assert.equal(encodedCount(e), decodeHistogram(e).totalCount);
});

test('encodedCount refuses what is not an encoded histogram, as decoding does', () => {
  const good = encodeHistogram(((h) => (recordUs(h, 1234), h))(newHistogram()));
  const raw = Buffer.from(good, 'base64');
  const cookieOnly = Buffer.concat([raw.subarray(0, 4), Buffer.from([0, 0, 0, 3, 1, 2, 3])]).toString('base64');
  const notV2 = Buffer.from(raw);
  notV2.writeInt32BE(0x1c849314 ^ 0x100, 0);
  // Inflates, but into something too short to hold a histogram's header.
  const short = Buffer.concat([raw.subarray(0, 4), Buffer.alloc(4)]);
  const body = deflateSync(Buffer.from([0x1c, 0x84, 0x93, 0x13]));
  short.writeInt32BE(body.length, 4);
  const tooShort = Buffer.concat([short, body]).toString('base64');
  for (const bad of [
    'ok',
    '',
    'AAAA',
    good.slice(0, -8),
    'x' + good.slice(1),
    cookieOnly,
    notV2.toString('base64'),
    tooShort,
  ]) {
    assert.throws(() => encodedCount(bad), `${bad.slice(0, 40)} should be refused`);
    assert.throws(() => decodeHistogram(bad).totalCount, `decoding ${bad.slice(0, 40)} fails too`);
  }
});
