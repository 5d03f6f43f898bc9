import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PoolScout, type ScoutedPool } from '../src/load/pool-scout.js';
import { sleep } from '../src/util/sleep.js';

/**
 * The scout's rules against a pool that says when it is stuck and whose connections beside it answer when told:
 * when it opens them, how many at once, when it stops. (test/edges.live.test.ts runs it against a real blackhole.)
 */
class FakePool implements ScoutedPool {
  stuckSince: number | null = null;
  /** Scouts opened: their timeout, and how to settle them. */
  readonly opened: { timeoutMs: number; done: (err: Error | null) => void }[] = [];
  stuckSinceMs(): number | null {
    return this.stuckSince;
  }
  openBeside(timeoutMs: number, done: (err: Error | null) => void): void {
    this.opened.push({ timeoutMs, done });
  }
}

const now = (): number => performance.timeOrigin + performance.now();

test('a stuck pool is scouted every interval, a bounded number at once, until one answers', async () => {
  const pool = new FakePool();
  const reaches: [number, number][] = [];
  const scout = new PoolScout(pool, 10, 2000, (startedMs, atMs) => reaches.push([startedMs, atMs]));
  scout.connected(50); // the pool's handshakes take ~50 ms: stuck after 4 × 50 = 200 ms
  assert.equal(scout.stuckAfterMs(), 200);
  try {
    // Not stuck: nothing is opened, and the watch stops by itself.
    scout.watch();
    await sleep(40);
    assert.equal(pool.opened.length, 0);
    // Stuck for 5 ms only: nothing yet.
    pool.stuckSince = now() - 5;
    scout.watch();
    await sleep(30);
    assert.equal(pool.opened.length, 0, 'not before the handshakes have been stuck for 200 ms');
    // Stuck for long: one scout per 10 ms tick, each bounded by 200 ms, at most ceil(200 / 10) + 1 = 21 in
    // flight however long it stays stuck (none of them settles here).
    pool.stuckSince = now() - 1000;
    for (let i = 0; i < 100 && pool.opened.length < 21; i++) await sleep(10);
    await sleep(50);
    assert.equal(pool.opened.length, 21, `${pool.opened.length} scouts in flight`);
    assert.ok(pool.opened.every((o) => o.timeoutMs === 200));
    // Two fail (still dark): room for two more.
    pool.opened[0]?.done(new Error('timeout'));
    pool.opened[1]?.done(new Error('timeout'));
    for (let i = 0; i < 100 && pool.opened.length < 23; i++) await sleep(10);
    await sleep(30);
    assert.equal(pool.opened.length, 23, 'two more, and no more');
    // One answers: reported once; another answering later is not reported, and no more are opened.
    const before = now();
    pool.opened[21]?.done(null);
    pool.opened[22]?.done(null);
    assert.equal(reaches.length, 1);
    const [startedMs, atMs] = reaches[0] as [number, number];
    assert.ok(startedMs < atMs && atMs >= before, 'started before it was answered');
    pool.opened[2]?.done(new Error('timeout'));
    await sleep(40);
    assert.equal(pool.opened.length, 23, 'nothing more to learn while the pool is still stuck');
    // The pool connects (recovers) and later gets stuck again: scouted again.
    scout.connected(6);
    pool.stuckSince = now() - 1000;
    scout.watch();
    for (let i = 0; i < 100 && pool.opened.length === 23; i++) await sleep(10);
    assert.ok(pool.opened.length > 23, 'a second outage is scouted too');
    pool.opened.at(-1)?.done(null);
    assert.equal(reaches.length, 2);
  } finally {
    scout.close();
  }
  // Closed: no more.
  const n = pool.opened.length;
  pool.stuckSince = now() - 100;
  scout.watch();
  await sleep(30);
  assert.equal(pool.opened.length, n);
});

test('the stuck bound follows the slowest recent handshake, within 25 ms and half the connect timeout', () => {
  const scout = new PoolScout(new FakePool(), 1, 300, () => undefined);
  assert.equal(scout.stuckAfterMs(), 25, 'no handshake seen yet');
  scout.connected(2);
  assert.equal(scout.stuckAfterMs(), 25);
  scout.connected(20);
  assert.equal(scout.stuckAfterMs(), 80);
  scout.connected(100);
  assert.equal(scout.stuckAfterMs(), 150, 'half the 300 ms connect timeout');
  for (let i = 0; i < 16; i++) scout.connected(3);
  assert.equal(scout.stuckAfterMs(), 25, 'slow handshakes are forgotten after 16 more');
});
