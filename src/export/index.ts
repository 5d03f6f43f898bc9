/**
 * `downtime export FILE --format openmetrics|influx`: a results file after the fact, for the tools a team already
 * has: OpenMetrics text with a timestamp on every sample (Prometheus: `promtool tsdb create-blocks-from
 * openmetrics`), or InfluxDB line protocol. One sample per op and second:
 *
 * - downtime_probes_total{run,op,outcome}: probes by outcome, cumulative from the start (influx: per second)
 * - downtime_probe_latency_seconds{run,op,quantile}: the second's p50, p99 and max of the successful probes
 * - downtime_outage{run,op}: 1 when the second overlaps one of the run's outage windows (as the report's)
 */
import { analyze, type Outage } from '../analyze/index.js';
import { decodeHistogram } from '../results/histogram.js';
import { DROPPED, OK, OPS, STALLED, type Op, type ResultsFile, type SecondRecord } from '../results/types.js';

export const EXPORT_FORMATS = ['openmetrics', 'influx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

interface Sample {
  op: Op;
  sec: number;
  counts: [string, number][];
  latency: { p50: number; p99: number; max: number } | null;
  down: boolean;
}

function outcomes(r: SecondRecord): [string, number][] {
  const list: [string, number][] = [[OK, r.ok]];
  for (const [cls, n] of Object.entries(r.failed)) list.push([cls, n]);
  list.push([DROPPED, r.dropped]);
  if (r.stalled !== undefined) list.push([STALLED, r.stalled]);
  return list;
}

function samples(file: ResultsFile): Sample[] {
  const outages = analyze(file).outages;
  const out: Sample[] = [];
  for (const op of OPS) {
    const windows = outages.filter((o) => o.op === op);
    for (const r of file.seconds[op]) {
      const h = typeof r.hist === 'string' && r.ok > 0 ? decodeHistogram(r.hist) : null;
      out.push({
        op,
        sec: r.sec,
        counts: outcomes(r),
        latency:
          h === null
            ? null
            : {
                p50: h.getValueAtPercentile(50) / 1e6,
                p99: h.getValueAtPercentile(99) / 1e6,
                max: h.maxValue / 1e6,
              },
        down: overlaps(windows, r.sec),
      });
    }
  }
  return out;
}

function overlaps(windows: Outage[], sec: number): boolean {
  const from = sec * 1000;
  return windows.some((w) => w.startMs < from + 1000 && w.endMs > from);
}

/** OpenMetrics label value: backslash, double quote and line feed escaped. */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The file as OpenMetrics text (ends with `# EOF`). */
export function toOpenMetrics(file: ResultsFile): string {
  const run = label(file.header.label);
  const all = samples(file);
  const lines: string[] = [];
  lines.push('# TYPE downtime_probes counter', '# HELP downtime_probes Probes by outcome (cumulative)');
  for (const op of OPS) {
    const totals = new Map<string, number>();
    const seen = new Set<string>();
    for (const s of all) if (s.op === op) for (const [o] of s.counts) seen.add(o);
    // Every series from the first second on (0 until its first probe), so each is one line of counts.
    for (const outcome of [...seen].sort()) {
      let total = 0;
      for (const s of all) {
        if (s.op !== op) continue;
        total += s.counts.find(([o]) => o === outcome)?.[1] ?? 0;
        lines.push(`downtime_probes_total{run="${run}",op="${op}",outcome="${label(outcome)}"} ${total} ${s.sec + 1}`);
      }
      totals.set(outcome, total);
    }
  }
  lines.push(
    '# TYPE downtime_probe_latency_seconds gauge',
    '# HELP downtime_probe_latency_seconds Latency of the successful probes of each second: p50, p99, max',
  );
  for (const op of OPS) {
    for (const [q, key] of [
      ['0.5', 'p50'],
      ['0.99', 'p99'],
      ['1', 'max'],
    ] as const) {
      for (const s of all) {
        if (s.op !== op || s.latency === null) continue;
        lines.push(
          `downtime_probe_latency_seconds{run="${run}",op="${op}",quantile="${q}"} ${s.latency[key]} ${s.sec + 1}`,
        );
      }
    }
  }
  lines.push(
    '# TYPE downtime_outage gauge',
    "# HELP downtime_outage 1 when the second overlaps one of the op's outage windows",
  );
  for (const op of OPS) {
    for (const s of all)
      if (s.op === op) lines.push(`downtime_outage{run="${run}",op="${op}"} ${s.down ? 1 : 0} ${s.sec + 1}`);
  }
  lines.push('# EOF');
  return lines.join('\n') + '\n';
}

/** Influx tag value: comma, equals sign and space escaped. */
function tag(v: string): string {
  return v.replace(/[,= ]/g, (c) => `\\${c}`);
}

/** The file as InfluxDB line protocol, nanosecond timestamps at the end of each second. */
export function toInflux(file: ResultsFile): string {
  const run = tag(file.header.label);
  const lines: string[] = [];
  for (const s of samples(file)) {
    const ts = `${s.sec + 1}000000000`;
    for (const [outcome, n] of s.counts) {
      lines.push(`downtime_probes,run=${run},op=${s.op},outcome=${tag(outcome)} count=${n}i ${ts}`);
    }
    if (s.latency !== null) {
      lines.push(
        `downtime_latency,run=${run},op=${s.op} p50=${s.latency.p50},p99=${s.latency.p99},max=${s.latency.max} ${ts}`,
      );
    }
    lines.push(`downtime_outage,run=${run},op=${s.op} down=${s.down ? 1 : 0}i ${ts}`);
  }
  return lines.join('\n') + '\n';
}
