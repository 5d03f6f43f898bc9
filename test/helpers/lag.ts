/**
 * The tests' own lateness, for fault-matrix assertions that must hold on a loaded, shared machine (#17, "the
 * suite under load"): an allowance beyond the documented bounds is granted only as far as a lag that was
 * measured explains it, and the failure message says which lag and how much.
 *
 * Two lags matter. The harness's send lag (recorded per second in the results file): a probe sent late meets a
 * fault its intended time did not. And this process's event loop, which also runs the in-process endpoint
 * proxy, the fault injection and the harness's main thread: a proxy that is slow to pipe a connection makes a
 * probe time out, and a fault's recorded start or end is late by as much.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Span } from '../../src/analyze/types.js';
import { decodeHistogram } from '../../src/results/histogram.js';
import { intendedMs, type Op, type ResultsFile } from '../../src/results/types.js';

/** Watches this process's event loop from now until stop(), which gives its largest delay (ms). */
export function watchLoop(): { stop: () => number } {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return {
    stop: () => {
      h.disable();
      // The histogram's floor is the resolution: a quiet loop reads ~10 ms.
      return Math.max(0, Math.round(h.max / 1e6) - 10);
    },
  };
}

/** The largest send lag (ms) the harness recorded for `op` in the seconds overlapping [fromMs, toMs]. */
export function sendLagBetween(file: ResultsFile, op: Op, fromMs: number, toMs: number): number {
  let maxUs = 0;
  for (const s of file.seconds[op]) {
    const startMs = s.sec * 1000;
    if (startMs + 1000 < fromMs || startMs > toMs) continue;
    maxUs = Math.max(maxUs, s.sendLagUs?.max ?? 0);
  }
  return Math.round(maxUs / 1000);
}

/**
 * How long after its intended time a probe reached the server before `beforeMs` (send lag, pool wait, connect):
 * the slowest successful probe of `op` in the whole seconds before it (ms). A probe that far in flight when a
 * fault begins meets it, so a window may begin up to this much before the fault.
 */
export function reachMs(file: ResultsFile, op: Op, beforeMs: number): number {
  let maxUs = 0;
  for (const s of file.seconds[op]) {
    // Whole seconds before the fault (the action timer may fire a fraction of a ms before its second ends).
    if (s.sec * 1000 + 500 > beforeMs || s.hist === null || s.hist === undefined) continue;
    maxUs = Math.max(maxUs, decodeHistogram(s.hist).getValueAtPercentile(100));
  }
  return Math.round(maxUs / 1000);
}

/**
 * The latency (ms) of the answer a window ended at (`edges`): 0 when the window did not end at one. A window
 * ends when that answer came back, so a loaded machine (a slow reconnect) moves the end later by as much.
 * Merged files: the merged stream's edges (a source's own series are in its own seq space).
 */
export function answerLatencyAt(file: ResultsFile, op: Op, endMs: number): number {
  const schedule = file.header.ops[op];
  if (schedule === undefined) return 0;
  for (const sec of file.seconds[op]) {
    if (sec.source !== undefined) continue;
    for (const [seq, us] of sec.edges ?? []) {
      if (Math.abs(intendedMs(schedule, seq) + us / 1000 - endMs) < 1e-3) return Math.ceil(us / 1000);
    }
  }
  return 0;
}

/**
 * A short window that ended as the server shut down (by `stoppedMs` + `noiseMs`), beside the outage: MariaDB ends
 * its connections one by one, so one probe may lose its connection while another is still answered, and the
 * database did answer in between. Both windows are right.
 */
export function isShutdownBlip(w: Span, stoppedMs: number, noiseMs: number): boolean {
  return w.endMs <= stoppedMs + noiseMs && w.durationMs < 100;
}
