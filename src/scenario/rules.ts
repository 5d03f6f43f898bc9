/**
 * The rules a run's input values follow, whether they come from a flag (`--reads`) or a scenario file
 * (`load.reads`): one owner for each limit (SCENARIO_LIMITS) and for how a broken one is worded.
 *
 * A checker takes the value and its name as messages show it. A name starting with `--` is a flag: the
 * message reads as `downtime run` has always said it (`--reads must be > 0 probes per second (got 0)`) and
 * the caller throws the first one (must()). Any other name is a scenario key: the message reads as the
 * scenario parser says it (`load.reads: must be a number >= 0 (got -5)`), one problem among all the file's.
 * A flag is a string yargs has typed, a key any YAML value.
 */
import { DowntimeError, ExitCode } from '../errors.js';
import type { ConnectionModel } from '../results/types.js';
import { parseDuration } from '../util/duration.js';
import { FLAG_IDENTIFIER_PATTERN, IDENTIFIER_PATTERN, THRESHOLD_PATTERN } from './shape.js';
import { parseServerSource } from './server-source.js';
import { suggest } from './suggest.js';
import { CONNECTION_CHOICES, CONNECTION_MODELS, SCENARIO_LIMITS as L, type ThresholdValidator } from './types.js';

/** A checked value, or what is wrong with it (a flag: one problem; a key: one or more), names included. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** The value of a checked flag; its first problem as a DowntimeError (ExitCode.Usage) otherwise. */
export function must<T>(checked: Checked<T>): T {
  if (checked.ok) return checked.value;
  throw new DowntimeError(checked.problems[0] ?? 'invalid value', ExitCode.Usage);
}

function isFlag(name: string): boolean {
  return name.startsWith('--');
}

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
/** A problem with a key reads `load.reads: must be …`; a flag's message is written whole by its rule. */
const keyProblem = <T>(key: string, message: string): Checked<T> => ({ ok: false, problems: [`${key}: ${message}`] });
const flagProblem = <T>(message: string): Checked<T> => ({ ok: false, problems: [message] });

// ---------------------------------------------------------------------------------------------------------------
// Values of a run, by name.

/** --reads/--writes, load.reads/load.writes: probes per second. */
export function checkRate(v: unknown, name: string): Checked<number> {
  if (!isFlag(name)) return checkNumber(v, name, { min: 0, max: L.maxRatePerSec, integer: false, unit: 'per second' });
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    return flagProblem(`${name} must be a number of probes per second, e.g. ${name} 100`);
  }
  if (v < 0) return flagProblem(`${name} must be ≥ 0 probes per second, 0 to leave the op out (got ${v})`);
  if (v > L.maxRatePerSec) {
    return flagProblem(
      `${name} ${v} is absurd: at most ${L.maxRatePerSec} probes per second; run several harnesses and merge them instead`,
    );
  }
  return ok(v);
}

/**
 * --from / --to, sandbox.from / sandbox.to: the old and the new server (an image, a server directory, or
 * `path`). Only the spelling is checked here; whether the image or directory exists is checked before the
 * sandbox starts.
 */
export function checkServerSource(v: unknown, name: string): Checked<string> {
  const text = checkText(v, name);
  if (!text.ok) return text;
  try {
    parseServerSource(text.value, name);
    return ok(text.value.trim());
  } catch (err) {
    const message = (err as Error).message;
    return isFlag(name) ? flagProblem(message) : keyProblem(name, message.replace(`${name} `, ''));
  }
}

/** --workers, load.workers: worker threads. */
export function checkWorkers(v: unknown, name: string): Checked<number> {
  return checkNumber(v, name, { min: 1, max: L.maxWorkers, integer: true });
}

/** --max-in-flight, load.maxInFlight: probes in flight per op. */
export function checkMaxInFlight(v: unknown, name: string): Checked<number> {
  return checkNumber(v, name, { min: 1, max: L.maxInFlight, integer: true });
}

/** --pool-size: connections per op per worker (pool model). */
export function checkPoolSize(v: unknown, name: string): Checked<number> {
  return checkNumber(v, name, { min: 1, max: L.maxPoolSize, integer: true });
}

/** --duration, duration: the length of the run, ms. */
export function checkRunDuration(v: unknown, name: string): Checked<number> {
  return checkDuration(v, name, { minMs: L.minDurationMs, maxMs: L.maxDurationMs });
}

/** --timeout/--connect-timeout, load.timeout/load.connectTimeout: ms. */
export function checkTimeout(v: unknown, name: string): Checked<number> {
  return checkDuration(v, name, { minMs: L.minTimeoutMs, maxMs: L.maxTimeoutMs });
}

/** --slow, load.slow: the latency SLO, ms (answered but slower is degraded service). */
export function checkSlow(v: unknown, name: string): Checked<number> {
  return checkDuration(v, name, { minMs: L.minSlowMs, maxMs: L.maxTimeoutMs });
}

/** --password-refresh, password.refresh: how often a password command runs again, ms. */
export function checkPasswordRefresh(v: unknown, name: string): Checked<number> {
  if (!isFlag(name)) {
    return checkDuration(v, name, { minMs: L.minPasswordRefreshMs, maxMs: L.maxPasswordRefreshMs });
  }
  const d = parseDuration(String(v));
  if ('error' in d) return flagProblem(`${name} ${d.error}`);
  if (d.ms < L.minPasswordRefreshMs || d.ms > L.maxPasswordRefreshMs) {
    const range = `${durationText(L.minPasswordRefreshMs)} to ${durationText(L.maxPasswordRefreshMs)}`;
    return flagProblem(`${name} ${String(v)} is out of range (${range}; RDS IAM tokens live 15m)`);
  }
  return ok(d.ms);
}

/** --connection, load.connection: one client model, or two measured side by side ("pool,per-probe"). */
export function checkConnection(v: unknown, name: string): Checked<ConnectionModel[]> {
  if (!isFlag(name)) {
    const r = checkEnum(v, name, CONNECTION_CHOICES);
    return r.ok ? ok(r.value.split(',') as ConnectionModel[]) : r;
  }
  const list = String(v)
    .split(',')
    .map((m) => m.trim());
  const bad = list.find((m) => !(CONNECTION_MODELS as readonly string[]).includes(m));
  if (bad !== undefined || list.length > 2 || new Set(list).size !== list.length) {
    return flagProblem(`${name} must be pool, per-probe, or both side by side as pool,per-probe (got "${String(v)}")`);
  }
  return ok(list as ConnectionModel[]);
}

const FLAG_IDENTIFIER = new RegExp(FLAG_IDENTIFIER_PATTERN);

/** --table, load.table: the harness's table, a plain identifier (safe in SQL unquoted). */
export function checkTable(v: unknown, name: string): Checked<string> {
  if (!isFlag(name)) {
    return checkText(v, name, {
      pattern: IDENTIFIER_PATTERN,
      patternText: 'a plain identifier (letters, digits and _, not starting with a digit, at most 64)',
    });
  }
  if (typeof v !== 'string' || !FLAG_IDENTIFIER.test(v)) {
    return flagProblem(
      `${name} "${String(v)}" is not a plain identifier; use letters, digits and _ (e.g. downtime_probe)`,
    );
  }
  return ok(v);
}

/** A validated SQL identifier for the harness's table (--table): no quoting games, no SQL. */
export function validateTableName(name: string): string {
  return must(checkTable(name, '--table'));
}

const THRESHOLD_RE = new RegExp(THRESHOLD_PATTERN);

/**
 * --threshold (repeatable), thresholds[i]: `<metric><op><value>`, trimmed; `validate` (the threshold parser
 * in src/analyze, given by the caller) says whether the metric and value mean something.
 */
export function checkThreshold(v: unknown, name: string, validate: ThresholdValidator | undefined): Checked<string> {
  if (isFlag(name)) {
    if (typeof v !== 'string' || v.trim() === '') {
      return flagProblem(`${name} takes an expression, e.g. ${name} "write_downtime<60s"`);
    }
    const problem = validate?.(v);
    return problem === undefined ? ok(v.trim()) : flagProblem(`${name}: ${problem}`);
  }
  if (typeof v !== 'string') {
    return keyProblem(name, `must be a string such as write_downtime<60s (got ${describeValue(v)})`);
  }
  if (!THRESHOLD_RE.test(v)) {
    return keyProblem(
      name,
      `${describeValue(v)} is not <metric><op><value>; write e.g. write_downtime<60s (op: < <= > >= == !=)`,
    );
  }
  const text = v.trim();
  const problem = validate?.(text);
  return problem === undefined ? ok(text) : keyProblem(name, problem);
}

// ---------------------------------------------------------------------------------------------------------------
// Kinds of values: what the rules above, and the scenario parser's readers, are made of.

export interface NumberBounds {
  min: number;
  max: number;
  integer: boolean;
  /** Said after the maximum, e.g. "per second". */
  unit?: string;
}

/** A number within bounds. */
export function checkNumber(v: unknown, name: string, b: NumberBounds): Checked<number> {
  const wanted = b.integer ? `a whole number from ${b.min} to ${b.max}` : `a number >= ${b.min}`;
  const inRange = typeof v === 'number' && Number.isFinite(v) && v >= b.min && (!b.integer || Number.isInteger(v));
  if (isFlag(name)) {
    if (inRange && v <= b.max) return ok(v);
    const range = b.integer ? wanted : `a number from ${b.min} to ${b.max}`;
    return flagProblem(`${name} must be ${range} (got ${String(v)})`);
  }
  if (!inRange) return keyProblem(name, `must be ${wanted} (got ${describeValue(v)})`);
  if (v > b.max) return keyProblem(name, `must be at most ${b.max}${b.unit ? ` ${b.unit}` : ''} (got ${v})`);
  return ok(v);
}

export interface DurationBounds {
  minMs: number;
  maxMs?: number;
}

/**
 * A duration with a unit, within bounds, in ms. A key's YAML number (`at: 30`) is read as text so the
 * message can say which unit to add.
 */
export function checkDuration(v: unknown, name: string, b: DurationBounds): Checked<number> {
  const max = b.maxMs ?? Infinity;
  if (isFlag(name)) {
    const d = parseDuration(String(v));
    if ('error' in d) return flagProblem(`${name} ${d.error}`);
    if (d.ms < b.minMs || d.ms > max) {
      return flagProblem(`${name} ${String(v)} is out of range (${b.minMs} ms to ${max / 3_600_000} h)`);
    }
    return ok(d.ms);
  }
  if (typeof v !== 'string' && typeof v !== 'number') {
    return keyProblem(name, `must be a duration such as 30s, 5m or 1m30s (got ${describeValue(v)})`);
  }
  const r = parseDuration(String(v));
  if ('error' in r) return keyProblem(name, r.error);
  if (r.ms < b.minMs) return keyProblem(name, `must be at least ${durationText(b.minMs)} (got ${String(v).trim()})`);
  if (r.ms > max) return keyProblem(name, `must be at most ${durationText(max)} (got ${String(v).trim()})`);
  return ok(r.ms);
}

export interface TextRule {
  pattern?: string;
  /** What the pattern means, for the message: "must be <patternText>". */
  patternText?: string;
  /** Never echo the value (it may be a password). */
  secret?: boolean;
}

/** Non-blank text, matching a pattern if given. */
export function checkText(v: unknown, name: string, rule: TextRule = {}): Checked<string> {
  const got = rule.secret ? '' : ` (got ${describeValue(v)})`;
  const what = rule.patternText ?? `text matching ${rule.pattern ?? ''}`;
  if (isFlag(name)) {
    if (typeof v !== 'string' || v.trim() === '') return flagProblem(`${name} must not be empty`);
    if (rule.pattern !== undefined && !new RegExp(rule.pattern).test(v)) return flagProblem(`${name} must be ${what}`);
    return ok(v);
  }
  if (v === null) return keyProblem(name, 'must not be empty');
  if (typeof v !== 'string') return keyProblem(name, `must be a string${got}`);
  if (v.trim() === '') return keyProblem(name, 'must not be empty');
  if (rule.pattern !== undefined && !new RegExp(rule.pattern).test(v)) return keyProblem(name, `must be ${what}${got}`);
  return ok(v);
}

/** One of a list of words; a near miss gets a did-you-mean. */
export function checkEnum<T extends string>(v: unknown, name: string, values: readonly T[]): Checked<T> {
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return ok(v as T);
  const guess = typeof v === 'string' ? suggest(v, values) : undefined;
  const hint = guess !== undefined ? `; did you mean ${JSON.stringify(guess)}?` : '';
  if (isFlag(name)) return flagProblem(`${name} must be one of ${values.join(', ')} (got "${String(v)}"${hint})`);
  return keyProblem(name, `must be one of ${values.join(', ')} (got ${describeValue(v)}${hint})`);
}

/** true or false (YAML 1.2: `yes` is a string). */
export function checkBoolean(v: unknown, name: string): Checked<boolean> {
  if (typeof v === 'boolean') return ok(v);
  return isFlag(name)
    ? flagProblem(`${name} must be true or false (got ${String(v)})`)
    : keyProblem(name, `must be true or false (got ${describeValue(v)})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Values in messages.

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** How a bad value is shown in a message: short, one line, typed. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (typeof v === 'string') {
    const s = v.length > 60 ? `${v.slice(0, 57)}...` : v;
    return JSON.stringify(s);
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (isMapping(v)) return 'a mapping';
  return 'a value of another type';
}

/** Formats ms the way a scenario file writes it: 2s, 1m, 7d is 168h, 1500ms. */
export function durationText(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
