import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { readResults } from '../src/results/reader.js';
import type { EventRecord } from '../src/results/types.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';
import { assertInvariants } from './helpers/invariants.js';
import { runMain, type CliOutput } from './helpers/cli.js';

let srv: TestServer;
let dir: string;

before(async () => ({ srv, dir } = await serverAndDir('downtime-run-scenario-live-')));

after(() => removeServerAndDir(srv, dir));

async function cli(args: string[], env: Record<string, string>): Promise<CliOutput> {
  const io = bufferIo({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...env });
  io.cwd = dir;
  return runMain(args, io);
}

test('downtime run scenario.yaml: target from the file, a shell action at 2 s recorded with its output and exit code', async () => {
  const scenario = join(dir, 'shell.yaml');
  writeFileSync(
    scenario,
    [
      'name: shell-action',
      `target: ${srv.url}`,
      'password: { env: APP_PW }',
      'duration: 5s',
      'load: { reads: 20, writes: 10, workers: 1 }',
      'actions:',
      // The command sees APP_PW (the user's own environment); its output must not carry the password.
      `  - { at: 2s, name: hello, run: 'echo hello; echo "pw=$APP_PW" >&2; exit 3' }`,
      'thresholds: [lost_writes==0]',
      'out: shell.ndjson',
      '',
    ].join('\n'),
  );
  const res = await cli(['run', scenario, '--no-progress', '--no-report'], { APP_PW: srv.password });
  assert.equal(res.code, ExitCode.Ok, res.err);
  const path = join(dir, 'shell.ndjson');
  assert.equal(res.out.split('\n')[0], path, 'the results path comes first on stdout');
  const text = readFileSync(path, 'utf8');
  assert.ok(!text.includes(srv.password), 'the password is not in the results file');
  const r = readResults(path);
  assertInvariants(r);
  assert.equal(r.trailer?.reason, 'completed');
  assert.equal(r.header.label, 'shell-action');
  assert.equal(r.header.durationMs, 5000);
  assert.equal(r.header.ops.read?.ratePerSec, 20);
  assert.equal(r.header.ops.write?.ratePerSec, 10);
  assert.equal(r.header.workers, 1);
  const sc = r.header.scenario as { redacted: boolean; name: string; db: { kind: string; password: unknown } };
  assert.equal(sc.redacted, true);
  assert.equal(sc.name, 'shell-action');
  assert.deepEqual(sc.db.password, { from: 'env', name: 'APP_PW', valueStored: false });

  const mine = (e: EventRecord): boolean => e.name === 'hello';
  const actions = r.events.filter((e) => e.kind === 'action' && mine(e));
  assert.equal(actions.length, 2, JSON.stringify(actions));
  const [start, end] = actions as [EventRecord, EventRecord];
  assert.equal(start.detail?.phase, 'start');
  // At 2 s after the run's start, within scheduling slack.
  const offsetMs = start.atMs - r.header.startMs;
  assert.ok(offsetMs >= 1990 && offsetMs < 2500, `started at +${offsetMs} ms`);
  assert.equal(end.detail?.phase, 'end');
  assert.equal(end.detail?.exitCode, 3);
  assert.equal(end.detail?.ok, false);
  assert.equal(end.detail?.signal, null);
  assert.ok(end.endMs !== undefined && end.endMs >= start.atMs);
  const output = r.events.filter((e) => e.kind === 'output' && mine(e)).map((e) => e.detail);
  assert.deepEqual(output, [
    { stream: 'stdout', line: 'hello' },
    { stream: 'stderr', line: 'pw=***' },
  ]);
});

test('downtime run sandbox scenario: a fresh single sandbox, a restart step at 2 s with its phases, stopped afterwards', async () => {
  const scenario = join(dir, 'sandbox.yaml');
  writeFileSync(
    scenario,
    [
      'name: sandbox-restart',
      'sandbox: single',
      'duration: 6s',
      'load: { reads: 20, writes: 10, workers: 1 }',
      'actions:',
      '  - { at: 2s, step: restart }',
      'out: sandbox.ndjson',
      '',
    ].join('\n'),
  );
  const res = await cli(['run', scenario, '--no-progress', '--no-report'], {});
  assert.equal(res.code, ExitCode.Ok, res.err);
  const r = readResults(join(dir, 'sandbox.ndjson'));
  assertInvariants(r);
  assert.equal(r.trailer?.reason, 'completed');
  const end = r.events.find((e) => e.kind === 'action' && e.name === 'restart' && e.detail?.phase === 'end');
  assert.equal(end?.detail?.ok, true, JSON.stringify(end));
  assert.equal(end?.detail?.step, 'restart');
  const phases = r.events.filter((e) => e.kind === 'phase').map((e) => e.name);
  assert.ok(phases.includes('offline') && phases.includes('available'), phases.join(','));
  // The restart made reads fail for a moment, and they came back.
  const failed = r.seconds.read.reduce((a, s) => a + Object.values(s.failed).reduce((x, y) => x + y, 0), 0);
  assert.ok(failed > 0, 'reads failed while the server restarted');
  assert.ok((r.seconds.read.at(-1)?.ok ?? 0) > 0, 'reads succeed again at the end');
  // The sandbox (its temp directory and servers) is gone.
  assert.match(res.err, /stopping the sandbox/);
});
