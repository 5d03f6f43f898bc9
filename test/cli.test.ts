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

test('downtime completion prints a bash completion script, and the completions it asks for', async () => {
  const script = await cli(['completion']);
  assert.equal(script.code, 0, script.err);
  assert.match(script.out, /complete -o bashdefault -o default -F _downtime_yargs_completions downtime/);
  assert.match(script.out, /downtime --get-yargs-completions/);
  const commands = await cli(['--get-yargs-completions', 'downtime', '']);
  assert.match(commands.out, /^run$/m);
  assert.match(commands.out, /^report$/m);
  const flags = await cli(['--get-yargs-completions', 'downtime', 'run', '--ta']);
  assert.match(flags.out, /^--target$/m);
  assert.equal(flags.err, '');
});
