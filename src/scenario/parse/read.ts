/**
 * The walk's tools: a list of problems, a mapping being read (unknown keys are reported when it is closed,
 * with a did-you-mean, and a required key an unknown one probably meant is not reported missing too), and
 * readers that return a key's value checked by a rule of ../rules.ts, or undefined when it is absent or
 * wrong (a problem is recorded).
 */
import { oneLine } from '../../errors.js';
import {
  checkBoolean,
  checkDuration,
  checkEnum,
  checkNumber,
  checkText,
  describeValue,
  isMapping,
  type Checked,
  type DurationBounds,
  type NumberBounds,
  type TextRule,
} from '../rules.js';
import { suggest } from '../suggest.js';

export class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    // One line, always: a quoted YAML value can hold a newline that a message repeats.
    this.list.push(oneLine(path === '' ? message : `${path}: ${message}`));
  }
}

type Mapping = Record<string, unknown>;

/**
 * A mapping being read: its unknown keys are reported when it is closed, after its fields. Typed by its key
 * list (../shape.ts), so that the parser cannot read a key the list (and the JSON Schema) does not have.
 */
export interface Open<K extends string = string> {
  path: string;
  value: Mapping;
  allowed: readonly K[];
  /** Required keys an unknown key probably meant: "is required" would repeat the same mistake. */
  meant: Set<string>;
  unknown: string[];
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export function open<K extends string>(
  p: Problems,
  value: unknown,
  path: string,
  allowed: readonly K[],
  expected: string,
  noKeysHint = 'no keys are allowed here',
): Open<K> | undefined {
  if (!isMapping(value)) {
    p.add(path, `must be ${expected} (got ${describeValue(value)})`);
    return undefined;
  }
  const o: Open<K> = { path, value, allowed, meant: new Set(), unknown: [] };
  for (const key of Object.keys(value)) {
    if ((allowed as readonly string[]).includes(key)) continue;
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

export function close(p: Problems, o: Open<string>): void {
  for (const message of o.unknown) p.add(o.path, message);
}

export function has<K extends string>(o: Open<K>, key: NoInfer<K>): boolean {
  return o.value[key] !== undefined;
}

export function missing<K extends string>(p: Problems, o: Open<K>, key: NoInfer<K>, hint: string): void {
  if (!o.meant.has(key)) p.add(join(o.path, key), `is required; ${hint}`);
}

/** Reads `key` with a rule of ../rules.ts; undefined when absent or wrong (the rule's problems recorded). */
export function readWith<K extends string, T>(
  p: Problems,
  o: Open<K>,
  key: NoInfer<K>,
  check: (v: unknown, name: string) => Checked<T>,
): T | undefined {
  const v = o.value[key];
  if (v === undefined) return undefined;
  const r = check(v, join(o.path, key));
  if (r.ok) return r.value;
  for (const problem of r.problems) p.add('', problem);
  return undefined;
}

export function readString<K extends string>(
  p: Problems,
  o: Open<K>,
  key: NoInfer<K>,
  opts: TextRule & { required?: string } = {},
): string | undefined {
  const v = o.value[key];
  if (v === undefined && opts.required !== undefined) missing(p, o, key, opts.required);
  if (v === null && opts.required !== undefined) {
    p.add(join(o.path, key), `must not be empty; ${opts.required}`);
    return undefined;
  }
  return readWith(p, o, key, (value, name) => checkText(value, name, opts));
}

export function readNumber<K extends string>(
  p: Problems,
  o: Open<K>,
  key: NoInfer<K>,
  bounds: NumberBounds,
): number | undefined {
  return readWith(p, o, key, (v, name) => checkNumber(v, name, bounds));
}

export function readDuration<K extends string>(
  p: Problems,
  o: Open<K>,
  key: NoInfer<K>,
  opts: DurationBounds & { required?: string },
): number | undefined {
  if (o.value[key] === undefined && opts.required !== undefined) missing(p, o, key, opts.required);
  return readWith(p, o, key, (v, name) => checkDuration(v, name, opts));
}

export function readEnum<K extends string, T extends string>(
  p: Problems,
  o: Open<K>,
  key: NoInfer<K>,
  values: readonly T[],
): T | undefined {
  return readWith(p, o, key, (v, name) => checkEnum(v, name, values));
}

export function readBoolean<K extends string>(p: Problems, o: Open<K>, key: NoInfer<K>): boolean | undefined {
  return readWith(p, o, key, checkBoolean);
}
