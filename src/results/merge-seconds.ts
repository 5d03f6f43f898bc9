import { mergeEncodedText } from './histogram.js';
import {
  DROPPED,
  OK,
  STALLED,
  identityKey,
  mergeOrder,
  type Op,
  type ResultsFile,
  type Run,
  type SchedulePart,
  type SecondRecord,
  type ServerSeen,
} from './types.js';

/**
 * The merged stream of one op (see merge.ts): every source's probes placed at their intended times and numbered
 * in intended-time order (`mergeOrder`), then grouped into second records by the epoch second of that time.
 */

/** Seqs a source covers for an op: the trailer's count when it ended cleanly (missing seconds are a gap), else up to its last record. */
export function seqCount(r: ResultsFile, op: Op): number {
  let next = 0;
  for (const s of r.seconds[op]) for (const [first, count] of s.runs) next = Math.max(next, first + count);
  return Math.max(next, r.trailer?.totals[op]?.due ?? 0);
}

/** The merged op's second records: probes in merged seq order, grouped by the epoch second of their intended time. */
export function mergeOp(op: Op, parts: SchedulePart[], sourceSeconds: SecondRecord[][]): SecondRecord[] {
  // Per part: outcome of each of its seqs (index into `outcomes`, -1 = missing from the file).
  const outcomes: string[] = [];
  const outcomeIndex = new Map<string, number>();
  const bySec = new Map<number, SecondRecord[]>();
  // Per part: when its edge answers came (source seq → µs after intended), for the merged stream's edges.
  const answered = parts.map(() => new Map<number, number>());
  const perPart = parts.map((p, i) => {
    const arr = new Int32Array(p.seqs).fill(-1);
    for (const s of sourceSeconds[i] ?? []) {
      for (const [seq, us] of s.edges ?? []) (answered[i] as Map<number, number>).set(seq, us);
      const list = bySec.get(s.sec);
      if (list) list.push(s);
      else bySec.set(s.sec, [s]);
      for (const [first, count, outcome] of s.runs) {
        let k = outcomeIndex.get(outcome);
        if (k === undefined) {
          k = outcomes.length;
          outcomes.push(outcome);
          outcomeIndex.set(outcome, k);
        }
        for (let j = first; j < first + count && j < p.seqs; j++) if (j >= 0) arr[j] = k;
      }
    }
    return arr;
  });
  const { times, part } = mergeOrder(parts);
  const nextOfPart = parts.map(() => 0);
  const out: SecondRecord[] = [];
  let cur: { sec: number; runs: Run[]; edges: [number, number][] } | null = null;
  const flush = (): void => {
    if (cur && cur.runs.length > 0) {
      const rec = secondOf(op, cur.sec, cur.runs, bySec.get(cur.sec) ?? []);
      if (cur.edges.length > 0) rec.edges = cur.edges;
      out.push(rec);
    }
    cur = null;
  };
  // The merged stream's edges: an answer next to a not-ok probe of any host. Its latency is known when the
  // answering host recorded it (it was an edge in that host's own stream too); otherwise the window ends at
  // that probe's intended time, as in files without edges.
  let prev: { seq: number; ok: boolean; us: number | undefined } | null = null;
  /** As the run's recorder: while an outage may be ending, the earliest answer since the last failure. */
  let recoveringUntil: number | null = null;
  for (let seq = 0; seq < times.length; seq++) {
    const p = part[seq] as number;
    const j = nextOfPart[p] as number;
    nextOfPart[p] = j + 1;
    const k = (perPart[p] as Int32Array)[j] as number;
    if (k < 0) continue; // missing from the source's file: a gap in the merged stream too
    const sec = Math.floor((times[seq] as number) / 1000);
    if (!cur || cur.sec !== sec) {
      flush();
      cur = { sec, runs: [], edges: [] };
    }
    const outcome = outcomes[k] as string;
    const ok = outcome === OK;
    const us = ok ? (answered[p] as Map<number, number>).get(j) : undefined;
    const atMs = times[seq] as number;
    if (prev === null || prev.seq !== seq - 1) recoveringUntil = null;
    if (prev !== null && prev.seq === seq - 1 && prev.ok !== ok) {
      if (ok && us !== undefined) cur.edges.push([seq, us]);
      else if (!ok && prev.us !== undefined) cur.edges.push([prev.seq, prev.us]);
      recoveringUntil = ok && us !== undefined ? atMs + us / 1000 : null;
    } else if (ok && recoveringUntil !== null && atMs < recoveringUntil) {
      if (us !== undefined) {
        cur.edges.push([seq, us]);
        recoveringUntil = Math.min(recoveringUntil, atMs + us / 1000);
      }
    } else if (ok) {
      recoveringUntil = null;
    }
    prev = { seq, ok, us };
    const last = cur.runs[cur.runs.length - 1];
    if (last && last[2] === outcome && last[0] + last[1] === seq) last[1]++;
    else cur.runs.push([seq, 1, outcome]);
  }
  flush();
  return out;
}

/** Counts from the merged runs (so they agree exactly); histograms, servers and send lag from the sources' records of that second. */
function secondOf(op: Op, sec: number, runs: Run[], sources: SecondRecord[]): SecondRecord {
  let due = 0;
  let ok = 0;
  let dropped = 0;
  let stalled = 0;
  const failed: Record<string, number> = {};
  for (const [, count, outcome] of runs) {
    due += count;
    if (outcome === OK) ok += count;
    else if (outcome === DROPPED) dropped += count;
    else if (outcome === STALLED) stalled += count;
    else failed[outcome] = (failed[outcome] ?? 0) + count;
  }
  const servers = new Map<string, ServerSeen>();
  let sendLagUs: { p99: number; max: number } | undefined;
  for (const s of sources) {
    for (const seen of s.servers) {
      const key = identityKey(seen);
      const have = servers.get(key);
      if (have) have.count += seen.count;
      else servers.set(key, { ...seen });
    }
    if (s.sendLagUs) {
      // Per-host p99s cannot be merged exactly; the worst host's is the conservative figure.
      sendLagUs = {
        p99: Math.max(sendLagUs?.p99 ?? 0, s.sendLagUs.p99),
        max: Math.max(sendLagUs?.max ?? 0, s.sendLagUs.max),
      };
    }
  }
  const hist = mergeEncodedText(sources.map((s) => s.hist));
  const rec: SecondRecord = {
    type: 'second',
    op,
    sec,
    due,
    ok,
    failed,
    dropped,
    hist,
    runs,
    servers: [...servers.values()],
  };
  if (stalled > 0) rec.stalled = stalled;
  if (sendLagUs) rec.sendLagUs = sendLagUs;
  return rec;
}
