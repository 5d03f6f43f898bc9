/**
 * Bytes a process allocates on V8's heap, counted by V8 itself: a child started with `--trace-gc-nvp` prints a
 * line per collection, per isolate (the main thread and each worker), with the bytes allocated since the one
 * before. The same work allocates the same bytes however busy the machine is, so this figure holds where CPU
 * time drifts from run to run (the probe path's garbage is also what its collections cost).
 */

/** A `--trace-gc-nvp` line: `[pid:0xisolate]   1234 ms: pause=… allocated=N …`. */
const NVP = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: .*?\ballocated=(\d+)/;

/**
 * Bytes allocated per second, summed over the isolates whose collections a trace holds, over each isolate's
 * steady part: from `skipFirstS` after its first collection to `skipLastS` before its last (each isolate's clock
 * starts with it). Between two collections inside that part, everything allocated after the first is counted
 * against the time between them. An isolate that did not collect twice inside its steady part allocated less than
 * its young generation (16 MB) there, and is left out; null when none did.
 */
export function allocatedPerSecond(trace: string, skipFirstS: number, skipLastS: number): number | null {
  const byIsolate = new Map<string, { atMs: number; bytes: number }[]>();
  for (const line of trace.split('\n')) {
    const m = NVP.exec(line);
    if (m === null) continue;
    const list = byIsolate.get(m[1] as string) ?? [];
    list.push({ atMs: Number(m[2]), bytes: Number(m[3]) });
    byIsolate.set(m[1] as string, list);
  }
  let perSecond = 0;
  let counted = false;
  for (const gcs of byIsolate.values()) {
    const first = (gcs[0] as { atMs: number }).atMs;
    const last = (gcs[gcs.length - 1] as { atMs: number }).atMs;
    const steady = gcs.filter((g) => g.atMs >= first + skipFirstS * 1000 && g.atMs <= last - skipLastS * 1000);
    if (steady.length < 2) continue;
    const spanMs = (steady[steady.length - 1] as { atMs: number }).atMs - (steady[0] as { atMs: number }).atMs;
    if (spanMs <= 0) continue;
    const bytes = steady.slice(1).reduce((a, g) => a + g.bytes, 0);
    perSecond += (bytes * 1000) / spanMs;
    counted = true;
  }
  return counted ? perSecond : null;
}
