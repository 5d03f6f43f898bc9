import { checkMergeInputs, mergeRecords, sourceIdOf, type MergeInput } from '../results/merge.js';
import type { ResultsHeader, ResultsLine } from '../results/types.js';
import { DEFAULT_SKEW_BOUND_MS, estimateSkews, skewWarning, type SkewEstimate } from './skew.js';

export type { MergeInput } from '../results/merge.js';
export { DEFAULT_SKEW_BOUND_MS } from './skew.js';

/**
 * `downtime merge` as a library function: several load hosts' runs of one scenario, combined into one results
 * file (the record merge, results/merge.ts), with each host's clock checked against the first's (skew.ts).
 * The skew estimate needs outage windows, which results/ must not compute: so the two meet here, above both.
 */
export interface MergeOptions {
  /** runId of the merged file. */
  runId: string;
  /** Merge files of different targets or labels anyway. */
  force?: boolean;
  /** Skew (ms) above which a warning is raised; the bound used is max(this, one probe interval). Default 50. */
  skewBoundMs?: number;
}

export interface MergeResult {
  lines: ResultsLine[];
  header: ResultsHeader;
  skews: SkewEstimate[];
  /** One line each, for stderr (also in the file as `warning` events). */
  warnings: string[];
}

export function mergeResults(inputs: readonly MergeInput[], opts: MergeOptions): MergeResult {
  // Bad inputs are refused before anything is estimated from them.
  checkMergeInputs(inputs, opts.force ?? false);
  const ids = inputs.map((x) => sourceIdOf(x.results.header));
  const skews = estimateSkews(
    inputs.map((x) => x.results),
    ids,
    opts.skewBoundMs ?? DEFAULT_SKEW_BOUND_MS,
  );
  const exceeded = skews.filter((s) => s.exceeded);
  const warnings = exceeded.map((s) => skewWarning(s, ids[0] ?? ''));
  const { lines, header } = mergeRecords(inputs, {
    runId: opts.runId,
    force: opts.force,
    clocks: skews,
    warnings: exceeded.map((s, i) => ({
      name: 'clock-skew',
      detail: {
        source: s.source,
        skewMs: s.skewMs,
        from: s.from,
        boundMs: s.boundMs,
        lagMs: s.lagMs,
        message: warnings[i],
      },
    })),
  });
  return { lines, header, skews, warnings };
}
