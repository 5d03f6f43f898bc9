import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { main } from '../src/cli.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo, wallClockMs } from '../src/io.js';
import { readResults } from '../src/results/reader.js';
import type { Op, ResultsFile } from '../src/results/types.js';
import { sleep } from '../src/util/sleep.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';
import { spawnCli } from './helpers/cli.js';
import { answerLatencyAt, isShutdownBlip } from './helpers/lag.js';

const HOSTS = 3;

let srv: TestServer;
let dir: string;
const children: ChildProcess[] = [];

before(async () => ({ srv, dir } = await serverAndDir('downtime-merge-live-')));

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await removeServerAndDir(srv, dir);
});

/** One `downtime run` process, as one load host would run it. Resolves with its exit code and stderr. */
async function runHost(out: string): Promise<{ code: number; stderr: string }> {
  const host = spawnCli(
    ['run', '--target', srv.url, '--reads', '50', '--writes', '50', '--duration', '6s', '--timeout', '1s'].concat([
      '--no-report',
      '--no-progress',
      '--out',
      out,
    ]),
    { env: { MYSQL_PWD: srv.password } },
  );
  children.push(host.child);
  const code = await host.exited;
  return { code, stderr: host.output().stderr };
}

/** The latency of the answer a window ended at; `full` ends with a read's or a write's. */
function endLatency(file: ResultsFile, op: Op | 'full', endMs: number): number {
  const ops: Op[] = op === 'full' ? ['read', 'write'] : [op];
  return Math.max(...ops.map((o) => answerLatencyAt(file, o, endMs)));
}

/**
 * Several load hosts (here: processes) probe one server at once; it is stopped for ~2 s in the middle. The
 * merged file must show one window per op, bracketed by the stop and the restart, as one host's file would.
 */
test(`${HOSTS} harness processes, one server stopped for ~2 s: the merged report has one window per op`, async (t) => {
  const files = Array.from({ length: HOSTS }, (_, i) => join(dir, `host-${i}.ndjson`));
  const running = files.map((f) => runHost(f));
  // Three processes starting on a shared 2-core machine can take seconds: stop the server only once every
  // host is probing (its file has second records), then one more second of clean probes.
  const deadlineMs = Date.now() + 20_000;
  while (!files.every((f) => existsSync(f) && readFileSync(f, 'utf8').includes('"type":"second"'))) {
    assert.ok(Date.now() < deadlineMs, 'every harness started probing within 20 s');
    await sleep(100);
  }
  await sleep(1000);
  const stopCalledMs = wallClockMs();
  await srv.server.stop();
  const stoppedMs = wallClockMs();
  await sleep(2000);
  const startCalledMs = wallClockMs();
  await srv.server.start();
  const readyMs = wallClockMs();
  for (const r of await Promise.all(running)) assert.equal(r.code, ExitCode.Ok, r.stderr);

  const merged = join(dir, 'all.ndjson');
  const io = bufferIo({});
  io.cwd = dir;
  assert.equal(await main(['merge', ...files, '--out', merged], io), ExitCode.Ok, io.err.join(''));
  t.diagnostic(io.out.join('').trim());
  const file = readResults(merged);
  assert.equal(file.header.sources?.length, HOSTS);
  assert.equal(Object.keys(file.sourceSeconds ?? {}).length, HOSTS);
  // Same machine, same clock: the skew estimate is within the bound (max(50 ms, one probe interval)).
  const skewWarnings = file.events.filter((e) => e.kind === 'warning' && e.name === 'clock-skew');
  assert.equal(
    io.err.join(''),
    '',
    `no clock-skew warning between processes on one machine: ${JSON.stringify(skewWarnings.map((e) => e.detail))}`,
  );
  assert.ok(!readFileSync(merged, 'utf8').includes(srv.password), 'no password in the merged file');

  const summary = analyze(file);
  t.diagnostic(`skews: ${JSON.stringify(file.header.sources?.map((x) => [x.skewMs, x.skewFrom]))}`);
  for (const f of files) {
    const own = analyze(readResults(f));
    t.diagnostic(
      `${f}: ` +
        own.outages
          .map(
            (o) =>
              `${o.op} ${(o.startMs - stoppedMs).toFixed(0)}…${(o.endMs - readyMs).toFixed(0)} ${JSON.stringify(o.errors)}`,
          )
          .join('; '),
    );
  }
  t.diagnostic(
    summary.outages
      .map((o) => `${o.op} ${(o.startMs - stoppedMs).toFixed(0)}…${(o.endMs - readyMs).toFixed(0)}`)
      .join('; '),
  );
  const intervalMs = 20; // 50 probes/s per host; the merged stream is denser
  const noiseMs = 80; // timers, 3 harnesses + a server on a loaded 2-core machine, reconnects
  for (const op of ['read', 'write', 'full'] as const) {
    const windows = summary.outages.filter((o) => o.op === op);
    assert.ok(windows.length >= 1, `${op}: a window`);
    // The outage: one window, bracketed by the stop and the restart…
    const w = windows.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
    assert.ok(w.startMs >= stopCalledMs - intervalMs, `${op} starts ${w.startMs - stopCalledMs} ms after stop()`);
    assert.ok(w.startMs <= stoppedMs + intervalMs + noiseMs, `${op} starts ${w.startMs - stoppedMs} ms after exit`);
    assert.ok(w.endMs >= startCalledMs, `${op} ends ${startCalledMs - w.endMs} ms before start() was called`);
    // The window ends when the first answer came back: later by that answer's own latency (a reconnect on a
    // loaded machine), which the file records with it.
    const answerMs = endLatency(file, op, w.endMs);
    assert.ok(
      w.endMs <= readyMs + intervalMs + noiseMs + answerMs,
      `${op} ends ${w.endMs - readyMs} ms after ready (the answer that ended it took ${answerMs} ms)`,
    );
    assert.ok(w.durationMs >= startCalledMs - stoppedMs - intervalMs, `${op} at least as long as the server was down`);
    assert.equal(w.open, false);
    // …and nothing else, except single refused probes while the restarting server was coming up (each host
    // sees them too; a server that accepts before it is ready is what clients see), and a short window as the
    // server shut down: MariaDB ends its connections one by one, so one host may lose its connection while
    // another is still answered for a few ms (seen once in CI: host 1 from -84 ms, the others from -64 ms).
    for (const o of windows) {
      if (o === w) continue;
      if (o.startMs >= stopCalledMs - intervalMs && isShutdownBlip(o, stoppedMs, noiseMs)) {
        t.diagnostic(`${op}: a ${o.durationMs.toFixed(1)} ms window as the server shut down`);
        continue;
      }
      assert.ok(
        o.startMs >= startCalledMs && o.endMs <= readyMs + intervalMs + noiseMs + endLatency(file, op, o.endMs),
        `${op}: extra window only during the restart`,
      );
      assert.ok(
        o.durationMs <= 2 * intervalMs,
        `${op}: extra window of at most a probe or two, got ${o.durationMs} ms`,
      );
    }
    t.diagnostic(
      `${op}: ${w.durationMs.toFixed(1)} ms (server down ${(startCalledMs - stoppedMs).toFixed(0)}…${(readyMs - stopCalledMs).toFixed(0)} ms), starts ${(w.startMs - stopCalledMs).toFixed(1)} ms after stop(), ends ${(w.endMs - readyMs).toFixed(1)} ms after ready; ${windows.length - 1} restart blips`,
    );
  }
  // Counts: the merged totals are the hosts' totals summed.
  const hosts = files.map((f) => readResults(f));
  for (const op of ['read', 'write'] as const) {
    const due = hosts.reduce((a, h) => a + (h.trailer?.totals[op]?.due ?? 0), 0);
    assert.equal(summary.ops[op]?.due, due);
  }
});
