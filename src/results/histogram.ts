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
