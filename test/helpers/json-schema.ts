/**
 * A small JSON Schema (draft 2020-12) validator for the keywords the scenario schema uses. No JSON Schema
 * library is a dependency; this one throws on any keyword it does not implement, so the schema cannot
 * quietly outgrow it. Tested in test/scenario-schema.test.ts.
 */
export type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(['$schema', 'title', 'description', 'default']);
const KEYWORDS = new Set([
  '$ref',
  '$defs',
  'type',
  'enum',
  'const',
  'pattern',
  'minimum',
  'maximum',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
]);

/** Returns the instance paths that fail, empty when valid. */
export function validate(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  check(root, root, value, '$', errors);
  return errors;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function check(root: Schema, s: Schema, v: unknown, path: string, errors: string[]): void {
  for (const key of Object.keys(s)) {
    if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key)) throw new Error(`validator does not know keyword ${key}`);
  }
  const fail = (why: string): void => void errors.push(`${path}: ${why}`);
  const ok = (sub: Schema, value: unknown, at: string): boolean => {
    const e: string[] = [];
    check(root, sub, value, at, e);
    return e.length === 0;
  };
  if (typeof s.$ref === 'string') {
    const name = /^#\/\$defs\/(.+)$/.exec(s.$ref)?.[1];
    const target = name === undefined ? undefined : (root.$defs as Record<string, Schema>)[name];
    if (target === undefined) throw new Error(`unresolvable $ref ${s.$ref}`);
    check(root, target, v, path, errors);
  }
  if (s.type !== undefined) {
    const t = typeOf(v);
    if (!(t === s.type || (s.type === 'number' && t === 'integer'))) fail(`not ${String(s.type)}`);
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => e === v)) fail('not in enum');
  if ('const' in s && s.const !== v) fail('not const');
  if (typeof s.pattern === 'string' && typeof v === 'string' && !new RegExp(s.pattern, 'u').test(v)) {
    fail(`does not match ${s.pattern}`);
  }
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) fail('below minimum');
    if (typeof s.maximum === 'number' && v > s.maximum) fail('above maximum');
  }
  if (typeOf(v) === 'object') {
    const o = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (!Object.hasOwn(o, r)) fail(`missing ${r}`);
    for (const [k, val] of Object.entries(o)) {
      // Own properties only: `__proto__` or `constructor` in a file must not find Object.prototype's.
      const sub = Object.hasOwn(props, k) ? props[k] : undefined;
      if (sub !== undefined) check(root, sub, val, `${path}.${k}`, errors);
      else if (s.additionalProperties === false) fail(`unknown ${k}`);
    }
  }
  if (Array.isArray(v) && s.items !== undefined) {
    v.forEach((item, i) => check(root, s.items as Schema, item, `${path}[${i}]`, errors));
  }
  if (Array.isArray(s.allOf)) for (const sub of s.allOf as Schema[]) check(root, sub, v, path, errors);
  if (Array.isArray(s.anyOf) && !(s.anyOf as Schema[]).some((sub) => ok(sub, v, path))) fail('anyOf');
  if (Array.isArray(s.oneOf) && (s.oneOf as Schema[]).filter((sub) => ok(sub, v, path)).length !== 1) fail('oneOf');
  if (s.not !== undefined && ok(s.not as Schema, v, path)) fail('not');
  if (s.if !== undefined && s.then !== undefined && ok(s.if as Schema, v, path)) {
    check(root, s.then as Schema, v, path, errors);
  }
}
