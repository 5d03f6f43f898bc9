/**
 * The JSON Schema of scenario files agrees with the parser: the shipped scenarios and good files pass
 * both, bad files the schema can express fail both (the table of bad files lives in scenario.test.ts and
 * is checked against the schema there), and docs/scenarios.md embeds exactly this schema.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { scenarioSchema } from '../src/scenario/schema.js';
import { loadScenario } from '../src/scenario/parse.js';
import { validate, type Schema } from './helpers/json-schema.js';

const repoRoot = new URL('../../', import.meta.url);

const schema = scenarioSchema as unknown as Schema;

test('the validator (ajv, draft 2020-12, strict): catches each keyword the scenario schema uses', () => {
  const s: Schema = {
    type: 'object',
    additionalProperties: false,
    required: ['a'],
    properties: {
      a: { type: 'integer', minimum: 1, maximum: 3 },
      b: { enum: ['x', 'y'] },
      c: { type: 'string', pattern: '^z+$' },
      d: { type: 'array', items: { $ref: '#/$defs/n' } },
      e: { oneOf: [{ const: 1 }, { type: 'integer' }] },
      f: { not: { const: 'no' }, anyOf: [{ const: 'yes' }, { const: 'maybe' }] },
    },
    if: { required: ['b'], properties: { b: { const: 'y' } } },
    then: { required: ['c'] },
    $defs: { n: { type: 'number' } },
  };
  assert.deepEqual(validate(s, { a: 2, b: 'x', c: 'zz', d: [1, 2.5], e: 2, f: 'yes' }), []);
  // [value, where it fails, what ajv says]: one row per keyword.
  const rows: [unknown, string, RegExp][] = [
    [{}, '$', /required property 'a'/],
    [{ a: 2.5 }, '$.a', /must be integer/],
    [{ a: 0 }, '$.a', /must be >= 1/],
    [{ a: 4 }, '$.a', /must be <= 3/],
    [{ a: 1, b: 'q' }, '$.b', /allowed values/],
    [{ a: 1, c: 'za' }, '$.c', /must match pattern/],
    [{ a: 1, d: [1, '2'] }, '$.d.1', /must be number/],
    [{ a: 1, e: 1 }, '$.e', /must match exactly one schema in oneOf/],
    [{ a: 1, f: 'no' }, '$.f', /must NOT be valid/],
    [{ a: 1, f: 'nah' }, '$.f', /must match a schema in anyOf/],
    [{ a: 1, b: 'y' }, '$', /required property 'c'/],
    [{ a: 1, zz: 1 }, '$', /must NOT have additional properties/],
  ];
  for (const [value, at, message] of rows) {
    const errors = validate(s, value);
    assert.ok(
      errors.some((e) => e.startsWith(`${at}: `) && message.test(e)),
      `${JSON.stringify(value)}: ${errors.join('; ')}`,
    );
  }
  // Strict: a misspelt keyword is an error, not a schema that checks nothing.
  assert.throws(() => validate({ minLenght: 1 }, 'x'), /unknown keyword: "minLenght"/);
});

test('the published schema compiles under ajv strict mode', () => {
  assert.deepEqual(validate(schema, { name: 't', sandbox: 'single', duration: '1m' }), []);
});

test('every shipped scenario parses and passes the schema', () => {
  const dir = new URL('scenarios/', repoRoot);
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 4, `expected the shipped scenarios in ${dir.pathname}, found ${files.join(', ')}`);
  for (const file of files) {
    const path = new URL(file, dir);
    const parsed = loadScenario(path.pathname);
    assert.equal(parsed.name, file.replace(/\.(ya?ml|json)$/, ''), `${file}: name matches the file name`);
    assert.deepEqual(validate(schema, parseYaml(readFileSync(path, 'utf8'))), [], file);
  }
});

test('docs/scenarios.md embeds exactly the schema from src/scenario/schema.ts', () => {
  const doc = readFileSync(new URL('docs/scenarios.md', repoRoot), 'utf8');
  const block = /<!-- schema:begin -->\n```json\n([\s\S]*?)\n```\n<!-- schema:end -->/.exec(doc)?.[1];
  assert.ok(
    block !== undefined,
    'docs/scenarios.md has a ```json block between <!-- schema:begin --> and <!-- schema:end -->',
  );
  assert.equal(
    block,
    JSON.stringify(scenarioSchema, null, 2),
    'docs/scenarios.md is stale: replace its schema block with the output of ' +
      `node -e "import('./dist/src/scenario/schema.js').then(m => console.log(JSON.stringify(m.scenarioSchema, null, 2)))"`,
  );
});

test('docs/scenario.schema.json (for editors) is the same schema', () => {
  const file = JSON.parse(readFileSync(new URL('docs/scenario.schema.json', repoRoot), 'utf8')) as unknown;
  assert.deepEqual(
    file,
    JSON.parse(JSON.stringify(scenarioSchema)),
    'docs/scenario.schema.json is stale: regenerate it from dist/src/scenario/schema.js (then npx prettier --write it)',
  );
});

test('the shipped scenarios point editors at the schema', () => {
  const dir = new URL('scenarios/', repoRoot);
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const first = readFileSync(new URL(file, dir), 'utf8').split('\n')[0];
    assert.equal(first, '# yaml-language-server: $schema=../docs/scenario.schema.json', file);
  }
});
