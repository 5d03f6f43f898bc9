import assert from 'node:assert/strict';
import { OPS, type ResultsFile } from '../../src/results/types.js';

/** Checks what every results file must satisfy: per second and per op, due = ok + failed + dropped + stalled; runs cover seqs 0…n-1 exactly once. */
export function assertInvariants(r: ResultsFile): void {
  for (const op of OPS) {
    let nextSeq = 0;
    for (const s of r.seconds[op]) {
      const failed = Object.values(s.failed).reduce((a, b) => a + b, 0);
      assert.equal(
        s.ok + failed + s.dropped + (s.stalled ?? 0),
        s.due,
        `${op} ${s.sec}: due = ok + failed + dropped + stalled`,
      );
      const byOutcome = new Map<string, number>();
      for (const [first, count, outcome] of s.runs) {
        assert.equal(first, nextSeq, `${op} ${s.sec}: seqs contiguous, none counted twice`);
        nextSeq = first + count;
        byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + count);
      }
      assert.equal(byOutcome.get('ok') ?? 0, s.ok, `${op} ${s.sec}: runs agree with ok`);
      assert.equal(byOutcome.get('dropped') ?? 0, s.dropped, `${op} ${s.sec}: runs agree with dropped`);
      assert.equal(byOutcome.get('stalled') ?? 0, s.stalled ?? 0, `${op} ${s.sec}: runs agree with stalled`);
      for (const [cls, n] of Object.entries(s.failed))
        assert.equal(byOutcome.get(cls), n, `${op} ${s.sec}: runs agree with ${cls}`);
    }
    const t = r.trailer?.totals[op];
    if (t) {
      const secs = r.seconds[op];
      assert.equal(
        t.due,
        secs.reduce((a, s) => a + s.due, 0),
        `${op}: trailer due = sum of seconds`,
      );
      assert.equal(t.due, nextSeq, `${op}: trailer due = number of seqs`);
    }
  }
}
