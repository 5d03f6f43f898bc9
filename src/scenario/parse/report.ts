/** thresholds: (checked by the threshold parser given to parseScenario) and report:. */
import { REPORT_KEYS, THRESHOLD_PATTERN } from '../shape.js';
import { SCENARIO_DEFAULTS, type ParseScenarioOptions, type ReportSpec } from '../types.js';
import { close, describeValue, open, readBoolean, readString, type Problems } from './read.js';

const THRESHOLD_RE = new RegExp(THRESHOLD_PATTERN);

export function parseThresholds(p: Problems, v: unknown, options: ParseScenarioOptions): string[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add('thresholds', `must be a list such as [write_downtime<60s, lost_writes==0] (got ${describeValue(v)})`);
    return undefined;
  }
  const before = p.list.length;
  const out: string[] = [];
  v.forEach((item: unknown, i) => {
    const path = `thresholds[${i}]`;
    if (typeof item !== 'string') {
      p.add(path, `must be a string such as write_downtime<60s (got ${describeValue(item)})`);
      return;
    }
    if (!THRESHOLD_RE.test(item)) {
      p.add(
        path,
        `${describeValue(item)} is not <metric><op><value>; write e.g. write_downtime<60s (op: < <= > >= == !=)`,
      );
      return;
    }
    const text = item.trim();
    const error = options.validateThreshold?.(text);
    if (error !== undefined) {
      p.add(path, error);
      return;
    }
    out.push(text);
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
