import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bufferIo } from '../src/io.js';
import { runMain } from './helpers/cli.js';

/** Every command's help, and the top-level one. */
const HELPS = [[], ['run'], ['report'], ['compare'], ['merge'], ['demo'], ['sandbox'], ['scenario']];

async function help(args: string[], columns: number | undefined): Promise<string> {
  const io = bufferIo();
  if (columns !== undefined) io.columns = columns;
  const r = await runMain([...args, '--help'], io);
  assert.equal(r.code, 0, r.err);
  return r.out;
}

/** Words as help prints them; a `[type]` glued to the end of a description counts apart. */
const words = (text: string): string[] => text.split(/\s+|(?=\[)/).filter((w) => w !== '');

test('help wraps at word boundaries: every word of a narrow help is a word of the unwrapped one', async () => {
  for (const args of HELPS) {
    const wide = new Set(words(await help(args, 2000)));
    for (const columns of [80, 100, 132]) {
      const text = await help(args, columns);
      const broken = words(text).filter((w) => !wide.has(w));
      assert.deepEqual(broken, [], `downtime ${args.join(' ')} --help at ${columns} columns breaks words`);
      // Lines stay within the width, except where one word is itself longer than its column.
      for (const line of text.split('\n')) {
        if (line.length > columns)
          assert.ok(
            words(line).some((w) => w.length > columns / 3),
            `${columns}: ${line}`,
          );
      }
    }
  }
});

test('help is 100 columns wide when stdout is not a terminal', async () => {
  const text = await help(['run'], undefined);
  const longest = Math.max(...text.split('\n').map((l) => l.length));
  assert.ok(longest <= 100 && longest > 90, `longest line ${longest}`);
});
