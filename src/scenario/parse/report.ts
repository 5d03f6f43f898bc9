/** thresholds: (checked by the threshold parser given to parseScenario) and report:. */
import { checkThreshold, describeValue } from '../rules.js';
import { REPORT_KEYS } from '../shape.js';
import { SCENARIO_DEFAULTS, type ParseScenarioOptions, type ReportSpec } from '../types.js';
import { close, open, readBoolean, readString, type Problems } from './read.js';

export function parseThresholds(p: Problems, v: unknown, options: ParseScenarioOptions): string[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add('thresholds', `must be a list such as [write_downtime<60s, lost_writes==0] (got ${describeValue(v)})`);
    return undefined;
  }
  const before = p.list.length;
  const out: string[] = [];
  v.forEach((item: unknown, i) => {
    const r = checkThreshold(item, `thresholds[${i}]`, options.validateThreshold);
    if (r.ok) out.push(r.value);
    else for (const problem of r.problems) p.add('', problem);
  });
  return p.list.length > before ? undefined : out;
}

export function parseReport(p: Problems, v: unknown): ReportSpec | undefined {
  if (v === undefined) v = {};
  const o = open(p, v, 'report', REPORT_KEYS, 'a mapping with out: and enabled:');
  if (o === undefined) return undefined;
  const before = p.list.length;
  const out = readString(p, o, 'out');
  const enabled = readBoolean(p, o, 'enabled');
  close(p, o);
  if (p.list.length > before) return undefined;
  return { out, enabled: enabled ?? SCENARIO_DEFAULTS.reportEnabled };
}
