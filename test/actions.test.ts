import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_OUTPUT_BYTES, MAX_OUTPUT_LINES, shellAction, type ShellResult } from '../src/actions/shell.js';
import { EventRelay, relayingRunner, stepAction, type SandboxSession, type StepRunner } from '../src/actions/steps.js';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { sandboxProvider, sandboxStepRunner, type ScenarioStepApi } from '../src/actions/sandbox.js';
import type { ActionContext, EventInput } from '../src/load/options.js';
import type { CommandAction, StepAction } from '../src/scenario/types.js';

const PASSWORD = 'pw-Xy7!secret';

function command(cmd: string, timeoutMs?: number): CommandAction {
  return { kind: 'run', index: 0, atMs: 0, name: 'cmd', command: cmd, timeoutMs };
}

/** Runs a shell action as the engine would, with a fake context collecting events. */
async function run(
  cmd: string,
  o: { timeoutMs?: number; abortAfterMs?: number; env?: Record<string, string> } = {},
): Promise<{ result: ShellResult; events: EventInput[]; elapsedMs: number }> {
  const events: EventInput[] = [];
  const abort = new AbortController();
  const ctx: ActionContext = { event: (e) => events.push(e), signal: abort.signal };
  const action = shellAction(command(cmd, o.timeoutMs), {
    env: o.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    cwd: process.cwd(),
    now: () => Date.now(),
    password: PASSWORD,
  });
  const timer = o.abortAfterMs === undefined ? undefined : setTimeout(() => abort.abort(), o.abortAfterMs);
  const started = Date.now();
  const result = (await action.execute(ctx)) as ShellResult;
  clearTimeout(timer);
  return { result, events, elapsedMs: Date.now() - started };
}

const outputs = (events: EventInput[]): { stream: unknown; line: unknown }[] =>
  events.filter((e) => e.kind === 'output').map((e) => ({ stream: e.detail?.stream, line: e.detail?.line }));

test('shell action: each output line is an event (stdout and stderr), the exit status is in the result', async () => {
  const { result, events } = await run('echo hello; echo "to err" >&2; printf "no newline"; exit 3');
  assert.equal(result.exitCode, 3);
  assert.equal(result.signal, null);
  assert.equal(result.ok, false);
  assert.equal(result.timedOut, false);
  assert.equal(result.killedAtRunEnd, false);
  const lines = outputs(events);
  assert.deepEqual(
    lines.filter((l) => l.stream === 'stdout').map((l) => l.line),
    ['hello', 'no newline'],
  );
  assert.deepEqual(
    lines.filter((l) => l.stream === 'stderr'),
    [{ stream: 'stderr', line: 'to err' }],
  );
  for (const e of events) {
    assert.equal(e.name, 'cmd');
    assert.equal(typeof e.atMs, 'number');
  }
  const ok = await run('true');
  assert.equal(ok.result.exitCode, 0);
  assert.equal(ok.result.ok, true);
  assert.equal(outputs(ok.events).length, 0);
});

test('shell action: timeout sends SIGTERM to the command and what it started', async () => {
  const { result, elapsedMs } = await run('sleep 30 & sleep 30; echo never', { timeoutMs: 200 });
  assert.equal(result.timedOut, true);
  assert.equal(result.ok, false);
  assert.equal(result.exitCode, null);
  assert.equal(result.signal, 'SIGTERM');
  // Well under the sleeps: the background sleep holding the pipe was killed with the group.
  assert.ok(elapsedMs < 5_000, `took ${elapsedMs} ms`);
});

test('shell action: a command ignoring SIGTERM is killed with SIGKILL 2 s later', async () => {
  const { result, events, elapsedMs } = await run('trap "" TERM; echo ready; sleep 30', { timeoutMs: 100 });
  assert.equal(result.timedOut, true);
  assert.equal(result.signal, 'SIGKILL');
  assert.ok(elapsedMs >= 2_000, `SIGKILL came after ${elapsedMs} ms, before the 2 s grace`);
  assert.ok(elapsedMs < 6_000, `took ${elapsedMs} ms`);
  assert.deepEqual(outputs(events), [{ stream: 'stdout', line: 'ready' }]);
});

test('shell action: the end of the run (abort) kills it', async () => {
  const { result, elapsedMs } = await run('sleep 30', { abortAfterMs: 200 });
  assert.equal(result.killedAtRunEnd, true);
  assert.equal(result.timedOut, false);
  assert.equal(result.signal, 'SIGTERM');
  assert.ok(elapsedMs < 5_000, `took ${elapsedMs} ms`);
});

test('shell action: a background child left behind does not hold the action (nor outlive it)', async () => {
  const { result, events, elapsedMs } = await run('sleep 30 & echo started');
  assert.equal(result.exitCode, 0);
  assert.deepEqual(outputs(events), [{ stream: 'stdout', line: 'started' }]);
  assert.ok(elapsedMs < 5_000, `took ${elapsedMs} ms`);
});

test('shell action: the password never reaches events; MYSQL_PWD is not added to its environment', async () => {
  const { result, events } = await run(
    `echo "the password is ${PASSWORD}."; echo "${PASSWORD}${PASSWORD}" >&2; echo "[$MYSQL_PWD]"`,
  );
  const text = JSON.stringify({ result, events });
  assert.ok(!text.includes(PASSWORD), text);
  assert.deepEqual(
    outputs(events)
      .filter((l) => l.stream === 'stdout')
      .map((l) => l.line),
    ['the password is ***.', '[]'],
  );
  assert.deepEqual(
    outputs(events).filter((l) => l.stream === 'stderr'),
    [{ stream: 'stderr', line: '******' }],
  );
  // MYSQL_PWD reaches the command only when it was already in the environment (the user put it there).
  const given = await run('echo "[$MYSQL_PWD]"', { env: { PATH: process.env.PATH ?? '', MYSQL_PWD: 'x1' } });
  assert.deepEqual(outputs(given.events), [{ stream: 'stdout', line: '[x1]' }]);
});

test('shell action: output is bounded per action (lines), with one warning', async () => {
  const { result, events } = await run(`seq 1 ${MAX_OUTPUT_LINES + 500}`);
  assert.equal(result.exitCode, 0);
  assert.equal(outputs(events).length, MAX_OUTPUT_LINES);
  assert.equal(result.linesSeen, MAX_OUTPUT_LINES + 500);
  assert.equal(result.linesRecorded, MAX_OUTPUT_LINES);
  const warnings = events.filter((e) => e.kind === 'warning');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.name, 'output-cut');
  assert.equal(outputs(events).at(-1)?.line, String(MAX_OUTPUT_LINES));
});

test('shell action: output is bounded per action (bytes); a huge line keeps its start', async () => {
  const { events } = await run(`head -c 200000 /dev/zero | tr '\\0' a; echo; echo after`);
  const lines = outputs(events);
  assert.equal(lines.length, 1);
  const line = String(lines[0]?.line);
  assert.ok(line.length > MAX_OUTPUT_BYTES - 10 && line.length < MAX_OUTPUT_BYTES, `kept ${line.length} bytes`);
  assert.match(line, /^a+$/);
  assert.equal(events.filter((e) => e.kind === 'warning').length, 1);
});

test('shell action: already aborted (the run ended first): nothing is started', async () => {
  const abort = new AbortController();
  abort.abort();
  const events: EventInput[] = [];
  const action = shellAction(command('echo should-not-run'), {
    env: {},
    cwd: process.cwd(),
    now: () => Date.now(),
    password: undefined,
  });
  const result = (await action.execute({ event: (e) => events.push(e), signal: abort.signal })) as ShellResult;
  assert.equal(result.pid, null);
  assert.equal(result.killedAtRunEnd, true);
  assert.equal(events.length, 0);
});

test('step action: runs the step with its options; its details and the sandbox events reach the run', async () => {
  const relay = new EventRelay();
  const calls: unknown[] = [];
  const runner: StepRunner = {
    run: (step) => {
      calls.push(step);
      relay.emit({ atMs: 1, kind: 'phase', name: 'offline' });
      return Promise.resolve({ offlineMs: 15_000 });
    },
  };
  const action: StepAction = {
    kind: 'step',
    index: 0,
    atMs: 20_000,
    name: 'upgrade',
    step: { name: 'in-place-upgrade', options: { offlineMs: 15_000 } },
  };
  const ra = stepAction(action, relayingRunner(runner, relay));
  assert.equal(ra.atMs, 20_000);
  assert.equal(ra.name, 'upgrade');
  const events: EventInput[] = [];
  const abort = new AbortController();
  relay.emit({ atMs: 0, kind: 'phase', name: 'before the step: dropped' });
  // The run ended while the step was in progress: its events still belong in the file.
  abort.abort();
  const detail = await ra.execute({ event: (e) => events.push(e), signal: abort.signal });
  assert.deepEqual(calls, [action.step]);
  assert.deepEqual(detail, { step: 'in-place-upgrade', options: { offlineMs: 15_000 }, offlineMs: 15_000 });
  assert.deepEqual(events, [{ atMs: 1, kind: 'phase', name: 'offline' }]);
  relay.emit({ atMs: 2, kind: 'phase', name: 'after the step: dropped' });
  assert.equal(events.length, 1);
});

test('sandbox step runner: each scenario step calls its sandbox method with its options', async () => {
  const calls: [string, unknown][] = [];
  const fake = {
    inPlaceUpgrade: (o: unknown) => (calls.push(['inPlaceUpgrade', o]), Promise.resolve({})),
    switchover: (o: unknown) => (calls.push(['switchover', o]), Promise.resolve({})),
    restart: () => (calls.push(['restart', undefined]), Promise.resolve({})),
    killAndStart: () => (calls.push(['killAndStart', undefined]), Promise.resolve({})),
    failover: () => (calls.push(['failover', undefined]), Promise.resolve({})),
    fault: (o: { signal?: AbortSignal }) => (
      calls.push(['fault', { ...o, signal: o.signal !== undefined }]),
      Promise.resolve({})
    ),
  } satisfies ScenarioStepApi;
  const runner = sandboxStepRunner(fake);
  const ctx: ActionContext = { event: () => undefined, signal: new AbortController().signal };
  await runner.run({ name: 'in-place-upgrade', options: { offlineMs: 5 } }, ctx);
  await runner.run(
    { name: 'switchover', options: { maxLagMs: 1000, timeoutMs: 30_000, blockWritesMs: 0, renameMs: 0 } },
    ctx,
  );
  await runner.run({ name: 'restart', options: {} }, ctx);
  await runner.run({ name: 'kill', options: {} }, ctx);
  await runner.run({ name: 'failover', options: {} }, ctx);
  const fault = { latencyMs: undefined, jitterMs: undefined, bytesPerSec: undefined, drop: undefined };
  await runner.run({ name: 'fault', options: { ...fault, kind: 'blackhole', durationMs: 2000 } }, ctx);
  await runner.run({ name: 'fault', options: { ...fault, kind: 'latency', durationMs: 1000, latencyMs: 500 } }, ctx);
  await runner.run({ name: 'fault', options: { ...fault, kind: 'halfOpen', durationMs: 1000, drop: 'toServer' } }, ctx);
  assert.deepEqual(calls, [
    ['inPlaceUpgrade', { offlineMs: 5 }],
    ['switchover', { maxLagMs: 1000, timeoutMs: 30_000, blockWritesMs: 0, renameMs: 0 }],
    ['restart', undefined],
    ['killAndStart', undefined],
    ['failover', undefined],
    // the run's abort signal is passed on: a fault ends when the run does
    ['fault', { kind: 'blackhole', durationMs: 2000, signal: true }],
    ['fault', { kind: 'latency', latencyMs: 500, durationMs: 1000, signal: true }],
    ['fault', { kind: 'halfOpen', drop: 'toServer', durationMs: 1000, signal: true }],
  ]);
});

test('sandbox provider: no sandbox or another topology in the state dir → a fresh one; a stale or switched one is refused', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'downtime-state-'));
  try {
    const freshCalls: string[] = [];
    const said: string[] = [];
    const fakeSession: SandboxSession = {
      target: { host: '127.0.0.1', port: 1, user: 'u', database: 'd', url: 'mysql://u@127.0.0.1:1/d' },
      password: undefined,
      steps: { run: () => Promise.resolve() },
      release: () => Promise.resolve(),
      description: 'fake',
    };
    const provider = sandboxProvider({
      stateDir,
      say: (l) => said.push(l),
      fresh: ({ kind }) => (freshCalls.push(kind), Promise.resolve(fakeSession)),
    });
    const relay = new EventRelay();
    assert.equal(await provider({ kind: 'single' }, relay, ['restart']), fakeSession);
    const state = (topology: string, active: string) =>
      writeFileSync(
        join(stateDir, 'state.json'),
        JSON.stringify({
          version: 1,
          topology,
          createdAtMs: 0,
          stateDir,
          endpoint: {
            url: 'mysql://downtime@127.0.0.1:1/probe',
            host: '127.0.0.1',
            port: 1,
            user: 'downtime',
            database: 'probe',
          },
          passwordFile: join(stateDir, 'pw'),
          replPasswordFile: join(stateDir, 'rpw'),
          active,
          proxy: { pid: null, port: 1, control: join(stateDir, 'control.sock') },
          servers: {
            blue: { pid: null, port: 2, serverId: 1, dir: stateDir, dataDir: stateDir, binary: 'x', args: [] },
          },
        }),
      );
    state('single', 'blue');
    assert.equal(await provider({ kind: 'blue-green' }, relay, ['switchover']), fakeSession);
    assert.match(said.join(''), /is single, this scenario needs blue-green: starting a fresh one/);
    assert.deepEqual(freshCalls, ['single', 'blue-green']);
    // Same topology, but nothing is running: refused (the user started it and expects it to be used).
    await assert.rejects(
      provider({ kind: 'single' }, relay, ['restart']),
      (e: unknown) =>
        e instanceof DowntimeError && e.exitCode === ExitCode.Sandbox && /is not fully up/.test(e.message),
    );
    state('blue-green', 'green');
    await assert.rejects(
      provider({ kind: 'blue-green' }, relay, ['switchover']),
      (e: unknown) =>
        e instanceof DowntimeError && e.exitCode === ExitCode.Sandbox && /already points at green/.test(e.message),
    );
    assert.deepEqual(freshCalls, ['single', 'blue-green']);
    // Same topology, other servers than the one that is up: a fresh one, said so.
    state('blue-green', 'blue');
    assert.equal(
      await provider({ kind: 'blue-green', from: 'mariadb:10.11', to: 'mariadb:11.8' }, relay, []),
      fakeSession,
    );
    assert.match(
      said.join(''),
      /runs path → path, this run asks for mariadb:10\.11 → mariadb:11\.8: starting a fresh one/,
    );
    assert.deepEqual(freshCalls, ['single', 'blue-green', 'blue-green']);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
