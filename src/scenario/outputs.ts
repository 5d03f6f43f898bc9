import { SCENARIO_DEFAULTS } from './types.js';
import type { ParsedScenario } from './types.js';

/**
 * Where a run of the scenario writes: the results file and the report directory, with the defaults
 * filled. The default results file carries the start time, so running a scenario again does not collide
 * with the last run's file. Paths are as written (relative ones are relative to the current directory).
 */
export function scenarioOutputs(parsed: ParsedScenario, nowMs: number): { resultsPath: string; reportDir: string } {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const resultsPath = parsed.out ?? `${SCENARIO_DEFAULTS.outDir}/${parsed.name}-${stamp}.ndjson`;
  const reportDir =
    parsed.report.out ?? resultsPath.replace(/\.ndjson$/, '') + (resultsPath.endsWith('.ndjson') ? '' : '-report');
  return { resultsPath, reportDir };
}
