import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** From dist/test/helpers/ back to the sources' test/golden/. */
const GOLDEN_DIR = fileURLToPath(new URL('../../../test/golden/', import.meta.url));

/** Compares a chart configuration against test/golden/<name>.json; UPDATE_GOLDEN=1 rewrites the file instead. */
export function golden(name: string, value: unknown): void {
  const path = join(GOLDEN_DIR, `${name}.json`);
  const text = JSON.stringify(value, null, 2) + '\n';
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(path, text);
    return;
  }
  assert.ok(existsSync(path), `golden ${path} missing: run with UPDATE_GOLDEN=1`);
  assert.deepEqual(
    JSON.parse(text),
    JSON.parse(readFileSync(path, 'utf8')),
    `chart config ${name} differs from its golden`,
  );
}
