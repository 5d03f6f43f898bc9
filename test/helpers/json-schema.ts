/**
 * Validates values against a JSON Schema (draft 2020-12) with ajv, as an editor or another tool would.
 * Strict mode: a keyword ajv does not know (a misspelt `minLenght`) or an ambiguous schema is an error
 * when compiling, so the published scenario schema cannot quietly say less than it seems to.
 * Tested in test/scenario-schema.test.ts.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

export type Schema = Record<string, unknown>;

// `required` and `properties` in a subschema without `type: object` (under oneOf, if, not) are how the
// schema says "when this key is there" about keys declared at the level above; strictTypes and
// strictRequired would demand they be repeated in each. Every other strict check stays on.
const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true });
const compiled = new WeakMap<Schema, ValidateFunction>();

/** Returns the failures (`$.load.reads: must be <= 100000`), empty when the value is valid. */
export function validate(root: Schema, value: unknown): string[] {
  let check = compiled.get(root);
  if (check === undefined) {
    check = ajv.compile(root);
    compiled.set(root, check);
  }
  if (check(value)) return [];
  return (check.errors ?? []).map((e) => `$${e.instancePath.replace(/\//g, '.')}: ${e.message ?? e.keyword}`);
}
