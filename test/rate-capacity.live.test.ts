/**
 * A rate the harness cannot carry is said at the start, and the harness's own drops during the run (#16 item 2):
 * no run silently drops 40 % of its probes. A read that sleeps 20 ms makes the latency known from below whatever
 * the machine's speed: 600 reads/s then need at least 12 connections in flight, more than the default pool (10)
 * or a pool of 2 can hold with the headroom.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { readResults } from '../src/results/reader.js';
import { bufferIo } from '../src/io.js';
import { runMain, type CliOutput } from './helpers/cli.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';

let srv: TestServer;
let dir: string;
let n = 0;

before(async () => {
  ({ srv, dir } = await serverAndDir('downtime-rate-'));
});

after(() => removeServerAndDir(srv, dir));

/** 3 s of 600 reads/s (no writes) on one worker, each read sleeping 20 ms on the server. */
function run(args: string[]): Promise<CliOutput> & { out: string } {
  const out = join(dir, `r${++n}.ndjson`);
  const base = ['run', '--target', srv.url, '--out', out, '--duration', '3s', '--no-report', '--no-progress'];
  const load = ['--reads', '600', '--writes', '0', '--workers', '1', '--read-sql', 'SELECT SLEEP(0.02) AS slept'];
  return Object.assign(runMain([...base, ...load, ...args], bufferIo({ MYSQL_PWD: srv.password })), { out });
}

function assertNoPassword(r: CliOutput, out: string): void {
  for (const text of [r.out, r.err, readFileSync(out, 'utf8')]) assert.ok(!text.includes(srv.password));
}

test('the default pool is raised to what the rate needs, with one info line', { timeout: 60_000 }, async () => {
  const r = run([]);
  const res = await r;
  assert.equal(res.code, 0, res.err);
  const m =
    /^downtime: pool size raised from 10 to (\d+) per op per worker \(1 worker\(s\)\): 600 reads\/s need ~(\d+) connection\(s\) in flight at the ([\d.]+) ms measured latency \(--pool-size sets it\)$/m.exec(
      res.err,
    );
  assert.ok(m !== null, res.err);
  const [poolSize, inFlight, latencyMs] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // At least the 20 ms sleep: 12 in flight, 18 per worker with the headroom; at most the half of the server's room.
  assert.ok(latencyMs >= 20, res.err);
  assert.ok(inFlight >= 12 && poolSize >= 18, res.err);
  assert.doesNotMatch(res.err, /rate-capacity/);
  const file = readResults(r.out);
  assert.equal(file.header.poolSize, poolSize, 'the header has the size the run used');
  const note = file.events.find((e) => e.kind === 'note' && e.name === 'pool-sized');
  assert.equal(note?.detail?.poolSize, poolSize);
  assert.equal(note?.detail?.fromPoolSize, 10);
  // The raised pool carries the rate: few probes dropped (a tolerance, not a speed).
  const t = file.trailer?.totals.read;
  assert.ok(t !== undefined && t.due >= 1500, JSON.stringify(t));
  assert.ok(t.dropped <= 0.1 * t.due, JSON.stringify(t));
  assertNoPassword(res, r.out);
});

test(
  'a --pool-size too small for the rate: one warning at the start, and the drops warned about once',
  { timeout: 60_000 },
  async () => {
    // A pool of 2 serves about 100 reads/s; 64 in flight queue at most 0.64 s, under the 2 s timeout, so the
    // database answers every probe sent and the rest are dropped by the harness.
    const r = run(['--pool-size', '2', '--max-in-flight', '64']);
    const res = await r;
    assert.equal(res.code, 0, 'a warning, not a refusal: ' + res.err);
    const start = res.err.match(/^downtime: warning: rate-capacity: .*$/gm) ?? [];
    assert.equal(start.length, 1, res.err);
    assert.match(
      start[0] ?? '',
      /^downtime: warning: rate-capacity: 600 reads\/s need ~\d+ connection\(s\) in flight at the [\d.]+ ms measured latency; the pool holds 1 worker\(s\) × 2; raise --pool-size to (\d+) \(or --workers\)$/,
    );
    assert.ok(Number(/--pool-size to (\d+)/.exec(start[0] ?? '')?.[1]) >= 18);
    const during = res.err.match(/^downtime: warning: harness-bottleneck: .*$/gm) ?? [];
    assert.equal(during.length, 1, 'once per op: ' + res.err);
    assert.match(
      during[0] ?? '',
      /^downtime: warning: harness-bottleneck: \d+ of \d+ reads due at \+\d s were dropped \(the in-flight cap was full\) while the database answered the probes sent: the harness, not the database, is the bottleneck; raise --pool-size \(now 2\) or --workers, or lower --reads$/,
    );
    const file = readResults(r.out);
    assert.equal(file.header.poolSize, 2);
    const warnings = file.events.filter((e) => e.kind === 'warning');
    const rate = warnings.find((e) => e.name === 'rate-capacity');
    assert.equal(rate?.detail?.op, 'read');
    assert.ok(Number(rate?.detail?.latencyMs) >= 20);
    const bottleneck = warnings.filter((e) => e.name === 'harness-bottleneck');
    assert.equal(bottleneck.length, 1);
    assert.equal(bottleneck[0]?.detail?.cause, 'dropped');
    assert.ok(Number(bottleneck[0]?.detail?.dropped) > 0.01 * Number(bottleneck[0]?.detail?.due));
    // The report lists both.
    const names = analyze(file).warnings.map((w) => w.name);
    assert.ok(names.includes('rate-capacity') && names.includes('harness-bottleneck'), names.join(', '));
    assertNoPassword(res, r.out);
  },
);
