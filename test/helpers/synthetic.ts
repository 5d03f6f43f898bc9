import { encodeHistogram, newHistogram, recordUs, type Histogram } from '../../src/results/histogram.js';
import {
  OK,
  RESULTS_FORMAT,
  RESULTS_VERSION,
  type EventRecord,
  type Op,
  type OpTotals,
  type ResultsHeader,
  type ResultsTrailer,
  type Run,
  type SecondRecord,
  type WriteVerification,
} from '../../src/results/types.js';

/**
 * Synthetic results files with known outages, written the way `downtime run` writes them (header, second
 * lines with exact runs and HDR histograms, events, trailer), so the analysis can be checked against
 * windows known to the millisecond.
 */
export interface InjectedOutage {
  op: Op | 'both';
  /** Offsets from the start, ms: probes intended in [fromMs, toMs) get `cls`. */
  fromMs: number;
  toMs: number;
  /** An error class, `dropped` or `stalled`. */
  cls: string;
}

export interface SyntheticSpec {
  startMs?: number;
  durationMs: number;
  rates: Partial<Record<Op, number>>;
  outages?: InjectedOutage[];
  /** Whole seconds (offsets from the start) left out of the file for an op, as a crash would: [fromSec, toSec). */
  gaps?: { op: Op | 'both'; fromSec: number; toSec: number }[];
  /** Latency of a successful probe, µs (default: 1500 + a little jitter from the seq). */
  latencyUs?: (op: Op, offsetMs: number, seq: number) => number;
  events?: Omit<EventRecord, 'type'>[];
  /** The harness's send lag per op-second (offset in whole seconds), or undefined to leave it out (older files). */
  sendLagUs?: (op: Op, offsetSec: number) => { p99: number; max: number } | undefined;
  /** Write a trailer (default true). */
  complete?: boolean;
  writes?: WriteVerification;
  label?: string;
  timeoutMs?: number;
  /** The run's latency SLO (header.slowMs, as --slow writes it). */
  slowMs?: number;
  /** Record `edges` (when the answers next to not-ok probes came), as `run` does; off by default. */
  edges?: boolean;
}

export const SYNTH_START_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z

export function syntheticResults(spec: SyntheticSpec): string {
  const startMs = spec.startMs ?? SYNTH_START_MS;
  const header: ResultsHeader = {
    type: 'header',
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    tool: { name: 'downtime', version: '0.0.0-test' },
    runId: '00000000-0000-4000-8000-000000000000',
    label: spec.label ?? 'synthetic',
    target: { url: 'mysql://app@db.test:3306/probe', host: 'db.test', port: 3306, database: 'probe', user: 'app' },
    host: { hostname: 'test', pid: 1, platform: 'linux', node: 'v20', cpus: 2 },
    startMs,
    durationMs: spec.durationMs,
    ops: {},
    timeoutMs: spec.timeoutMs ?? 2000,
    connectTimeoutMs: spec.timeoutMs ?? 2000,
    ...(spec.slowMs !== undefined ? { slowMs: spec.slowMs } : {}),
    connection: 'pool',
    workers: 2,
    maxInFlight: 256,
    resolution: 'probe',
    table: 'downtime_probe',
    readSql: 'SELECT 1',
    writeSql: 'INSERT 1',
    histogram: { unit: 'us', lowestUs: 1, highestUs: 3_600_000_000, significantDigits: 3 },
  };
  const lines: string[] = [];
  const perSec = new Map<number, SecondRecord[]>();
  const totals: Partial<Record<Op, OpTotals>> = {};
  const latencyUs = spec.latencyUs ?? ((_op: Op, _off: number, seq: number) => 1500 + (seq % 7) * 100);
  for (const op of ['read', 'write'] as const) {
    const rate = spec.rates[op];
    if (rate === undefined) continue;
    header.ops[op] = { ratePerSec: rate, t0Ms: startMs };
    const n = Math.round((spec.durationMs * rate) / 1000);
    const t: OpTotals = { due: 0, ok: 0, failed: 0, dropped: 0 };
    let cur: { rec: SecondRecord; h: Histogram | null } | null = null;
    let prev: { seq: number; ok: boolean; us: number } | null = null;
    let recoveringUntil: number | null = null;
    const flush = (): void => {
      if (!cur) return;
      cur.rec.hist = cur.h ? encodeHistogram(cur.h) : null;
      const lag = spec.sendLagUs?.(op, cur.rec.sec - Math.floor(startMs / 1000));
      if (lag) cur.rec.sendLagUs = lag;
      const list = perSec.get(cur.rec.sec) ?? [];
      list.push(cur.rec);
      perSec.set(cur.rec.sec, list);
      cur = null;
    };
    for (let seq = 0; seq < n; seq++) {
      const at = startMs + (seq * 1000) / rate;
      const off = at - startMs;
      const sec = Math.floor(at / 1000);
      const skipped = (spec.gaps ?? []).some(
        (g) => (g.op === op || g.op === 'both') && off >= g.fromSec * 1000 && off < g.toSec * 1000,
      );
      if (skipped) {
        flush();
        continue;
      }
      let outcome: string = OK;
      for (const o of spec.outages ?? []) {
        if ((o.op === op || o.op === 'both') && off >= o.fromMs && off < o.toMs) outcome = o.cls;
      }
      if (!cur || cur.rec.sec !== sec) {
        flush();
        cur = {
          rec: { type: 'second', op, sec, due: 0, ok: 0, failed: {}, dropped: 0, hist: null, runs: [], servers: [] },
          h: null,
        };
      }
      const r = cur.rec;
      r.due++;
      t.due++;
      if (outcome === OK) {
        r.ok++;
        t.ok++;
        cur.h ??= newHistogram();
        recordUs(cur.h, latencyUs(op, off, seq));
      } else if (outcome === 'dropped') {
        r.dropped++;
        t.dropped++;
      } else if (outcome === 'stalled') {
        r.stalled = (r.stalled ?? 0) + 1;
        t.stalled = (t.stalled ?? 0) + 1;
      } else {
        r.failed[outcome] = (r.failed[outcome] ?? 0) + 1;
        t.failed++;
      }
      if (spec.edges) {
        // As the run's recorder does (src/load/recorder.ts): answers next to a not-ok probe, and while an outage
        // may be ending, every answer intended before the earliest one so far.
        const isOk = outcome === OK;
        const us = isOk ? latencyUs(op, off, seq) : -1;
        if (prev !== null && prev.seq === seq - 1 && prev.ok !== isOk) {
          const edge: [number, number] = isOk ? [seq, us] : [prev.seq, prev.us];
          (r.edges ??= []).push(edge);
          recoveringUntil = isOk ? at + us / 1000 : null;
        } else if (isOk && recoveringUntil !== null && at < recoveringUntil) {
          (r.edges ??= []).push([seq, us]);
          recoveringUntil = Math.min(recoveringUntil, at + us / 1000);
        } else if (isOk) {
          recoveringUntil = null;
        }
        prev = { seq, ok: isOk, us };
      }
      const last: Run | undefined = r.runs[r.runs.length - 1];
      if (last && last[2] === outcome && last[0] + last[1] === seq) last[1]++;
      else r.runs.push([seq, 1, outcome]);
      if (op === 'read' && outcome === OK) {
        if (r.servers.length === 0)
          r.servers.push({ serverId: 1, hostname: 'blue', version: '10.11', readOnly: false, count: 0 });
        (r.servers[0] as { count: number }).count++;
      }
    }
    flush();
    totals[op] = t;
  }
  lines.push(JSON.stringify(header));
  const events = [...(spec.events ?? [])].sort((a, b) => a.atMs - b.atMs);
  let e = 0;
  for (const sec of [...perSec.keys()].sort((a, b) => a - b)) {
    // Events go before the first second that ends after them, as the writer interleaves them in time.
    while (e < events.length && (events[e] as EventRecord).atMs < (sec + 1) * 1000) {
      lines.push(JSON.stringify({ type: 'event', ...events[e] }));
      e++;
    }
    for (const rec of perSec.get(sec) ?? []) lines.push(JSON.stringify(rec));
  }
  for (; e < events.length; e++) lines.push(JSON.stringify({ type: 'event', ...events[e] }));
  if (spec.complete !== false) {
    const trailer: ResultsTrailer = {
      type: 'trailer',
      endMs: startMs + spec.durationMs,
      reason: 'completed',
      totals,
    };
    if (spec.writes) trailer.writes = spec.writes;
    lines.push(JSON.stringify(trailer));
  }
  return lines.join('\n') + '\n';
}
