import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../src/cli.js';
import { bufferIo } from '../src/io.js';

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo(env);
  const code = await main(args, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

test('--version and --help work', async () => {
  const v = await cli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+/);
  const h = await cli(['run', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /--connection/);
});

// Bad input (flags, URLs, files, outputs, targets that are not MySQL): the table in test/bad-input.test.ts.
