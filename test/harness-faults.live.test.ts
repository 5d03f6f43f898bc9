import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { analyze } from '../src/analyze/index.js';
import { ExitCode } from '../src/errors.js';
import { readResults } from '../src/results/reader.js';
import { sleep } from '../src/util/sleep.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';
import { spawnCli, type CliChild } from './helpers/cli.js';
import { assertInvariants } from './helpers/invariants.js';

/**
 * The harness's own faults (reliability issue, high items): each is the harness's trouble and must be said as
 * such — never a hang, never the database's downtime, never a lost write passed with exit 0, never a password
 * stored. Every run is the real CLI in a child process against a server of the test's own.
 */
let srv: TestServer;
let dir: string;

before(async () => ({ srv, dir } = await serverAndDir('downtime-harness-faults-')));

after(() => removeServerAndDir(srv, dir));

/** The CLI as a child process; killed if it outlives `boundMs` (the test then fails: nothing may wait forever). */
function cli(args: string[], env: Record<string, string> = {}, boundMs = 60_000): CliChild {
  return spawnCli(args, { env: { MYSQL_PWD: srv.password, ...env }, boundMs });
}

async function connectionsOf(user: string): Promise<number> {
  const rows = await srv.server.rootQuery<{ n: number }[]>(
    'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?',
    [user],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Waits (bounded) until the harness's connections are gone from the server. */
async function noConnectionsLeft(user: string): Promise<number> {
  let n = 0;
  for (let i = 0; i < 50; i++) {
    n = await connectionsOf(user);
    if (n === 0) return 0;
    await sleep(100);
  }
  return n;
}

function oneLineError(stderr: string): void {
  assert.ok(!/\n\s+at /.test(stderr), `no stack trace:\n${stderr}`);
  assert.ok(!stderr.includes(srv.password), 'no password');
}

test('a second run with the same --out is refused at once (exit 6), holding no connection; the first goes on', async () => {
  const out = join(dir, 'same-out.ndjson');
  const first = cli(['run', '--target', srv.url, '--no-report', '--duration', '6s', '--out', out]);
  await first.progressed(1);
  for (const extra of [[], ['--force']]) {
    const startedAt = Date.now();
    const second = cli(
      ['run', '--target', srv.url, '--no-report', '--duration', '6s', '--out', out, ...extra],
      {},
      15_000,
    );
    const code = await second.exited;
    const { stderr } = second.output();
    assert.equal(code, ExitCode.Output, stderr);
    assert.match(stderr, /is being written by another downtime run \(pid \d+\); choose another --out/);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.ok(Date.now() - startedAt < 10_000, `refused after ${Date.now() - startedAt} ms`);
    oneLineError(stderr);
  }
  assert.equal(await first.exited, ExitCode.Ok, first.output().stderr);
  const r = readResults(out);
  assertInvariants(r);
  assert.equal(r.complete, true, 'the first run wrote its whole file, untouched by the second');
  assert.ok(!existsSync(join(dir, '.same-out.ndjson.lock')), 'the lock is gone with the run');
  assert.equal(await noConnectionsLeft(srv.user), 0);
});

test('--out /dev/full --force: the run stops at once with exit 6 and one line; no connection is left', async () => {
  const started = Date.now();
  const p = cli(
    ['run', '--target', srv.url, '--no-report', '--duration', '30s', '--out', '/dev/full', '--force'],
    {},
    30_000,
  );
  const code = await p.exited;
  const { stderr } = p.output();
  assert.equal(code, ExitCode.Output, stderr);
  assert.match(stderr, /cannot write the results file \/dev\/full: no space left on the device/);
  assert.ok(Date.now() - started < 20_000, `ended after ${Date.now() - started} ms, long before the 30 s run`);
  oneLineError(stderr);
  assert.equal(await noConnectionsLeft(srv.user), 0);
  assert.ok(existsSync('/dev/full') && !readdirSync('/dev').some((n) => n.startsWith('.full')), '/dev/full untouched');
});

test('--out /dev/null --force runs to the end (a device cannot be synced: not an error)', async () => {
  const p = cli(['run', '--target', srv.url, '--no-report', '--duration', '2s', '--out', '/dev/null', '--force']);
  assert.equal(await p.exited, ExitCode.Ok, p.output().stderr);
});

test('a disk that fills up mid-run: exit 6, one line, the seconds before it kept, rows cleaned up', async (t) => {
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  if (mounted.status !== 0) {
    t.skip(`cannot mount a tmpfs here (${mounted.stderr.toString().trim()}): needs root`);
    return;
  }
  try {
    const out = join(mnt, 'run.ndjson');
    const p = cli(
      ['run', '--target', srv.url, '--no-report', '--duration', '30s', '--timeout', '500ms', '--out', out],
      {},
      40_000,
    );
    await p.progressed(3);
    // Fill what is left of the file system.
    const fd = openSync(join(mnt, 'filler'), 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) writeSync(fd, chunk);
    } catch {
      // ENOSPC: full
    }
    closeSync(fd);
    const filledAt = Date.now();
    const code = await p.exited;
    const { stderr } = p.output();
    assert.equal(code, ExitCode.Output, stderr);
    assert.ok(Date.now() - filledAt < 15_000, 'stopped soon after the disk filled, not at the end of the run');
    assert.match(stderr, /downtime: cannot write the results file .*no space left on the device; the run was stopped/);
    oneLineError(stderr);
    rmSync(join(mnt, 'filler'));
    const r = readResults(out);
    assertInvariants(r);
    assert.ok(r.seconds.read.length >= 3, 'the seconds written before the disk filled are kept');
    const rows = await srv.server.rootQuery<{ n: number }[]>(
      `SELECT COUNT(*) AS n FROM ${srv.database}.downtime_probe WHERE run_id = ?`,
      [r.header.runId],
    );
    assert.equal(Number(rows[0]?.n), 0, "the run's rows were deleted");
    assert.equal(await noConnectionsLeft(srv.user), 0);
  } finally {
    spawnSync('umount', ['-l', mnt]);
  }
});

test('lost writes with a probe user that cannot DELETE: lost writes fail the run (99); the clean-up is a warning', async () => {
  const user = 'nodelete';
  const password = 'pw-nodelete-' + Math.random().toString(36).slice(2);
  await srv.server.rootQuery(`CREATE USER IF NOT EXISTS ?@'127.0.0.1' IDENTIFIED BY ?`, [user, password]);
  await srv.server.rootQuery(`CREATE USER IF NOT EXISTS ?@'localhost' IDENTIFIED BY ?`, [user, password]);
  // The table exists already (earlier runs); this user may read and insert, not delete.
  await srv.server.rootQuery(
    `CREATE TABLE IF NOT EXISTS ${srv.database}.downtime_probe (run_id CHAR(36) NOT NULL, seq BIGINT NOT NULL, intended_ms BIGINT NOT NULL, PRIMARY KEY (run_id, seq))`,
  );
  for (const host of ['127.0.0.1', 'localhost']) {
    await srv.server.rootQuery(`GRANT SELECT, INSERT ON ${srv.database}.* TO ?@?`, [user, host]);
  }
  const out = join(dir, 'nodelete.ndjson');
  const url = srv.url.replace(`${srv.user}@`, `${user}@`);
  const p = cli(['run', '--target', url, '--no-report', '--duration', '4s', '--out', out], { MYSQL_PWD: password });
  await p.progressed(2);
  // Acknowledged writes vanish behind the harness's back.
  await srv.server.rootQuery(`DELETE FROM ${srv.database}.downtime_probe WHERE seq < 40 AND seq >= 0`);
  const code = await p.exited;
  const { stderr, stdout } = p.output();
  assert.equal(code, ExitCode.ThresholdsFailed, stderr);
  assert.match(stderr, /\d+ acknowledged write\(s\) are missing/);
  assert.match(stderr, /could not delete the run's rows from downtime_probe/);
  assert.match(stdout, /lost_writes==0: \d+ — FAILED/);
  const r = readResults(out);
  assert.ok((r.trailer?.writes?.lost ?? 0) > 0, 'the verification was kept');
  assert.ok(r.events.some((e) => e.name === 'cleanup-failed'));
  assert.ok(!readFileSync(out, 'utf8').includes(password));
});

test('a verification that cannot finish fails lost_writes (unknown, not zero)', async () => {
  const out = join(dir, 'unverified.ndjson');
  const p = cli(['run', '--target', srv.url, '--no-report', '--duration', '3s', '--out', out]);
  await p.progressed(1);
  // A lock on the probe table held past the run: verification waits at most 10 s (lock_wait_timeout), then says so.
  const locker = await mysql.createConnection({ host: '127.0.0.1', port: srv.server.port, user: 'root' });
  try {
    await locker.query(`LOCK TABLES ${srv.database}.downtime_probe WRITE`);
    const heldAt = Date.now();
    const code = await p.exited;
    const { stderr, stdout } = p.output();
    assert.equal(code, ExitCode.ThresholdsFailed, stderr);
    assert.ok(Date.now() - heldAt < 30_000, `verification bounded (${Date.now() - heldAt} ms)`);
    assert.match(stderr, /could not verify writes: Lock wait timeout exceeded/);
    assert.match(stdout, /lost_writes==0: FAILED — cannot be measured: write verification failed \(Lock wait timeout/);
    const r = readResults(out);
    assert.match(r.trailer?.verifyError ?? '', /Lock wait timeout/);
    assert.equal(analyze(r).writesUnverified, r.trailer?.verifyError);
  } finally {
    await locker.query('UNLOCK TABLES');
    await locker.end();
  }
});

test('a stalled harness (SIGSTOP 3 s) is not a database outage: its probes are stalled, the stall a warning', async () => {
  const out = join(dir, 'stall.ndjson');
  const p = cli(['run', '--target', srv.url, '--no-report', '--duration', '9s', '--out', out]);
  await p.progressed(2);
  const pid = p.child.pid as number;
  process.kill(pid, 'SIGSTOP');
  await sleep(3000);
  process.kill(pid, 'SIGCONT');
  assert.equal(await p.exited, ExitCode.Ok, p.output().stderr);
  assert.match(p.output().stderr, /warning: harness-stall: [23]\.\d\d s at \+\d/);
  const r = readResults(out);
  assertInvariants(r);
  const s = analyze(r);
  assert.deepEqual(
    s.outages.map((o) => `${o.op} ${o.durationMs} ${JSON.stringify(o.errors)}`),
    [],
    'no outage: the server answered all along',
  );
  const stalled = (s.ops.read?.stalled ?? 0) + (s.ops.write?.stalled ?? 0);
  assert.ok(stalled > 0, 'probes the harness could not watch are stalled');
  // Probes due more than a timeout before the harness woke are stalled; later ones were sent late and answered:
  // up, with their latency counted from when they were sent (the stall is not the database's latency).
  assert.ok((s.ops.read?.stallMs ?? 0) > 500, `read stall time ${s.ops.read?.stallMs} ms`);
  assert.ok((s.ops.read?.latencyMs?.max ?? Infinity) < 1000, `read latency max ${s.ops.read?.latencyMs?.max} ms`);
  const warning = r.events.find((e) => e.name === 'harness-stall');
  assert.ok(warning !== undefined && warning.endMs !== undefined);
  const lengthMs = (warning.endMs as number) - warning.atMs;
  assert.ok(lengthMs > 2500 && lengthMs < 4500, `stall of ${lengthMs} ms recorded`);
  assert.equal(s.availability.full, 1, 'what was observed was all up');
});

test('a password in an action command never reaches the results file, stdout or stderr', async () => {
  const scenario = join(dir, 'pw-action.yaml');
  const secret = 'Sup3rSecretPw';
  writeFileSync(
    scenario,
    [
      'name: pw-action',
      `target: ${srv.url}`,
      'duration: 2s',
      'actions:',
      `  - {at: 1s, run: "echo mariadb -uroot -p${secret} -h db; echo MYSQL_PWD=${secret}; echo --password=${secret}"}`,
      '',
    ].join('\n'),
  );
  const out = join(dir, 'pw-action.ndjson');
  const p = cli(['run', scenario, '--out', out, '--no-report']);
  assert.equal(await p.exited, ExitCode.Ok, p.output().stderr);
  const text = readFileSync(out, 'utf8');
  assert.ok(text.includes('-p***'), 'the command is stored, redacted');
  for (const t of [text, p.output().stdout, p.output().stderr]) assert.ok(!t.includes(secret), 'no secret anywhere');
});
