import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { readResults } from '../src/results/reader.js';
import type { ResultsFile } from '../src/results/types.js';
import { sleep } from '../src/util/sleep.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';
import { runMain, spawnCli, type CliChild, type CliOutput } from './helpers/cli.js';
import { assertInvariants } from './helpers/invariants.js';

let srv: TestServer;
let dir: string;

before(async () => ({ srv, dir } = await serverAndDir('downtime-run-live-')));

after(() => removeServerAndDir(srv, dir));

function run(args: string[], env: Record<string, string> = { MYSQL_PWD: srv.password }): Promise<CliOutput> {
  return runMain(['run', '--target', srv.url, '--no-report', ...args], bufferIo(env));
}

function sum(r: ResultsFile, op: 'read' | 'write', field: 'due' | 'ok' | 'dropped'): number {
  return r.seconds[op].reduce((a, s) => a + s[field], 0);
}

test('a 10 s run at 100 reads/s + 50 writes/s records ~1000 reads and ~500 writes, all ok', async () => {
  const out = join(dir, 'steady.ndjson');
  let maxThreads = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const rows = await srv.server.rootQuery<{ Value: string }[]>("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
      maxThreads = Math.max(maxThreads, Number(rows[0]?.Value));
      await sleep(200);
    }
  })();
  const res = await run(['--reads', '100', '--writes', '50', '--duration', '10s', '--workers', '2', '--out', out]);
  polling = false;
  await poller;
  assert.equal(res.code, ExitCode.Ok, res.err);
  // The pool holds at most 10 connections per op per worker (+ the setup connection, open until the pools are, so
  // that a run refused for want of connections can remove its rows; + the poller's own connection).
  assert.ok(maxThreads <= 2 * 2 * 10 + 2, `Threads_connected peaked at ${maxThreads}`);
  assert.ok(maxThreads >= 2, 'the pool really held connections');
  const r = readResults(out);
  assertInvariants(r);
  assert.equal(r.complete, true);
  assert.equal(r.trailer?.reason, 'completed');
  // Exact, in fact: the run starts on a whole second and every due probe is recorded.
  assert.ok(Math.abs(sum(r, 'read', 'due') - 1000) <= 20, `reads due ${sum(r, 'read', 'due')}`);
  assert.ok(Math.abs(sum(r, 'write', 'due') - 500) <= 10, `writes due ${sum(r, 'write', 'due')}`);
  assert.equal(sum(r, 'read', 'ok'), sum(r, 'read', 'due'), 'all reads ok');
  assert.equal(sum(r, 'write', 'ok'), sum(r, 'write', 'due'), 'all writes ok');
  assert.equal(r.seconds.read.length, 10);
  // Who answered: the test server, every read.
  const ids = new Set(r.seconds.read.flatMap((s) => s.servers.map((x) => x.serverId)));
  assert.deepEqual([...ids], [srv.server.serverId]);
  assert.equal(r.events.filter((e) => e.kind === 'identity').length, 1, 'one server answered throughout');
  // One progress line per second on stderr.
  assert.equal(res.err.split('\n').filter((l) => /^\[\s+\d+s \] reads \d+ ok/.test(l)).length, 10, res.err);
  // Every acknowledged write was found on the server afterwards, then the run's rows were removed.
  assert.deepEqual(r.trailer?.writes, {
    acknowledged: sum(r, 'write', 'ok'),
    lost: 0,
    lostSeconds: [],
    inDoubtCommitted: 0,
    inDoubtAbsent: 0,
    checkedAt: srv.url,
  });
  const rows = await srv.server.rootQuery<{ n: number }[]>(
    `SELECT COUNT(*) AS n FROM ${srv.database}.downtime_probe WHERE run_id = ?`,
    [r.header.runId],
  );
  assert.equal(Number(rows[0]?.n), 0, 'cleaned up');
  // The password appears nowhere.
  for (const text of [readFileSync(out, 'utf8'), res.out, res.err]) assert.ok(!text.includes(srv.password));
});

test('a per-probe client ends each connection with COM_QUIT: the server counts none of them aborted', async () => {
  // mysql2 calls end()'s callback before it writes COM_QUIT; a client that destroyed its socket there quit
  // without saying so, and the server counted (and, at log_warnings=2, logged) every probe's connection.
  const aborted = async (): Promise<number> => {
    const rows = await srv.server.rootQuery<{ Value: string }[]>("SHOW GLOBAL STATUS LIKE 'Aborted_clients'");
    return Number(rows[0]?.Value);
  };
  const before = await aborted();
  const out = join(dir, 'per-probe-quit.ndjson');
  const res = await run([
    '--reads',
    '100',
    '--writes',
    '50',
    '--duration',
    '3s',
    '--connection',
    'per-probe',
    '--out',
    out,
  ]);
  assert.equal(res.code, ExitCode.Ok, res.err);
  const r = readResults(out);
  const probes = sum(r, 'read', 'ok') + sum(r, 'write', 'ok');
  assert.ok(probes >= 400, `probes answered: ${probes}`);
  // A probe still in flight when the run ends may be cut off; the rest quit.
  const n = (await aborted()) - before;
  assert.ok(n <= 5, `${n} of ${probes} per-probe connections were aborted, not quit`);
});

for (const connection of ['pool', 'per-probe'] as const) {
  test(`stopping the server mid-run (${connection}) turns probes into classified failures, and the run carries on`, async () => {
    const out = join(dir, `stop-${connection}.ndjson`);
    const running = run([
      '--reads',
      '100',
      '--writes',
      '50',
      '--duration',
      '9s',
      '--timeout',
      '1s',
      '--connection',
      connection,
      '--out',
      out,
    ]);
    // The run starts on the next whole second after setup; stop ~2.5 s in, for ~3 s.
    await sleep(3000);
    const stoppedAt = Date.now();
    await srv.server.stop();
    await sleep(2500);
    await srv.server.start();
    const restartedAt = Date.now();
    const res = await running;
    assert.equal(res.code, ExitCode.Ok, res.err);
    const r = readResults(out);
    assertInvariants(r);
    assert.equal(r.complete, true);
    for (const op of ['read', 'write'] as const) {
      const failed = new Map<string, number>();
      for (const s of r.seconds[op])
        for (const [c, n] of Object.entries(s.failed)) failed.set(c, (failed.get(c) ?? 0) + n);
      const total = [...failed.values()].reduce((a, b) => a + b, 0);
      // ≥ 2.5 s of outage at these rates; classes are the ones a stopped server produces.
      assert.ok(total >= (op === 'read' ? 200 : 100), `${op} failures: ${JSON.stringify([...failed])}`);
      assert.ok(failed.has('refused'), `${op}: connections refused while down: ${JSON.stringify([...failed])}`);
      for (const cls of failed.keys()) {
        assert.ok(
          ['refused', 'lost-connection', 'server-shutdown', 'reset', 'connection-killed', 'timeout'].includes(cls),
          `unexpected class ${cls}`,
        );
      }
      // Probes succeed again after the restart: the last second is all ok.
      const last = r.seconds[op].at(-1);
      assert.equal(last?.ok, last?.due, `${op}: recovered after restart`);
    }
    // Failures fall inside the stop (with a timeout's slack either side).
    const failSecs = r.seconds.read.filter((s) => s.ok < s.due).map((s) => s.sec * 1000);
    assert.ok((failSecs[0] ?? 0) >= Math.floor(stoppedAt / 1000) * 1000 - 1000);
    assert.ok((failSecs.at(-1) ?? Infinity) <= restartedAt + 1000);
  });
}

test("rows deleted behind the harness's back are reported as lost writes, exactly", async () => {
  const out = join(dir, 'lost.ndjson');
  const running = run(['--reads', '20', '--writes', '50', '--duration', '4s', '--out', out]);
  // Wait until the run has acknowledged its first 30 writes, then delete ten of them.
  let runId: string | undefined;
  for (let i = 0; i < 100 && runId === undefined; i++) {
    await sleep(100);
    const rows = await srv.server.rootQuery<{ run_id: string }[]>(
      `SELECT run_id FROM ${srv.database}.downtime_probe WHERE seq = 29 ORDER BY written_at DESC LIMIT 1`,
    );
    runId = rows[0]?.run_id;
  }
  assert.ok(runId, 'the run wrote');
  await srv.server.rootQuery(`DELETE FROM ${srv.database}.downtime_probe WHERE run_id = ? AND seq BETWEEN 10 AND 19`, [
    runId,
  ]);
  const res = await running;
  // The default threshold lost_writes==0 fails the run, and says so.
  assert.equal(res.code, ExitCode.ThresholdsFailed, res.err);
  assert.match(res.err, /threshold\(s\) failed: lost_writes==0/);
  const r = readResults(out);
  assert.equal(r.header.runId, runId);
  assert.equal(r.trailer?.writes?.lost, 10);
  assert.deepEqual(r.trailer?.writes?.lostSeconds, [Math.floor(r.header.startMs / 1000)]);
  assert.equal(r.trailer?.writes?.acknowledged, sum(r, 'write', 'ok'));
  assert.match(res.err, /10 acknowledged write\(s\) are missing/);
});

test('run --json with DOWNTIME_* variables: stdout is the summary.json object and nothing else; a flag beats its variable', async () => {
  const out = join(dir, 'json.ndjson');
  const io = bufferIo({
    MYSQL_PWD: srv.password,
    DOWNTIME_TARGET: srv.url,
    DOWNTIME_DURATION: '2s',
    DOWNTIME_READS: '20',
    DOWNTIME_WRITES: '10',
    DOWNTIME_WORKERS: '1',
  });
  const code = await main(['run', '--json', '--out', out, '--reads', '30'], io);
  const stdout = io.out.join('');
  assert.equal(code, ExitCode.Ok, io.err.join(''));
  const summary = JSON.parse(stdout) as { file: string; thresholds: { expr: string; ok: boolean }[] };
  assert.equal(stdout, readFileSync(join(dir, 'json', 'summary.json'), 'utf8'));
  assert.ok(summary.thresholds.every((t) => t.ok));
  const err = io.err.join('');
  assert.ok(err.includes(`${out}\n`), 'the results path goes to stderr');
  assert.match(err, /summary\.json\n/);
  const r = readResults(out);
  assert.equal(r.header.durationMs, 2000);
  assert.equal(r.header.ops.read?.ratePerSec, 30, '--reads beats DOWNTIME_READS');
  assert.equal(r.header.ops.write?.ratePerSec, 10);
});

test('without --out, results go to reports/ in the working directory, made if missing', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'downtime-cwd-'));
  try {
    const io = { ...bufferIo({ MYSQL_PWD: srv.password }), cwd };
    const code = await main(['run', '--target', srv.url, '--duration', '1s', '--no-report', '--no-progress'], io);
    assert.equal(code, ExitCode.Ok, io.err.join(''));
    const path = io.out.join('').split('\n')[0] ?? '';
    assert.match(path, new RegExp(`^${cwd}/reports/run-\\d{8}-\\d{6}\\.ndjson$`));
    assert.equal(readResults(path).complete, true);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('a wrong password: one line, exit 4, password not echoed', async () => {
  const res = await run(['--duration', '2s', '--out', join(dir, 'pw.ndjson')], { MYSQL_PWD: 'definitely-wrong-pw' });
  assert.equal(res.code, ExitCode.AccessDenied, res.err);
  assert.match(
    res.err,
    /refused the credentials of user downtime \(password from MYSQL_PWD\); check the user and password/,
  );
  assert.equal(res.err.trim().split('\n').length, 1);
  assert.ok(!res.err.includes('definitely-wrong-pw'));
});

test('no password given to a user that has one: says none was given and where to give it (exit 4)', async () => {
  const res = await run(['--duration', '2s', '--out', join(dir, 'nopw.ndjson')], {});
  assert.equal(res.code, ExitCode.AccessDenied, res.err);
  assert.match(
    res.err,
    /refused user downtime without a password \(none was given\); give it with MYSQL_PWD, --password-file or --password-command$/m,
  );
  assert.doesNotMatch(res.err, /password from none/);
});

/** Runs the real CLI as a child process (for signals). */
function spawnRun(out: string): CliChild {
  return spawnCli(['run', '--target', srv.url, '--no-report', '--duration', '30s', '--out', out], {
    env: { MYSQL_PWD: srv.password },
    boundMs: 40_000,
  });
}

test('SIGINT stops cleanly: the file is complete, reason interrupted, exit 0', async () => {
  const out = join(dir, 'sigint.ndjson');
  const p = spawnRun(out);
  await p.progressed(2);
  p.child.kill('SIGINT');
  const code = await p.exited;
  assert.equal(code, ExitCode.Ok, p.output().stderr);
  const r = readResults(out);
  assertInvariants(r);
  assert.equal(r.complete, true);
  assert.equal(r.trailer?.reason, 'interrupted');
  assert.ok(r.seconds.read.length >= 2 && r.seconds.read.length <= 6, `seconds: ${r.seconds.read.length}`);
  assert.ok(!readFileSync(out, 'utf8').includes(srv.password));
  assert.ok(!p.output().stderr.includes(srv.password));
});

test('a second SIGINT exits at once with 130, even while probes hang; the file stays readable', async () => {
  const out = join(dir, 'sigint2.ndjson');
  const p = spawnRun(out);
  await p.progressed(1);
  // A hung server: probes in flight would take the whole 2 s timeout to end.
  srv.server.pause();
  try {
    await sleep(300);
    p.child.kill('SIGINT');
    await sleep(100);
    const secondAt = Date.now();
    p.child.kill('SIGINT');
    assert.equal(await p.exited, ExitCode.Interrupted, p.output().stderr);
    assert.ok(Date.now() - secondAt < 1500, `exited ${Date.now() - secondAt} ms after the second SIGINT`);
  } finally {
    srv.server.resume();
  }
  const r = readResults(out);
  assertInvariants(r);
  assert.ok(r.seconds.read.length >= 1);
});

test('kill -9 mid-run leaves a readable, incomplete results file', async () => {
  const out = join(dir, 'kill9.ndjson');
  const p = spawnRun(out);
  await p.progressed(3);
  p.child.kill('SIGKILL');
  await p.exited;
  const r = readResults(out);
  assert.equal(r.complete, false);
  assertInvariants(r);
  // Written as it goes: every second already reported on stderr is in the file.
  assert.ok(r.seconds.read.length >= 3, `seconds kept: ${r.seconds.read.length}`);
});
