/**
 * Probes due while the worker was busy go out from the next answer's callback, not when the timer runs
 * (engine.ts sendDue): under load the event loop runs a batch of answers before its timers, and a probe due in
 * the middle of the batch waited for the batch's end.
 *
 * The engine runs on a clock of the test's: while the first probe (a 200 ms query) runs, the clock jumps ahead by
 * five probe intervals. The engine's timer for the next probe was set for one interval (1 s) of real time;
 * the first probe's answer comes before that, and must send the five probes now due.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeEngine } from '../src/load/engine.js';
import { compileSql } from '../src/load/probes.js';
import type { WorkerConfig } from '../src/load/protocol.js';
import { sleep } from '../src/util/sleep.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let srv: TestServer;

before(async () => {
  srv = await startTestServer();
});
after(() => srv?.cleanup());

/** Statements the server has executed through the binary protocol (only the engine's probes use it here). */
async function executed(): Promise<number> {
  const rows = await srv.server.rootQuery<{ Value: string }[]>("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'");
  return Number(rows[0]?.Value);
}

test('probes that fell due while the worker was busy are sent from the next answer, before the timer', async () => {
  const cfg: WorkerConfig = {
    worker: 0,
    workers: 1,
    runId: 'send-due-test',
    ops: { read: { ratePerSec: 1, sql: compileSql('SELECT SLEEP(0.2) AS slept', '--read-sql') } },
    // Long enough that probes sent 0.2–4.2 s after their intended time are not the harness's stall (a tenth).
    timeoutMs: 60_000,
    connectTimeoutMs: 5_000,
    connection: 'pool',
    maxInFlight: 100,
    poolSize: 8,
    conn: { host: '127.0.0.1', port: srv.server.port, user: srv.user, database: srv.database, password: srv.password },
    reportEveryMs: 200,
  };
  let clock = Date.now();
  const engine = new ProbeEngine(
    cfg,
    () => undefined,
    () => clock,
  );
  const before = await executed();
  const t0 = clock;
  const startedReal = Date.now();
  engine.start(t0, t0 + 60_000); // probe 0 now; then the timer for probe 1, in 1 s of real time
  let n = 0;
  while (n < 1 && Date.now() - startedReal < 600) {
    n = (await executed()) - before;
    await sleep(5);
  }
  assert.equal(n, 1, 'probe 0 is running');
  clock = t0 + 5_200; // probes 1–5 (due at +1 … +5 s) are due now
  while (Date.now() - startedReal < 950) {
    n = (await executed()) - before;
    if (n >= 6) break;
    await sleep(10);
  }
  const elapsed = Date.now() - startedReal;
  engine.stop(clock);
  assert.ok(elapsed < 1000, `the check itself took ${elapsed} ms: the timer may have fired`);
  // Probe 0, then probes 1–5 from its answer (a few may still be waiting for a new connection of the pool).
  assert.ok(n >= 3, `${n} probes executed within ${elapsed} ms; the timer would have sent probe 1 at 1 s`);
  for (let i = 0; i < 100 && engine.openConnections() > 0; i++) await sleep(20);
});
