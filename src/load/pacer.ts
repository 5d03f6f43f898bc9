/**
 * The open-model pacer, as pure functions (Vegeta's pacer, k6's constant-arrival-rate):
 * probe `seq` of an op is due at `t0 + seq / rate`, whether or not earlier probes finished,
 * so a hung server cannot slow the probes down and hide its own outage.
 *
 * With N workers, worker w owns the seqs w, w+N, w+2N, … of each op: together they issue the
 * exact global sequence, and each seq has one owner, so nothing is double-counted.
 */

export interface OpPlan {
  /** Probes per second, for the whole run (all workers). */
  ratePerSec: number;
  /** Intended time of seq 0 (epoch ms). */
  t0Ms: number;
  /** Probes are due only before this time (epoch ms). */
  endMs: number;
}

/** Intended time (epoch ms) of a global seq. */
export function dueAtMs(plan: OpPlan, seq: number): number {
  return plan.t0Ms + (seq * 1000) / plan.ratePerSec;
}

/** Number of probes due in [t0, endMs): the seqs 0 … total-1. */
export function totalDue(plan: OpPlan): number {
  if (plan.endMs <= plan.t0Ms) return 0;
  // The smallest n with dueAt(n) >= endMs; computed exactly, then nudged for float error.
  let n = Math.ceil(((plan.endMs - plan.t0Ms) * plan.ratePerSec) / 1000);
  while (n > 0 && dueAtMs(plan, n - 1) >= plan.endMs) n--;
  while (dueAtMs(plan, n) < plan.endMs) n++;
  return n;
}

/** The first seq owned by `worker` at or after `fromSeq`. */
export function firstOwnedSeq(fromSeq: number, worker: number, workers: number): number {
  const r = (((fromSeq - worker) % workers) + workers) % workers;
  return r === 0 ? fromSeq : fromSeq + (workers - r);
}

/**
 * Which of a worker's seqs are due at `nowMs`, starting from `nextSeq` (the worker's next unissued seq): the
 * `count` seqs firstSeq, firstSeq + workers, … go now, and the next one is due at nextDueMs (null: the op is
 * finished). A worker's due seqs are evenly spaced, so no list of them is made (this runs for every wakeup).
 */
export function dueNow(
  plan: OpPlan,
  nextSeq: number,
  worker: number,
  workers: number,
  nowMs: number,
  stopAtMs = Infinity,
): { firstSeq: number; count: number; nextSeq: number; nextDueMs: number | null } {
  const firstSeq = firstOwnedSeq(nextSeq, worker, workers);
  const limitMs = Math.min(plan.endMs, stopAtMs);
  let count = 0;
  for (let seq = firstSeq; ; seq += workers) {
    const due = dueAtMs(plan, seq);
    if (due >= limitMs) return { firstSeq, count, nextSeq: seq, nextDueMs: null };
    if (due > nowMs) return { firstSeq, count, nextSeq: seq, nextDueMs: due };
    count++;
  }
}

/** Epoch second a probe belongs to (by intended time). */
export function secondOf(intendedMs: number): number {
  return Math.floor(intendedMs / 1000);
}
