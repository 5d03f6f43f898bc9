import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHistogram, encodeHistogram, mergeEncoded, newHistogram, recordUs } from '../src/results/histogram.js';

test('encode/decode round trip keeps counts and percentiles', () => {
  const h = newHistogram();
  for (let i = 1; i <= 1000; i++) recordUs(h, i * 100);
  const back = decodeHistogram(encodeHistogram(h));
  assert.equal(back.totalCount, 1000);
  assert.equal(back.getValueAtPercentile(50), h.getValueAtPercentile(50));
  assert.equal(back.getValueAtPercentile(100), h.getValueAtPercentile(100));
});

test('merging worker histograms equals recording everything in one', () => {
  const a = newHistogram();
  const b = newHistogram();
  const all = newHistogram();
  for (let i = 0; i < 500; i++) {
    const x = 200 + ((i * 7919) % 5000);
    const y = 50_000 + ((i * 104_729) % 900_000);
    recordUs(a, x);
    recordUs(b, y);
    recordUs(all, x);
    recordUs(all, y);
  }
  const merged = mergeEncoded([encodeHistogram(a), null, encodeHistogram(b)]);
  assert.equal(merged.totalCount, 1000);
  for (const p of [50, 90, 99, 99.9, 100])
    assert.equal(merged.getValueAtPercentile(p), all.getValueAtPercentile(p), `p${p}`);
});

test('values outside the trackable range are clamped, not lost', () => {
  const h = newHistogram();
  recordUs(h, 0);
  recordUs(h, -5);
  recordUs(h, 1e12);
  assert.equal(h.totalCount, 3);
});

test('countAbove: the latencies above an SLO, to the histogram resolution', async () => {
  const { countAbove } = await import('../src/results/histogram.js');
  const h = newHistogram();
  for (let ms = 1; ms <= 1000; ms++) recordUs(h, ms * 1000);
  assert.equal(countAbove(h, 200_000), 800);
  assert.equal(countAbove(h, 999_000), 1);
  assert.equal(countAbove(h, 1_000_000), 0);
  assert.equal(countAbove(h, 0), 1000);
  assert.equal(countAbove(newHistogram(), 5), 0);
});
