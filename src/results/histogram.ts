import { inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';

/**
 * Latency histograms: HDR, microseconds, 3 significant digits. Workers encode theirs as compressed
 * base64 to cross the thread boundary (autocannon's histUtil); the main thread decodes and adds.
 * Only plain JS histograms are used: JS and WASM ones don't mix.
 */
export const HIST_LOWEST_US = 1;
export const HIST_HIGHEST_US = 3_600_000_000; // one hour
export const HIST_DIGITS = 3;

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: HIST_LOWEST_US,
    highestTrackableValue: HIST_HIGHEST_US,
    numberOfSignificantValueDigits: HIST_DIGITS,
    bitBucketSize: 32,
    useWebAssembly: false,
  });
}

/** Records a latency, clamped into the trackable range. */
export function recordUs(h: Histogram, latencyUs: number): void {
  const v = Math.min(HIST_HIGHEST_US, Math.max(HIST_LOWEST_US, Math.round(latencyUs)));
  h.recordValue(v);
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** The V2 encoding's cookies (the low nibble of the last byte aside) and the length of its header. */
const V2_COMPRESSED_COOKIE = 0x1c849304;
const V2_COOKIE = 0x1c849303;
const V2_HEADER_BYTES = 40;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * How many latencies an encoded histogram holds, read off its counts without building it: validating a file
 * decodes every second's histogram, and building one allocates its whole counts array (92 KB here), most of
 * the time a long run's report spent validating. Refuses what decodeHistogram refuses (not base64, not the
 * compressed V2 encoding, counts that do not inflate), and counts that end early, which it would read as zeros.
 */
export function encodedCount(encoded: string): number {
  const text = encoded.trim();
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new Error('not base64');
  const data = Buffer.from(text, 'base64');
  if (data.length < 8 || (data.readInt32BE(0) & ~0xf0) !== V2_COMPRESSED_COOKIE)
    throw new Error('Encoding not supported, only V2 is supported');
  const raw = inflateSync(data.subarray(8, 8 + data.readInt32BE(4)));
  if (raw.length < V2_HEADER_BYTES || (raw.readInt32BE(0) & ~0xf0) !== V2_COOKIE)
    throw new Error('The buffer does not contain a Histogram (no valid V2 encoding cookie found)');
  const end = V2_HEADER_BYTES + raw.readInt32BE(4);
  if (end > raw.length) throw new Error(`the counts end early (${raw.length} of ${end} bytes)`);
  let total = 0;
  let pos = V2_HEADER_BYTES;
  while (pos < end) {
    // LEB128, at most 9 bytes, then ZigZag; a negative value is a run of empty buckets.
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (pos >= raw.length) throw new Error('a count runs past the end of the counts');
      const b = raw[pos++] as number;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0 || i === 8) break;
    }
    if (value % 2 === 0) total += value / 2;
  }
  return total;
}

/** Merges encoded histograms into one (a new histogram; inputs untouched). */
export function mergeEncoded(encoded: Iterable<string | null>): Histogram {
  const merged = newHistogram();
  for (const e of encoded) if (e) merged.add(decodeHistogram(e));
  return merged;
}

/** Several seconds' or hosts' encoded histograms as one encoded histogram: none is null, a single one stays as it is. */
export function mergeEncodedText(encoded: readonly (string | null)[]): string | null {
  const hists = encoded.filter((h): h is string => h !== null);
  if (hists.length === 0) return null;
  return hists.length === 1 ? (hists[0] as string) : encodeHistogram(mergeEncoded(hists));
}

interface CountsAccess {
  countsArrayIndex(value: number): number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
}

/** Calls `each` with every recorded latency (µs, to the histogram's resolution) and how often it was recorded. */
export function forEachValue(h: Histogram, each: (us: number, count: number) => void): void {
  if (h.totalCount === 0) return;
  const c = h as unknown as CountsAccess;
  const to = c.countsArrayIndex(h.maxValue);
  for (let i = 0; i <= to; i++) {
    const n = c.getCountAtIndex(i);
    if (n > 0) each(c.valueFromIndex(i), n);
  }
}

/**
 * How many recorded latencies are above `us` (to the histogram's resolution: values equivalent to `us` count as
 * not above): successful probes slower than a latency SLO.
 */
export function countAbove(h: Histogram, us: number): number {
  if (h.totalCount === 0 || h.maxValue <= us) return 0;
  const c = h as unknown as CountsAccess;
  const from = c.countsArrayIndex(Math.max(HIST_LOWEST_US, Math.round(us))) + 1;
  const to = c.countsArrayIndex(h.maxValue);
  let n = 0;
  for (let i = from; i <= to; i++) n += c.getCountAtIndex(i);
  return n;
}
