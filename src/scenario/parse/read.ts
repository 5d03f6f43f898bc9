/**
 * The walk's tools: a list of problems, a mapping being read (unknown keys are reported when it is closed,
 * with a did-you-mean), and readers that return the parsed value, or undefined when it is absent or wrong
 * (a problem is recorded).
 */
import { oneLine } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { suggest } from '../suggest.js';

export class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    // One line, always: a quoted YAML value can hold a newline that a message repeats.
    this.list.push(oneLine(path === '' ? message : `${path}: ${message}`));
  }
}

export type Mapping = Record<string, unknown>;

/** A mapping being read: its unknown keys are reported when it is closed, after its fields. */
export interface Open {
  path: string;
  value: Mapping;
  /** Required keys an unknown key probably meant: "is required" would repeat the same mistake. */
  meant: Set<string>;
  unknown: string[];
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
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

export function isMapping(v: unknown): v is Mapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

export function open(
  p: Problems,
  value: unknown,
  path: string,
  allowed: readonly string[],
  expected: string,
  noKeysHint = 'no keys are allowed here',
): Open | undefined {
  if (!isMapping(value)) {
    p.add(path, `must be ${expected} (got ${describeValue(value)})`);
    return undefined;
  }
  const o: Open = { path, value, meant: new Set(), unknown: [] };
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const guess = suggest(key, allowed);
    if (guess !== undefined && !(guess in value)) o.meant.add(guess);
    o.unknown.push(
      guess !== undefined
        ? `unknown key ${JSON.stringify(key)} (did you mean ${JSON.stringify(guess)}?)`
        : allowed.length === 0
          ? `unknown key ${JSON.stringify(key)} (${noKeysHint})`
          : `unknown key ${JSON.stringify(key)} (allowed: ${allowed.join(', ')})`,
    );
  }
  return o;
}

export function close(p: Problems, o: Open): void {
  for (const message of o.unknown) p.add(o.path, message);
}

export function has(o: Open, key: string): boolean {
  return o.value[key] !== undefined;
}

export function missing(p: Problems, o: Open, key: string, hint: string): void {
  if (!o.meant.has(key)) p.add(join(o.path, key), `is required; ${hint}`);
}

export function readString(
  p: Problems,
  o: Open,
  key: string,
  opts: { required?: string; pattern?: string; patternText?: string; secret?: boolean } = {},
): string | undefined {
  const v = o.value[key];
  const path = join(o.path, key);
  if (v === undefined || v === null) {
    if (v === null) p.add(path, `must not be empty${opts.required ? `; ${opts.required}` : ''}`);
    else if (opts.required !== undefined) missing(p, o, key, opts.required);
    return undefined;
  }
  const got = opts.secret ? '' : ` (got ${describeValue(v)})`;
  if (typeof v !== 'string') {
    p.add(path, `must be a string${got}`);
    return undefined;
  }
  if (v.trim() === '') {
    p.add(path, 'must not be empty');
    return undefined;
  }
  if (opts.pattern !== undefined && !new RegExp(opts.pattern).test(v)) {
    p.add(path, `must be ${opts.patternText ?? `text matching ${opts.pattern}`}${got}`);
    return undefined;
  }
  return v;
}

export function readNumber(
  p: Problems,
  o: Open,
  key: string,
  opts: { min: number; max: number; integer: boolean; unit?: string },
): number | undefined {
  const v = o.value[key];
  if (v === undefined) return undefined;
  const path = join(o.path, key);
  const wanted = opts.integer ? `a whole number from ${opts.min} to ${opts.max}` : `a number >= ${opts.min}`;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < opts.min || (opts.integer && !Number.isInteger(v))) {
    p.add(path, `must be ${wanted} (got ${describeValue(v)})`);
    return undefined;
  }
  if (v > opts.max) {
    p.add(path, `must be at most ${opts.max}${opts.unit ? ` ${opts.unit}` : ''} (got ${v})`);
    return undefined;
  }
  return v;
}

/**
 * A duration with a unit, within [minMs, maxMs]. YAML numbers (`at: 30`) are read as text so the message can
 * say which unit to add.
 */
export function readDuration(
  p: Problems,
  o: Open,
  key: string,
  opts: { required?: string; minMs: number; maxMs?: number },
): number | undefined {
  const v = o.value[key];
  const path = join(o.path, key);
  if (v === undefined) {
    if (opts.required !== undefined) missing(p, o, key, opts.required);
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number') {
    p.add(path, `must be a duration such as 30s, 5m or 1m30s (got ${describeValue(v)})`);
    return undefined;
  }
  const r = parseDuration(String(v));
  if ('error' in r) {
    p.add(path, r.error);
    return undefined;
  }
  if (r.ms < opts.minMs) {
    p.add(path, `must be at least ${durationText(opts.minMs)} (got ${String(v).trim()})`);
    return undefined;
  }
  if (opts.maxMs !== undefined && r.ms > opts.maxMs) {
    p.add(path, `must be at most ${durationText(opts.maxMs)} (got ${String(v).trim()})`);
    return undefined;
  }
  return r.ms;
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

export function readEnum<T extends string>(p: Problems, o: Open, key: string, values: readonly T[]): T | undefined {
  const v = o.value[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  const guess = typeof v === 'string' ? suggest(v, values) : undefined;
  const hint = guess !== undefined ? `; did you mean ${JSON.stringify(guess)}?` : '';
  p.add(join(o.path, key), `must be one of ${values.join(', ')} (got ${describeValue(v)}${hint})`);
  return undefined;
}

export function readBoolean(p: Problems, o: Open, key: string): boolean | undefined {
  const v = o.value[key];
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  p.add(join(o.path, key), `must be true or false (got ${describeValue(v)})`);
  return undefined;
}
