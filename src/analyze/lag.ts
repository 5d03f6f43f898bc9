import type { ResultsFile } from '../results/types.js';
import { addCounts, sortKeys } from './counts.js';
import type { ReplicationLag } from './types.js';

/** Replication lag on green over the run, from the `lag` lines; null when it was not measured. */
export function replicationLagOf(results: ResultsFile): ReplicationLag | null {
  const hb = results.header.heartbeat;
  const lag = results.lag ?? [];
  if (hb === undefined && lag.length === 0) return null;
  const out: ReplicationLag = {
    green: hb?.green ?? '',
    maxMs: null,
    maxAtMs: null,
    lastMs: null,
    samples: 0,
    selfWrittenFromMs: null,
    readErrors: {},
    writeErrors: {},
  };
  for (const l of lag) {
    out.samples += l.samples;
    if (l.maxMs !== null && (out.maxMs === null || l.maxMs > out.maxMs)) {
      out.maxMs = l.maxMs;
      out.maxAtMs = l.sec * 1000;
    }
    if (l.lastMs !== null) out.lastMs = l.lastMs;
    if (l.selfWritten > 0 && out.selfWrittenFromMs === null) out.selfWrittenFromMs = l.sec * 1000;
    addCounts(out.readErrors, l.readErrors);
    addCounts(out.writeErrors, l.writeErrors);
  }
  out.readErrors = sortKeys(out.readErrors);
  out.writeErrors = sortKeys(out.writeErrors);
  return out;
}
