/**
 * Before its start, a run warms its connections with the read probe (engine.ts warmCode) and prepares its
 * statements (checkPreparable). A server that takes the connections and then stops answering right then (a
 * blackhole between the pool opening and the start) must not hold the run: every warm-up query is bounded by
 * the timeout, as a probe is, and the run starts, measures the outage and ends on time.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { bufferIo } from '../src/io.js';
import { runMeasurement } from '../src/load/measurement.js';
import { readResults } from '../src/results/reader.js';
import { startProxy, type EndpointProxy } from '../src/sandbox/endpoint/proxy.js';
import { sleep } from '../src/util/sleep.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';
import { targetAt, testRunOptions } from './helpers/run-options.js';

let srv: TestServer;
let dir: string;
let proxy: EndpointProxy;

before(async () => {
  ({ srv, dir } = await serverAndDir('downtime-warm-hang-'));
  proxy = await startProxy({ target: { host: '127.0.0.1', port: srv.server.port } });
});
after(async () => {
  await proxy?.close();
  await removeServerAndDir(srv, dir);
});

for (const connection of ['pool', 'per-probe'] as const) {
  test(
    `${connection}: a server that stops answering during the warm-up does not hold the run`,
    { timeout: 30_000 },
    async (t) => {
      const out = join(dir, `${connection}.ndjson`);
      const POOL = 4;
      const TIMEOUT_MS = 500;
      const FAULT_MS = 5000;
      // A slow read (50 ms) keeps the warm-up busy for its full second, so the fault surely lands inside it.
      const running = runMeasurement(
        testRunOptions({
          target: targetAt('127.0.0.1', proxy.port, srv.user, srv.database),
          password: srv.password,
          rates: { read: 20, write: 0 },
          durationMs: 3000,
          connection,
          timeoutMs: TIMEOUT_MS,
          poolSize: POOL,
          maxInFlight: 64,
          out,
          verify: false,
          readSql: 'SELECT SLEEP(0.05) AS slept, @@server_id AS server_id',
        }),
        bufferIo(),
      );
      // The moment the workers' connections are there, answers stop for 2 s. Pool: all of them open.
      // Per-probe: the set-up connection comes and goes first, then the warm-up's first connect.
      const startedMs = Date.now();
      const waitFor = async (ok: (n: number) => boolean, what: string): Promise<void> => {
        while (!ok(proxy.connectionCount())) {
          assert.ok(Date.now() - startedMs < 15_000, `${what} within 15 s`);
          await sleep(2);
        }
      };
      if (connection === 'pool') await waitFor((n) => n >= POOL, 'the pool opened');
      else {
        await waitFor((n) => n >= 1, 'the set-up connected');
        await waitFor((n) => n === 0, 'the set-up closed');
        await waitFor((n) => n >= 1, 'the warm-up connected');
      }
      const fault = await proxy.fault({ kind: 'blackhole' });
      const faultAtMs = Date.now();
      // The fault outlasts the warm-up: held by it, the run would start only after the fault (or never).
      await sleep(FAULT_MS);
      await fault.clear();
      const result = await running;
      assert.equal(result.trailer.reason, 'completed');
      const file = readResults(out);
      assert.equal(file.complete, true);
      const t0Ms = file.header.ops.read?.t0Ms ?? Infinity;
      // Each warm-up step gives up after one timeout: the schedule starts within the warm-up's second and a few
      // timeouts of the fault, while it is still on.
      assert.ok(
        t0Ms - faultAtMs < 1000 + 4 * TIMEOUT_MS + 1000,
        `the schedule started ${t0Ms - faultAtMs} ms after the fault began (it lasted ${FAULT_MS} ms)`,
      );
      t.diagnostic(`schedule started ${Math.round(t0Ms - faultAtMs)} ms after the fault began`);
      const due = file.seconds.read.reduce((a, s) => a + s.due, 0);
      assert.ok(due >= 55 && due <= 61, `the whole schedule was due: ${due}`);
      // The fault's remainder, measured from the start on, is the database's outage, as a probe would see it.
      const reads = analyze(file).outages.filter((o) => o.op === 'read');
      assert.ok(reads.length >= 1, 'the fault is measured as an outage');
      assert.ok((reads[0]?.startMs ?? Infinity) - t0Ms < 200, 'from the start on');
    },
  );
}
