import { encodedCount } from './histogram.js';
import {
  DROPPED,
  OK,
  OPS,
  STALLED,
  type EventRecord,
  type LagRecord,
  type Op,
  type ResultsHeader,
  type ResultsTrailer,
  type SecondRecord,
} from './types.js';

/**
 * Checks of the records a reader keeps (docs/results-format.md, "What readers check"): right types, finite
 * numbers, counts that can be (runs adding up to what the second says, ok ≤ due, nothing negative), histograms
 * that decode, one second per op and second. Lenient where versions 1 to 3 differ: fields added later are
 * optional, and fields no reader uses are not checked. A record that fails throws a RecordError naming the
 * field; the reader adds the file and line.
 */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

type Obj = Record<string, unknown>;

/** A value as the message shows it: JSON, cut short. */
function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 80);
}

function fail(field: string, expected: string, got: unknown): never {
  throw new RecordError(
    got === undefined ? `${field} is missing (must be ${expected})` : `${field} must be ${expected}, got ${shown(got)}`,
  );
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, field: string): Obj {
  if (!isObj(v)) fail(field, 'an object', v);
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') fail(field, 'a string', v);
  return v;
}

function optStr(v: unknown, field: string): void {
  if (v !== undefined) str(v, field);
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, 'a finite number', v);
  return v;
}

function positive(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(field, 'a number above 0', v);
  return v;
}

function nonNegative(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(field, 'a number ≥ 0', v);
  return v;
}

/** A count: an integer ≥ min. */
function count(v: unknown, field: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(field, `an integer ≥ ${min}`, v);
  return v;
}

function int(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(field, 'an integer', v);
  return v;
}

function numOrNull(v: unknown, field: string): void {
  if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) fail(field, 'a finite number or null', v);
}

function strOrNull(v: unknown, field: string): void {
  if (v !== null && typeof v !== 'string') fail(field, 'a string or null', v);
}

/** `{class: count}`: counts by error class. Returns their sum. */
function counts(v: unknown, field: string): number {
  let sum = 0;
  for (const [k, n] of Object.entries(obj(v, field))) sum += count(n, `${field}.${k}`);
  return sum;
}

/** The header, after its format and version are known good. Returns it typed. */
export function checkHeader(h: Obj): ResultsHeader {
  str(h.runId, 'header.runId');
  str(h.label, 'header.label');
  const target = obj(h.target, 'header.target');
  str(target.url, 'header.target.url');
  str(target.host, 'header.target.host');
  count(target.port, 'header.target.port');
  str(target.database, 'header.target.database');
  str(obj(h.host, 'header.host').hostname, 'header.host.hostname');
  num(h.startMs, 'header.startMs');
  nonNegative(h.durationMs, 'header.durationMs');
  positive(h.timeoutMs, 'header.timeoutMs');
  if (h.slowMs !== undefined) positive(h.slowMs, 'header.slowMs');
  count(h.workers, 'header.workers', 1);
  count(h.maxInFlight, 'header.maxInFlight', 1);
  let sources = 0;
  if (h.sources !== undefined) {
    if (!Array.isArray(h.sources)) fail('header.sources', 'an array', h.sources);
    sources = h.sources.length;
    h.sources.forEach((s: unknown, i) => {
      const f = `header.sources[${i}]`;
      const o = obj(s, f);
      str(o.id, `${f}.id`);
      str(o.runId, `${f}.runId`);
      str(o.hostname, `${f}.hostname`);
      num(o.startMs, `${f}.startMs`);
      numOrNull(o.skewMs, `${f}.skewMs`);
    });
  }
  const ops = obj(h.ops, 'header.ops');
  if (!OPS.some((op) => ops[op] !== undefined)) fail('header.ops', 'a read or write schedule', ops);
  for (const op of OPS) {
    if (ops[op] === undefined) continue;
    const f = `header.ops.${op}`;
    const s = obj(ops[op], f);
    positive(s.ratePerSec, `${f}.ratePerSec`);
    num(s.t0Ms, `${f}.t0Ms`);
    if (s.parts === undefined) continue;
    if (!Array.isArray(s.parts)) fail(`${f}.parts`, 'an array', s.parts);
    s.parts.forEach((p: unknown, i) => {
      const pf = `${f}.parts[${i}]`;
      const o = obj(p, pf);
      const src = count(o.source, `${pf}.source`);
      if (src >= sources) fail(`${pf}.source`, `an index into header.sources (${sources} of them)`, src);
      positive(o.ratePerSec, `${pf}.ratePerSec`);
      num(o.t0Ms, `${pf}.t0Ms`);
      count(o.seqs, `${pf}.seqs`);
    });
  }
  if (h.heartbeat !== undefined) {
    const hb = obj(h.heartbeat, 'header.heartbeat');
    str(hb.green, 'header.heartbeat.green');
    positive(hb.intervalMs, 'header.heartbeat.intervalMs');
  }
  return h as unknown as ResultsHeader;
}

/**
 * Second records of one file: each checked alone, and no (op, sec, source) twice. Returns null for a second of
 * an op this reader does not know (skipped, as unknown line types are).
 */
export class SecondChecker {
  private readonly seen = new Set<string>();
  constructor(private readonly header: ResultsHeader) {}

  check(r: Obj): SecondRecord | null {
    const op = str(r.op, 'second.op');
    if (!(OPS as readonly string[]).includes(op)) return null;
    if (this.header.ops[op as Op] === undefined)
      fail('second.op', `an op the header schedules (header.ops has no ${op})`, op);
    const sec = int(r.sec, 'second.sec');
    optStr(r.source, 'second.source');
    const due = count(r.due, 'second.due');
    const ok = count(r.ok, 'second.ok');
    const failed = counts(r.failed, 'second.failed');
    const dropped = count(r.dropped, 'second.dropped');
    const stalled = r.stalled === undefined ? 0 : count(r.stalled, 'second.stalled');
    if (ok > due) throw new RecordError(`second.ok (${ok}) is above second.due (${due})`);
    if (ok + failed + dropped + stalled !== due)
      throw new RecordError(
        `second.due (${due}) is not ok + failed + dropped + stalled (${ok} + ${failed} + ${dropped} + ${stalled})`,
      );
    this.checkRuns(r, due);
    this.checkHist(r.hist, ok);
    this.checkServers(r.servers, ok);
    if (r.edges !== undefined) {
      if (!Array.isArray(r.edges)) fail('second.edges', 'an array of [seq, answeredAfterUs] pairs', r.edges);
      r.edges.forEach((e: unknown, i) => {
        if (!Array.isArray(e) || e.length !== 2) fail(`second.edges[${i}]`, 'a [seq, answeredAfterUs] pair', e);
        count(e[0], `second.edges[${i}][0] (seq)`);
        num(e[1], `second.edges[${i}][1] (answeredAfterUs)`);
      });
    }
    if (r.sendLagUs !== undefined) {
      const l = obj(r.sendLagUs, 'second.sendLagUs');
      nonNegative(l.p99, 'second.sendLagUs.p99');
      nonNegative(l.max, 'second.sendLagUs.max');
    }
    const key = `${op} ${sec} ${typeof r.source === 'string' ? r.source : ''}`;
    if (this.seen.has(key))
      throw new RecordError(
        `second.sec ${sec} of ${op}${typeof r.source === 'string' ? ` (source ${r.source})` : ''} appears twice (a second is recorded once)`,
      );
    this.seen.add(key);
    return r as unknown as SecondRecord;
  }

  /** [firstSeq, count, outcome] runs in seq order, covering `due` probes, with the second's counts per outcome. */
  private checkRuns(r: Obj, due: number): void {
    const runs = r.runs;
    const what = 'an array of [firstSeq, count, outcome] runs';
    if (!Array.isArray(runs)) fail('second.runs', what, runs);
    const byOutcome = new Map<string, number>();
    let next = 0;
    let total = 0;
    runs.forEach((run: unknown, i) => {
      const f = `second.runs[${i}]`;
      if (!Array.isArray(run) || run.length !== 3) fail(f, 'a [firstSeq, count, outcome] run', run);
      const first = count(run[0], `${f}[0] (firstSeq)`);
      const n = count(run[1], `${f}[1] (count)`, 1);
      const outcome = run[2] as unknown;
      if (typeof outcome !== 'string' || outcome === '') fail(`${f}[2] (outcome)`, 'an outcome string', outcome);
      if (first < next)
        throw new RecordError(`${f} starts at seq ${first}, inside the run before it (runs are in seq order)`);
      next = first + n;
      total += n;
      byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + n);
    });
    if (total !== due) throw new RecordError(`second.runs cover ${total} probes but second.due is ${due}`);
    const failed = r.failed as Record<string, number>;
    const expect = (name: string, have: number, outcome: string): void => {
      const inRuns = byOutcome.get(outcome) ?? 0;
      if (inRuns !== have)
        throw new RecordError(`second.${name} is ${have} but second.runs hold ${inRuns} "${outcome}" probes`);
    };
    expect('ok', r.ok as number, OK);
    expect('dropped', r.dropped as number, DROPPED);
    expect('stalled', (r.stalled as number | undefined) ?? 0, STALLED);
    for (const [cls, n] of Object.entries(failed)) {
      if (cls === OK || cls === DROPPED || cls === STALLED)
        throw new RecordError(`second.failed has a class "${cls}", which is not a failure (it has its own count)`);
      expect(`failed.${cls}`, n, cls);
    }
    for (const outcome of byOutcome.keys())
      if (outcome !== OK && outcome !== DROPPED && outcome !== STALLED && !(outcome in failed))
        expect(`failed.${outcome}`, 0, outcome);
  }

  /** Null (no latency recorded), or an HDR histogram that decodes, of at most `ok` latencies. */
  private checkHist(hist: unknown, ok: number): void {
    if (hist === null) return;
    const what = 'an HDR histogram (compressed base64) or null';
    if (typeof hist !== 'string') fail('second.hist', what, hist);
    let latencies: number;
    try {
      latencies = encodedCount(hist);
    } catch (err) {
      throw new RecordError(
        `second.hist must be ${what}, got ${shown(hist)}, which does not decode (${errorText(err)})`,
      );
    }
    if (latencies > ok) throw new RecordError(`second.hist holds ${latencies} latencies, more than second.ok (${ok})`);
  }

  private checkServers(servers: unknown, ok: number): void {
    if (!Array.isArray(servers)) fail('second.servers', 'an array', servers);
    let total = 0;
    servers.forEach((s: unknown, i) => {
      const f = `second.servers[${i}]`;
      const o = obj(s, f);
      numOrNull(o.serverId, `${f}.serverId`);
      strOrNull(o.hostname, `${f}.hostname`);
      strOrNull(o.version, `${f}.version`);
      if (o.readOnly !== null && typeof o.readOnly !== 'boolean')
        fail(`${f}.readOnly`, 'a boolean or null', o.readOnly);
      total += count(o.count, `${f}.count`);
    });
    if (total > ok) throw new RecordError(`second.servers count ${total} answers, more than second.ok (${ok})`);
  }
}

export function checkEvent(e: Obj): EventRecord {
  num(e.atMs, 'event.atMs');
  str(e.kind, 'event.kind');
  str(e.name, 'event.name');
  if (e.endMs !== undefined) num(e.endMs, 'event.endMs');
  if (e.detail !== undefined) obj(e.detail, 'event.detail');
  return e as unknown as EventRecord;
}

export function checkLag(l: Obj): LagRecord {
  int(l.sec, 'lag.sec');
  count(l.samples, 'lag.samples');
  numOrNull(l.maxMs, 'lag.maxMs');
  numOrNull(l.lastMs, 'lag.lastMs');
  count(l.selfWritten, 'lag.selfWritten');
  counts(l.readErrors, 'lag.readErrors');
  counts(l.writeErrors, 'lag.writeErrors');
  return l as unknown as LagRecord;
}

const REASONS = ['completed', 'interrupted', 'error'];

export function checkTrailer(t: Obj): ResultsTrailer {
  num(t.endMs, 'trailer.endMs');
  if (typeof t.reason !== 'string' || !REASONS.includes(t.reason))
    fail('trailer.reason', '"completed", "interrupted" or "error"', t.reason);
  const totals = obj(t.totals, 'trailer.totals');
  for (const op of OPS) {
    if (totals[op] === undefined) continue;
    const f = `trailer.totals.${op}`;
    const o = obj(totals[op], f);
    const due = count(o.due, `${f}.due`);
    const sum =
      count(o.ok, `${f}.ok`) +
      count(o.failed, `${f}.failed`) +
      count(o.dropped, `${f}.dropped`) +
      (o.stalled === undefined ? 0 : count(o.stalled, `${f}.stalled`));
    if (sum > due) throw new RecordError(`${f}: ok + failed + dropped + stalled (${sum}) is above due (${due})`);
  }
  if (t.writes !== undefined) {
    const w = obj(t.writes, 'trailer.writes');
    const acknowledged = count(w.acknowledged, 'trailer.writes.acknowledged');
    const lost = count(w.lost, 'trailer.writes.lost');
    if (lost > acknowledged)
      throw new RecordError(`trailer.writes.lost (${lost}) is above trailer.writes.acknowledged (${acknowledged})`);
    count(w.inDoubtCommitted, 'trailer.writes.inDoubtCommitted');
    count(w.inDoubtAbsent, 'trailer.writes.inDoubtAbsent');
    if (!Array.isArray(w.lostSeconds)) fail('trailer.writes.lostSeconds', 'an array of epoch seconds', w.lostSeconds);
    w.lostSeconds.forEach((s: unknown, i) => int(s, `trailer.writes.lostSeconds[${i}]`));
    str(w.checkedAt, 'trailer.writes.checkedAt');
  }
  optStr(t.verifyError, 'trailer.verifyError');
  optStr(t.error, 'trailer.error');
  return t as unknown as ResultsTrailer;
}
