import { DowntimeError, ExitCode } from '../errors.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { Summary } from './types.js';

/**
 * Pass/fail thresholds on a summary, k6-style: `write_downtime<60s`, `lost_writes==0`, `read_availability>=99.9%`.
 * Durations take a unit (ms, s, m, h; a bare 0 is fine), availability a `%`, counts a whole number.
 */
type Comparator = '<' | '<=' | '>' | '>=' | '==' | '!=';
type Kind = 'duration' | 'percent' | 'count' | 'number';

export interface Threshold {
  /** As written, trimmed. */
  expr: string;
  metric: string;
  op: Comparator;
  /** In the metric's unit: ms for durations, a fraction (0…1) for availability, a plain number otherwise. */
  value: number;
}

export interface ThresholdResult extends Threshold {
  ok: boolean;
  /** The measured value, or null when it could not be measured (see `message`). */
  actual: number | null;
  /** One line: `write_downtime<60s: 12.3 s — ok`, or why it failed. */
  message: string;
}

/** Measured value, or a reason it is unknown. */
type Getter = (s: Summary) => number | { unknown: string };

interface Metric {
  kind: Kind;
  get: Getter;
  describe: string;
}

const unverified = (s: Summary): string =>
  s.writesUnverified !== null ? `write verification failed (${s.writesUnverified})` : 'writes were not verified';

const need = (v: number | null | undefined, why: string): number | { unknown: string } =>
  v === null || v === undefined ? { unknown: why } : v;

function opMetrics(): Record<string, Metric> {
  const out: Record<string, Metric> = {};
  for (const op of ['read', 'write'] as const) {
    const notProbed = `${op}s were not probed`;
    out[`${op}_downtime`] = {
      kind: 'duration',
      describe: `total ${op} outage time`,
      get: (s) => need(s.downtimeMs[op], notProbed),
    };
    out[`${op}_degraded`] = {
      kind: 'duration',
      describe: `${op} time answered but slower than the latency SLO (--slow)`,
      get: (s) =>
        s.ops[op] === undefined
          ? { unknown: notProbed }
          : need(s.degradedMs?.[op], 'no latency SLO was given (--slow, or load.slow in the scenario)'),
    };
    out[`${op}_gross_downtime`] = {
      kind: 'duration',
      describe: `time no ${op} was answered (last answer before each outage to the first after)`,
      get: (s) => need(s.grossDowntimeMs?.[op], notProbed),
    };
    out[`${op}_availability`] = {
      kind: 'percent',
      describe: `${op} availability over the run`,
      get: (s) => need(s.availability[op], notProbed),
    };
    out[`${op}_nines`] = {
      kind: 'number',
      describe: `${op} nines over the run`,
      get: (s) => (s.ops[op] ? (s.nines[op] ?? Infinity) : { unknown: notProbed }),
    };
    out[`${op}_windows`] = {
      kind: 'count',
      describe: `number of ${op} outage windows`,
      get: (s) => need(s.windows[op], notProbed),
    };
    out[`${op}_errors`] = {
      kind: 'count',
      describe: `${op} probes failed or dropped`,
      get: (s) => {
        const o = s.ops[op];
        return o ? o.failed + o.dropped : { unknown: notProbed };
      },
    };
    for (const p of ['p50', 'p90', 'p99', 'p999', 'max'] as const) {
      out[`${op}_${p}`] = {
        kind: 'duration',
        describe: `${op} latency ${p}`,
        get: (s) => {
          const o = s.ops[op];
          if (!o) return { unknown: notProbed };
          return need(o.latencyMs?.[p], `no ${op} succeeded`);
        },
      };
    }
  }
  return out;
}

const METRICS: Record<string, Metric> = {
  ...opMetrics(),
  full_downtime: {
    kind: 'duration',
    describe: 'time both reads and writes were down',
    get: (s) => need(s.downtimeMs.full, 'nothing was probed'),
  },
  full_gross_downtime: {
    kind: 'duration',
    describe: 'time neither reads nor writes were answered',
    get: (s) => need(s.grossDowntimeMs?.full, 'nothing was probed'),
  },
  full_availability: {
    kind: 'percent',
    describe: 'availability (both ops up)',
    get: (s) => need(s.availability.full, 'nothing was probed'),
  },
  full_nines: {
    kind: 'number',
    describe: 'full nines',
    get: (s) => s.nines.full ?? (s.availability.full === null ? { unknown: 'nothing was probed' } : Infinity),
  },
  full_windows: {
    kind: 'count',
    describe: 'number of full outage windows',
    get: (s) => need(s.windows.full, 'nothing was probed'),
  },
  disruption: {
    kind: 'duration',
    describe: 'first failure to end of last window',
    get: (s) => s.disruption?.durationMs ?? 0,
  },
  gaps: { kind: 'count', describe: 'stretches of missing seconds', get: (s) => s.gaps.length },
  lost_writes: {
    kind: 'count',
    describe: 'acknowledged writes missing afterwards',
    get: (s) => need(s.writes?.lost, unverified(s)),
  },
  in_doubt_writes: {
    kind: 'count',
    describe: 'writes that errored on the client but were committed',
    get: (s) => need(s.writes?.inDoubtCommitted, unverified(s)),
  },
};

export const THRESHOLD_METRICS: readonly string[] = Object.keys(METRICS).sort();

const SHAPE = /^([a-z][a-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(\S.*)$/;

/** Parses `metric op value`; throws a one-line DowntimeError (Usage) naming the problem and the metric names. */
export function parseThreshold(expr: string): Threshold {
  const r = tryParse(expr);
  if ('error' in r) throw new DowntimeError(r.error, ExitCode.Usage);
  return r;
}

/** The scenario parser's hook (src/scenario ThresholdValidator): an error message, or undefined when valid. */
export function validateThreshold(text: string): string | undefined {
  const r = tryParse(text);
  return 'error' in r ? r.error : undefined;
}

function tryParse(raw: string): Threshold | { error: string } {
  const expr = String(raw).trim();
  const m = SHAPE.exec(expr);
  if (!m) {
    return {
      error: `threshold "${expr}" is not "metric op value" (e.g. write_downtime<60s, lost_writes==0); operators < <= > >= == !=; metrics: ${THRESHOLD_METRICS.join(', ')}`,
    };
  }
  const [, metric = '', op = '', valueText = ''] = m;
  const def = Object.hasOwn(METRICS, metric) ? METRICS[metric] : undefined;
  if (!def) {
    return { error: `threshold "${expr}": unknown metric "${metric}"; metrics: ${THRESHOLD_METRICS.join(', ')}` };
  }
  const value = parseValue(def.kind, valueText.trim());
  if (typeof value === 'string') return { error: `threshold "${expr}": ${value}` };
  return { expr, metric, op: op as Comparator, value };
}

function parseValue(kind: Kind, text: string): number | string {
  switch (kind) {
    case 'duration': {
      if (/^0+(\.0+)?$/.test(text)) return 0;
      const d = parseDuration(text);
      return 'error' in d ? `the value ${d.error}` : d.ms;
    }
    case 'percent': {
      const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
      if (!m) return `"${text}" is not a percentage; write e.g. 99.9%`;
      const v = Number(m[1]);
      // toPrecision: 99.9 / 100 is 0.9990000000000001, which would fail a run at exactly 99.9 %.
      return v > 100 ? `"${text}" is over 100%` : Number((v / 100).toPrecision(15));
    }
    case 'count':
      return /^\d+$/.test(text) ? Number(text) : `"${text}" is not a whole number`;
    case 'number':
      return /^\d+(\.\d+)?$/.test(text) ? Number(text) : `"${text}" is not a number`;
  }
}

function compare(a: number, op: Comparator, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

export function formatMetricValue(metric: string, v: number): string {
  const kind = METRICS[metric]?.kind;
  if (kind === 'duration') {
    // Near a limit the rounding must not hide which side it is on: "2 ms" for 2.1 ms, or "1 min 0 s — FAILED"
    // for 60.4 s against <60s, would read as wrong.
    if (v < 100) return `${Math.round(v * 1000) / 1000} ms`;
    if (v >= 60_000) return `${formatDuration(v)} (${(v / 1000).toFixed(3)} s)`;
    return formatDuration(v);
  }
  if (kind === 'percent') return `${(v * 100).toFixed(4).replace(/\.?0+$/, '')}%`;
  if (v === Infinity) return '∞';
  return String(Math.round(v * 1000) / 1000);
}

/** Evaluates each threshold; one that cannot be measured (e.g. lost_writes without verification) fails. */
export function evaluateThresholds(summary: Summary, thresholds: Threshold[]): ThresholdResult[] {
  return thresholds.map((t) => {
    const def = METRICS[t.metric];
    const got = def ? def.get(summary) : { unknown: `unknown metric ${t.metric}` };
    if (typeof got !== 'number') {
      return { ...t, ok: false, actual: null, message: `${t.expr}: FAILED — cannot be measured: ${got.unknown}` };
    }
    const ok = compare(got, t.op, t.value);
    return {
      ...t,
      ok,
      actual: got,
      message: `${t.expr}: ${formatMetricValue(t.metric, got)} — ${ok ? 'ok' : 'FAILED'}`,
    };
  });
}

/**
 * `lost_writes==0` applies by default when writes were verified, or were to be and could not be: a
 * verification that failed must not let lost writes pass unnoticed.
 */
export function defaultThresholds(summary: Summary): Threshold[] {
  return summary.writes || summary.writesUnverified !== null ? [parseThreshold('lost_writes==0')] : [];
}
