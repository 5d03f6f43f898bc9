import { basename, dirname, extname, join } from 'node:path';
import { utcStamp } from '../util/time.js';
import { SCENARIO_DEFAULTS } from './types.js';
import type { ParsedScenario } from './types.js';

/**
 * Where a run of the scenario writes: the results file and the report directory, with the defaults
 * filled. The default results file carries the start time, so running a scenario again does not collide
 * with the last run's file. Paths are as written (relative ones are relative to the current directory).
 */
export function scenarioOutputs(parsed: ParsedScenario, nowMs: number): { resultsPath: string; reportDir: string } {
  const resultsPath = parsed.out ?? `${SCENARIO_DEFAULTS.outDir}/${parsed.name}-${utcStamp(nowMs)}.ndjson`;
  return { resultsPath, reportDir: parsed.report.out ?? reportDirFor(resultsPath) };
}

/**
 * The default report folder of a results file, for `run` and `report` alike: next to it, named after it
 * without its extension (`reports/x.ndjson` → `reports/x`, `a.json` → `a`); a file without an extension
 * gets `-report` added, so the folder is never the file itself.
 */
export function reportDirFor(resultsPath: string): string {
  const ext = extname(resultsPath);
  const name = basename(resultsPath, ext === '' ? undefined : ext);
  return join(dirname(resultsPath), ext === '' ? `${name}-report` : name);
}
