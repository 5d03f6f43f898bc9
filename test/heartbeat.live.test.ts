import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { bufferIo } from '../src/io.js';
import { runMeasurement, type RunAction, type RunOptions } from '../src/load/measurement.js';
import type { Target } from '../src/load/target.js';
import { parseTargetUrl } from '../src/scenario/target-url.js';
import { readResults } from '../src/results/reader.js';
import type { LagRecord } from '../src/results/types.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { sleep } from '../src/util/sleep.js';
import { assertInvariants } from './helpers/invariants.js';
import { testRunOptions } from './helpers/run-options.js';

/**
 * Replication lag, pt-heartbeat style, on a real blue/green sandbox: pausing green's SQL thread for 2 s
 * shows as ≈2 s of lag that falls back once it runs again; without the pause, lag stays small.
 */
let sb: Sandbox;
let dir: string;

before(async () => {
  sb = await startSandbox({ topology: 'blue-green' });
  dir = mkdtempSync(join(tmpdir(), 'downtime-heartbeat-live-'));
});

after(async () => {
  await sb?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function greenTarget(): Target {
  const t = parseTargetUrl(sb.endpoint.url).target;
  const port = sb.green!.port;
  return { ...t, port, url: `mysql://${t.user}@127.0.0.1:${port}/${t.database}` };
}

function options(name: string, actions: RunAction[] = []): RunOptions {
  return testRunOptions({
    target: parseTargetUrl(sb.endpoint.url).target,
    password: sb.endpoint.password,
    passwordSource: 'sandbox',
    label: name,
    rates: { read: 50, write: 20 },
    durationMs: 8000,
    connection: 'pool',
    timeoutMs: 2000,
    maxInFlight: 64,
    poolSize: 4,
    out: join(dir, `${name}.ndjson`),
    overwrite: true,
    actions,
    green: greenTarget(),
  });
}

function lagSummary(lag: LagRecord[]): string {
  return lag.map((l) => `${l.maxMs === null ? '-' : Math.round(l.maxMs)}/${l.samples}`).join(' ');
}

test('heartbeat lag: green SQL thread stopped for 2 s → lag ≈2 s, then back under 0.3 s', async () => {
  const pause: RunAction = {
    atMs: 2500,
    name: 'pause green SQL thread',
    execute: async () => {
      await sb.green!.rootQuery('STOP SLAVE SQL_THREAD');
      await sleep(2000);
      await sb.green!.rootQuery('START SLAVE SQL_THREAD');
    },
  };
  const res = await runMeasurement(options('paused', [pause]), bufferIo());
  const r = readResults(res.path);
  assertInvariants(r);
  assert.deepEqual(r.header.heartbeat?.green, greenTarget().url);
  const lag = r.lag ?? [];
  console.log(`paused: max/samples per second: ${lagSummary(lag)}`);
  assert.equal(lag.length, 8, 'one lag record per second of the run');
  const max = Math.max(...lag.map((l) => l.maxMs ?? 0));
  assert.ok(max >= 1700 && max <= 2600, `max lag ${max} ms ≈ 2 s`);
  // Where the max is: during or right after the pause (it started at +2.5 s, lasted 2 s).
  const at = lag.findIndex((l) => l.maxMs === max);
  assert.ok(at >= 3 && at <= 5, `max lag in second ${at}`);
  // Afterwards it falls back: the last seconds are small again.
  for (const l of lag.slice(6)) {
    assert.ok(l.samples > 0 && (l.maxMs as number) < 300, `lag after the pause ${l.maxMs} ms`);
  }
  const s = analyze(r);
  assert.equal(s.replicationLag?.maxMs, max);
  // The row is cleaned up on blue (and so, by replication, on green).
  const rows = await sb.blue.rootQuery<{ n: number }[]>(
    'SELECT COUNT(*) AS n FROM probe.downtime_probe_heartbeat WHERE run_id = ?',
    [res.runId],
  );
  assert.equal(Number(rows[0]?.n), 0);
});

test('heartbeat lag: without the pause, lag stays small', async () => {
  const res = await runMeasurement(options('steady'), bufferIo());
  const r = readResults(res.path);
  const lag = r.lag ?? [];
  console.log(`steady: max/samples per second: ${lagSummary(lag)}`);
  assert.equal(lag.length, 8);
  for (const l of lag) {
    assert.ok(l.samples >= 5, `${l.samples} samples in a second (every 100 ms)`);
    assert.ok((l.maxMs as number) < 300, `lag ${l.maxMs} ms`);
    assert.equal(l.selfWritten, 0);
  }
});
