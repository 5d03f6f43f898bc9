/**
 * A pool the server cannot open in full is the harness's problem, not the database's downtime (#17 item 8): the
 * run is refused before the start (exit 3) with the numbers and the flags that change them, leaving no results
 * file and no row. Before, the run went on and the shortage was reported as 125 write outage windows.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { ExitCode } from '../src/errors.js';
import { readResults } from '../src/results/reader.js';
import { checkPoolsOpened } from '../src/load/capacity.js';
import { ProbeEngine } from '../src/load/engine.js';
import { compileSql, defaultReadSql, defaultWriteSql } from '../src/load/probes.js';
import type { WorkerConfig } from '../src/load/protocol.js';
import { shortRun, type CliOutput } from './helpers/cli.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';

let srv: TestServer;
let dir: string;
let n = 0;
let maxConnections = 151;

before(async () => {
  ({ srv, dir } = await serverAndDir('downtime-capacity-'));
  const rows = await srv.server.rootQuery<{ v: number }[]>('SELECT @@GLOBAL.max_connections AS v');
  maxConnections = Number(rows[0]?.v ?? 151);
  await srv.server.rootQuery("CREATE USER 'limited'@'%' IDENTIFIED BY 'pw-limited' WITH MAX_USER_CONNECTIONS 5");
  await srv.server.rootQuery("GRANT SELECT, INSERT, DELETE, CREATE ON probe.* TO 'limited'@'%'");
});

after(() => removeServerAndDir(srv, dir));

function run(args: string[], opts: { url?: string; password?: string } = {}): Promise<CliOutput> & { out: string } {
  return shortRun(srv, join(dir, `r${++n}.ndjson`), ['--connection', 'pool', ...args], opts);
}

async function probeRows(): Promise<number> {
  const rows = await srv.server
    .rootQuery<{ n: number }[]>('SELECT COUNT(*) AS n FROM probe.downtime_probe')
    .catch(() => [{ n: 0 }]);
  return Number(rows[0]?.n);
}

/** Connections open now, once the last run's have gone (they close asynchronously): the same twice, 300 ms apart. */
async function connected(): Promise<number> {
  const read = async (): Promise<number> => {
    const rows = await srv.server.rootQuery<{ Value: string }[]>("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
    return Number(rows[0]?.Value);
  };
  let last = await read();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await read();
    if (now === last) return now;
    last = now;
  }
  return last;
}

function assertRefused(res: CliOutput, out: string, message: RegExp): void {
  assert.equal(res.code, ExitCode.Unreachable, res.err);
  assert.match(res.err, message);
  assert.equal(res.err.trim().split('\n').length, 1, res.err);
  assert.doesNotMatch(res.err, /\n\s+at /, 'no stack trace');
  assert.ok(!existsSync(out), 'no results file');
}

test('max_connections below what the pools need: refused before the start, with the numbers (exit 3)', async () => {
  const rowsBefore = await probeRows();
  // Room for 6 more connections; 2 workers × 2 ops × 4 = 16 wanted.
  await srv.server.rootQuery(`SET GLOBAL max_connections = ${(await connected()) + 6}`);
  try {
    const r = run(['--workers', '2', '--pool-size', '4']);
    assertRefused(
      await r,
      r.out,
      /has room for \d+ more connection\(s\) \(max_connections \d+, \d+ open\) but the run's pools open 16 \(2 worker\(s\) × 2 op\(s\) × 4 connections\): lower --pool-size \(or --workers\), or raise the limit; nothing was measured \(max_connections\)/,
    );
  } finally {
    await srv.server.rootQuery(`SET GLOBAL max_connections = ${maxConnections}`);
  }
  assert.equal(await probeRows(), rowsBefore, 'the run left no row');
});

test("an account's MAX_USER_CONNECTIONS below what the pools need: refused (exit 3), not measured as downtime", async () => {
  const rowsBefore = await probeRows();
  const url = srv.url.replace(`${srv.user}@`, 'limited@');
  // 1 worker × 2 ops × 4 = 8 wanted; the account may hold 5.
  const r = run(['--workers', '1', '--pool-size', '4'], { url, password: 'pw-limited' });
  assertRefused(
    await r,
    r.out,
    /the probe user may open 4 more connection\(s\) on .* \(max_user_connections 5, 1 open\) but the run's pools open 8 .*\(max_user_connections\)/,
  );
  assert.equal(await probeRows(), rowsBefore, 'the run left no row');
});

test('enough room: the same pools under a limit that fits them run as usual, every probe ok', async () => {
  await srv.server.rootQuery(`SET GLOBAL max_connections = ${(await connected()) + 12}`);
  try {
    const r = run(['--workers', '1', '--pool-size', '4']);
    const res = await r;
    assert.equal(res.code, ExitCode.Ok, res.err);
    const f = readResults(r.out);
    assert.equal(f.complete, true);
    for (const op of ['read', 'write'] as const) {
      assert.ok(
        f.seconds[op].every((s) => s.ok === s.due),
        `${op}: every probe ok`,
      );
    }
  } finally {
    await srv.server.rootQuery(`SET GLOBAL max_connections = ${maxConnections}`);
  }
});

test('a neighbour takes the room after the check: the pools opening meet 1040, and the run is refused on what they opened', async () => {
  const cfg: WorkerConfig = {
    worker: 0,
    workers: 1,
    runId: 'capacity-test',
    ops: {
      read: { ratePerSec: 10, sql: compileSql(defaultReadSql('downtime_probe'), '--read-sql') },
      write: { ratePerSec: 10, sql: compileSql(defaultWriteSql('downtime_probe'), '--write-sql') },
    },
    timeoutMs: 2000,
    connectTimeoutMs: 2000,
    connection: 'pool',
    maxInFlight: 100,
    poolSize: 4,
    conn: { host: '127.0.0.1', port: srv.server.port, user: srv.user, database: srv.database, password: srv.password },
    reportEveryMs: 200,
  };
  // The engine a worker thread runs, in this thread: 2 ops × 4 wanted, room for 3 (MariaDB's max_connections is at
  // least 10: a neighbour holds the rest).
  const now = await connected();
  const limit = Math.max(10, now + 3);
  await srv.server.rootQuery(`SET GLOBAL max_connections = ${limit}`);
  const neighbour: mysql.Connection[] = [];
  const engine = new ProbeEngine(cfg, () => undefined);
  try {
    for (let i = 0; i < limit - now - 3; i++) {
      neighbour.push(
        await mysql.createConnection({
          host: '127.0.0.1',
          port: srv.server.port,
          user: srv.user,
          password: srv.password,
          database: srv.database,
        }),
      );
    }
    const { pools } = await engine.warm();
    // Room for 3: the server lets at most 3 open. Eight handshakes race for them at once and the server's count
    // of connections races with them, so fewer may open (seen once in CI: 2).
    const opened = pools.reduce((s, p) => s + p.opened, 0);
    assert.ok(opened >= 1 && opened <= 3, JSON.stringify(pools));
    assert.ok(pools.some((p) => p.errorClass === 'too-many-connections' && p.opened < p.wanted));
    assert.throws(
      () => checkPoolsOpened(pools, { workers: 1, ops: 2, perPool: 4 }, 'db:3306'),
      (err: Error & { exitCode?: number }) => {
        assert.match(
          err.message,
          new RegExp(
            `^db:3306 let the run's pools open only ${opened} of their 8 \\(1 worker\\(s\\) × 2 op\\(s\\) × 4 connections\\) before the start \\(Too many connections\\): lower --pool-size`,
          ),
        );
        return true;
      },
    );
  } finally {
    engine.stop(0);
    for (const c of neighbour) c.destroy();
    await srv.server.rootQuery(`SET GLOBAL max_connections = ${maxConnections}`);
  }
});
