import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roomPerPool } from '../src/load/capacity.js';
import { BottleneckWatch } from '../src/load/bottleneck.js';
import {
  autoPoolSize,
  capacityPerSec,
  carries,
  median,
  shortfallWarning,
  sizedNote,
  slotsNeededPerWorker,
  type Harness,
} from '../src/load/rate-capacity.js';
import type { SecondRecord } from '../src/results/types.js';

const pool = (o: Partial<Harness> = {}): Harness => ({
  connection: 'pool',
  workers: 2,
  poolSize: 16,
  maxInFlight: 256,
  ...o,
});

test("capacity: Little's law over workers × min(pool, in-flight cap per worker)", () => {
  const rows: [h: Harness, latencyMs: number, expected: number][] = [
    [pool(), 3.1, (2 * 16 * 1000) / 3.1], // the pool binds: 2 × 16 connections
    [pool({ maxInFlight: 20 }), 3.1, (2 * 10 * 1000) / 3.1], // the in-flight cap binds: ceil(20 / 2) per worker
    [pool({ maxInFlight: 5 }), 1, 2 * 3 * 1000], // ceil(5 / 2) = 3 per worker
    [pool({ connection: 'per-probe', maxInFlight: 32, workers: 1 }), 15, (32 * 1000) / 15], // no pool: the cap
  ];
  for (const [h, latencyMs, expected] of rows) {
    assert.ok(Math.abs(capacityPerSec(h, latencyMs) - expected) < 1e-6, JSON.stringify(h));
  }
});

test('carries: a rate up to 70 % of the capacity', () => {
  const h = pool({ workers: 1, poolSize: 10 }); // 10 connections at 1 ms: 10,000/s
  assert.equal(carries(h, 7000, 1), true);
  assert.equal(carries(h, 7001, 1), false);
  assert.equal(carries(h, 10_500, 3.1), false);
});

test('slotsNeededPerWorker: the in-flight need per worker with the headroom, rounded up', () => {
  const rows: [rate: number, latencyMs: number, workers: number, expected: number][] = [
    [10_500, 3.1, 2, 24], // 32.55 in flight / 2 / 0.7 = 23.25
    [600, 20, 1, 18], // 12 / 0.7 = 17.1
    [1, 0.2, 4, 1], // never below one
  ];
  for (const [rate, latencyMs, workers, expected] of rows) {
    assert.equal(slotsNeededPerWorker(rate, latencyMs, workers), expected, `${rate}/s at ${latencyMs} ms`);
  }
});

test('median: the middle sample (the lower one of an even count)', () => {
  assert.equal(median([]), null);
  assert.equal(median([5]), 5);
  assert.equal(median([9, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2);
});

test('autoPoolSize: the need, within the in-flight cap, the flag limit and the server room', () => {
  const h = pool({ poolSize: 10 });
  const reads = [{ op: 'read' as const, ratePerSec: 10_500 }];
  assert.deepEqual(autoPoolSize(h, reads, 3.1, null), { poolSize: 24, cappedBy: null });
  assert.deepEqual(autoPoolSize(h, reads, 3.1, 15), { poolSize: 15, cappedBy: 'server' });
  assert.deepEqual(autoPoolSize(pool({ poolSize: 10, maxInFlight: 40 }), reads, 3.1, null), {
    poolSize: 20,
    cappedBy: 'max-in-flight',
  });
  // Never below the default, even with the server out of room.
  assert.deepEqual(autoPoolSize(h, reads, 3.1, 4), { poolSize: 10, cappedBy: 'server' });
  const huge = [{ op: 'read' as const, ratePerSec: 100_000 }];
  assert.deepEqual(autoPoolSize(pool({ workers: 1, maxInFlight: 100_000 }), huge, 20, null), {
    poolSize: 1000,
    cappedBy: 'pool-size-limit',
  });
});

test('roomPerPool: the pools as opened plus half of what the server has left beside them', () => {
  const need = { workers: 2, ops: 2, perPool: 10 };
  const limits = { maxConnections: 100, maxUserConnections: 0, connected: 20, userConnected: 5 };
  assert.equal(roomPerPool(need, limits, 0.5), 15); // 80 free - 40 opened = 40; half over 4 pools: +5
  assert.equal(roomPerPool(need, { ...limits, maxUserConnections: 30 }, 0.5), 10); // the account's 25 < 40
  assert.equal(roomPerPool(need, { ...limits, maxConnections: null, maxUserConnections: null }, 0.5), null);
});

test('shortfallWarning: the need, what holds it, the flag to change', () => {
  assert.equal(
    shortfallWarning(pool(), { op: 'read', ratePerSec: 10_500 }, 3.1),
    '10500 reads/s need ~33 connection(s) in flight at the 3.1 ms measured latency; the pool holds 2 worker(s) × 16; raise --pool-size to 24 (or --workers)',
  );
  // The in-flight cap binds (pool of 200, 32 per worker).
  assert.equal(
    shortfallWarning(pool({ poolSize: 200, maxInFlight: 64 }), { op: 'write', ratePerSec: 30_000 }, 3.1),
    '30000 writes/s need ~93 connection(s) in flight at the 3.1 ms measured latency; the in-flight cap holds 2 worker(s) × 32; raise --max-in-flight to 134',
  );
  // Both bind.
  assert.equal(
    shortfallWarning(pool({ workers: 1, poolSize: 1, maxInFlight: 16 }), { op: 'read', ratePerSec: 600 }, 20),
    '600 reads/s need ~12 connection(s) in flight at the 20.0 ms measured latency; the pool holds 1 worker(s) × 1; raise --pool-size to 18 and --max-in-flight to 18',
  );
  const perProbe = pool({ connection: 'per-probe', workers: 1, maxInFlight: 32 });
  assert.equal(
    shortfallWarning(perProbe, { op: 'read', ratePerSec: 3000 }, 15),
    '3000 reads/s need ~45 connection(s) in flight at the 15.0 ms measured connect + query latency; the in-flight cap holds 1 worker(s) × 32; raise --max-in-flight to 65',
  );
  // A default pool raised as far as the server's free connections allow.
  assert.equal(
    shortfallWarning(pool({ poolSize: 15 }), { op: 'read', ratePerSec: 10_500 }, 3.1, {
      fromPoolSize: 10,
      cappedBy: 'server',
    }),
    "10500 reads/s need ~33 connection(s) in flight at the 3.1 ms measured latency; the pool, raised from 10, holds 2 worker(s) × 15; the server's free connections allow no more (auto-sizing takes at most 50 % of them): give --pool-size, raise max_connections, or lower --reads",
  );
  // … or as far as the in-flight cap: raising the cap raises the pool with it.
  assert.equal(
    shortfallWarning(pool({ poolSize: 20, maxInFlight: 40 }), { op: 'read', ratePerSec: 10_500 }, 3.1, {
      fromPoolSize: 10,
      cappedBy: 'max-in-flight',
    }),
    '10500 reads/s need ~33 connection(s) in flight at the 3.1 ms measured latency; the pool, raised from 10, holds 2 worker(s) × 20; raise --max-in-flight to 48',
  );
});

test('sizedNote: one line naming the old and new size and the busiest op', () => {
  const rates = [
    { op: 'read' as const, ratePerSec: 10_500 },
    { op: 'write' as const, ratePerSec: 1 },
  ];
  assert.equal(
    sizedNote(pool({ poolSize: 24 }), 10, rates, 3.1),
    'pool size raised from 10 to 24 per op per worker (2 worker(s)): 10500 reads/s need ~33 connection(s) in flight at the 3.1 ms measured latency (--pool-size sets it)',
  );
});

const T0 = 1_000_000;

function second(o: Partial<SecondRecord> & Pick<SecondRecord, 'due'>): SecondRecord {
  return {
    type: 'second',
    op: 'read',
    sec: T0 / 1000,
    ok: o.due - (o.dropped ?? 0),
    failed: {},
    dropped: 0,
    hist: null,
    runs: [],
    servers: [],
    sendLagUs: { p99: 100, max: 200 },
    ...o,
  };
}

test('BottleneckWatch: drops with the database answering warn once per op', () => {
  const watch = new BottleneckWatch(pool({ workers: 1, poolSize: 2, maxInFlight: 64 }), 2000, T0);
  assert.equal(watch.observe(second({ due: 600, dropped: 6 })), null, '1 % is not more than 1 %');
  const w = watch.observe(second({ sec: T0 / 1000 + 3, due: 600, dropped: 412, ok: 188 }));
  assert.ok(w !== null);
  const message =
    '412 of 600 reads due at +3 s were dropped (the in-flight cap was full) while the database answered the probes sent: the harness, not the database, is the bottleneck; raise --pool-size (now 2) or --workers, or lower --reads';
  assert.equal(w.line, `downtime: warning: harness-bottleneck: ${message}\n`);
  assert.deepEqual(w.event, {
    atMs: T0 + 3000,
    endMs: T0 + 4000,
    kind: 'warning',
    name: 'harness-bottleneck',
    detail: { op: 'read', cause: 'dropped', due: 600, dropped: 412, failed: 0, message: message },
  });
  assert.equal(watch.observe(second({ sec: T0 / 1000 + 4, due: 600, dropped: 500, ok: 100 })), null, 'once per op');
  // The other op is watched on its own.
  const writes = watch.observe(second({ op: 'write', due: 100, dropped: 50, ok: 50 }));
  assert.match(writes?.line ?? '', /raise --pool-size \(now 2\) or --workers, or lower --writes\n$/);
  // A pool as large as the in-flight cap: the cap is what to raise.
  const capped = new BottleneckWatch(pool({ workers: 1, poolSize: 100, maxInFlight: 64 }), 2000, T0);
  const c = capped.observe(second({ due: 600, dropped: 100 }));
  assert.match(c?.line ?? '', /raise --max-in-flight \(now 64\), or lower --reads\n$/);
});

test('BottleneckWatch: drops during an outage (probes failing) are the database’s', () => {
  const watch = new BottleneckWatch(pool(), 2000, T0);
  assert.equal(watch.observe(second({ due: 600, dropped: 300, ok: 200, failed: { timeout: 100 } })), null);
  assert.equal(watch.observe(second({ due: 600, dropped: 500, ok: 0, failed: { timeout: 100 } })), null);
  assert.equal(watch.observe(second({ due: 600, dropped: 0, ok: 600 })), null);
});

test('BottleneckWatch: send lag over half the timeout for 3 s in a row', () => {
  const watch = new BottleneckWatch(pool({ workers: 2 }), 2000, T0, 'pool: ');
  const late = (s: number, p99Ms: number): SecondRecord =>
    second({ sec: T0 / 1000 + s, due: 100, sendLagUs: { p99: p99Ms * 1000, max: p99Ms * 1000 } });
  assert.equal(watch.observe(late(0, 1500)), null);
  assert.equal(watch.observe(late(1, 1500)), null);
  assert.equal(watch.observe(late(2, 900)), null, 'under half the timeout: the count starts again');
  assert.equal(watch.observe(late(3, 1200)), null);
  assert.equal(watch.observe(late(5, 1200)), null, 'a gap: not in a row');
  assert.equal(watch.observe(late(6, 1200)), null);
  const w = watch.observe(late(7, 1300));
  assert.equal(
    w?.line,
    'downtime: warning: harness-bottleneck: pool: reads were sent late for 3 s in a row from +5 s (send lag p99 1.30 s, over half the 2.00 s timeout): the harness, not the database, is the bottleneck; add --workers (now 2), or lower --reads\n',
  );
  assert.equal(w?.event.atMs, T0 + 5000);
  assert.equal(w?.event.endMs, T0 + 8000);
  assert.deepEqual(w?.event.detail?.cause, 'send-lag');
});
