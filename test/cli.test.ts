import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bufferIo } from '../src/io.js';
import { runMain, type CliOutput } from './helpers/cli.js';

const cli = (args: string[], env: Record<string, string> = {}): Promise<CliOutput> => runMain(args, bufferIo(env));

test('--version and --help work', async () => {
  const v = await cli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+/);
  const h = await cli(['run', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /--connection/);
});

// Bad input (flags, URLs, files, outputs, targets that are not MySQL): the table in test/bad-input.test.ts.
