import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocatedPerSecond } from '../bench/alloc.js';

const gc = (isolate: string, ms: number, allocated: number): string =>
  `[1234:${isolate}]   ${ms} ms: pause=0.8 mutator=40.8 gc=s reduce_memory=0 allocated=${allocated} promoted=0 semi_space_copied=0`;

test("V8's trace: bytes per second over each isolate's steady part, summed over isolates", () => {
  const trace = [
    'a line of the program itself',
    gc('0xaaa', 100, 9_000_000), // start-up: before the steady part
    gc('0xbbb', 50, 5_000_000),
    gc('0xaaa', 2_000, 1),
    gc('0xaaa', 3_000, 4_000_000), // 4 MB in the second after the first steady collection
    gc('0xbbb', 2_100, 7),
    gc('0xbbb', 4_100, 1_000_000), // 1 MB over 2 s
    gc('0xaaa', 4_000, 4_000_000),
    gc('0xaaa', 4_500, 50_000_000), // the last collection (shutdown): outside the steady part
    gc('0xbbb', 4_700, 50_000_000),
  ].join('\n');
  // aaa: steady part [1,100 ms, 3,500 ms]: 2,000 → 3,000 ms, 4 MB in 1 s; bbb: [1,050, 3,700]: only 2,100: left out.
  assert.equal(allocatedPerSecond(trace, 1, 1), 4_000_000);
  // A shorter skip at the end: aaa 2,000 → 4,000 ms, 8 MB in 2 s; bbb [1,050 ms, 4,200 ms] 2,100 → 4,100, 1 MB in 2 s.
  assert.equal(allocatedPerSecond(trace, 1, 0.5), 4_000_000 + 500_000);
});

test('no isolate with two collections in its steady part: nothing to say', () => {
  assert.equal(allocatedPerSecond(gc('0xaaa', 100, 1) + '\n' + gc('0xaaa', 900, 1), 1, 0), null);
  assert.equal(allocatedPerSecond('no trace at all', 0, 0), null);
});
