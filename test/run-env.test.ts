import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bufferIo } from '../src/io.js';
import { envName, runEnv, withEnvNames } from '../src/run/env.js';
import { defaultWorkers, isThisMachine } from '../src/run/args.js';
import { planRun, type RawRunArgs } from '../src/run/plan.js';
import { DowntimeError, ExitCode } from '../src/errors.js';

/** DOWNTIME_* variables of `downtime run`: scenario < variable < flag. (Bad values: test/bad-input.test.ts.) */
const dir = mkdtempSync(join(tmpdir(), 'downtime-env-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SCENARIO = join(dir, 's.yaml');
writeFileSync(
  SCENARIO,
  'name: s\ntarget: mysql://app@db.example:3306/probe\nduration: 60s\nload: { reads: 200, writes: 20, timeout: 1s }\nout: s.ndjson\n',
);

/** What `downtime run` does with its flags and environment, up to the plan. */
async function plan(flags: RawRunArgs, env: Record<string, string>) {
  const io = bufferIo(env);
  io.cwd = dir;
  const { args, envNames } = runEnv(flags, env);
  try {
    return await planRun({ ...args, envNames }, io);
  } catch (err) {
    throw withEnvNames(err, envNames);
  }
}

test('variable names follow the flags', () => {
  assert.equal(envName('reads'), 'DOWNTIME_READS');
  assert.equal(envName('connectTimeout'), 'DOWNTIME_CONNECT_TIMEOUT');
  assert.equal(envName('maxInFlight'), 'DOWNTIME_MAX_IN_FLIGHT');
});

test('precedence: a variable replaces the scenario value, a flag replaces the variable; overriddenBy names each', async () => {
  const p = await plan(
    { scenario: SCENARIO, duration: '20s' },
    { DOWNTIME_DURATION: '30s', DOWNTIME_READS: '50', DOWNTIME_PROGRESS: 'false', DOWNTIME_CONNECT_TIMEOUT: '3s' },
  );
  assert.equal(p.options.durationMs, 20_000, 'the flag wins over DOWNTIME_DURATION');
  assert.equal(p.options.rates.read, 50, 'the variable wins over the scenario');
  assert.equal(p.options.rates.write, 20, 'neither given: the scenario value stays');
  assert.equal(p.options.connectTimeoutMs, 3000);
  assert.equal(p.options.progress, false);
  assert.deepEqual((p.options.scenario as { overriddenBy: string[] }).overriddenBy, [
    'DOWNTIME_READS',
    '--duration',
    'DOWNTIME_CONNECT_TIMEOUT',
  ]);
});

test('without a scenario: DOWNTIME_TARGET and friends make a run; empty variables are unset', async () => {
  const p = await plan(
    { out: 'x.ndjson' },
    {
      DOWNTIME_TARGET: 'mysql://app@db.example:3306/probe',
      DOWNTIME_WRITES: '0',
      DOWNTIME_WORKERS: '2',
      DOWNTIME_READS: '',
    },
  );
  assert.equal(p.db.kind === 'target' ? p.db.target.url : '', 'mysql://app@db.example:3306/probe');
  assert.deepEqual(p.options.rates, { read: 100, write: 0 });
  assert.equal(p.options.workers, 2);
});

test('several endpoints from the environment: targets and NAME=N rates space-separated', async () => {
  const p = await plan(
    { out: 'e.ndjson' },
    {
      DOWNTIME_TARGET: 'writer=mysql://app@w.example/probe  reader=mysql://app@r.example/probe',
      DOWNTIME_WRITES: 'reader=0',
    },
  );
  assert.deepEqual(
    p.endpoints?.map((e) => [e.name, e.rates.write]),
    [
      ['writer', 50],
      ['reader', 0],
    ],
  );
});

test('an error about a value from the environment names the variable; the password is no variable', async () => {
  await assert.rejects(plan({ out: 'x.ndjson' }, { DOWNTIME_TARGET: 'mysql://app@h/p', DOWNTIME_READS: 'many' }), {
    message: 'DOWNTIME_READS must be a number of probes per second, e.g. --reads 100',
  });
  // --timeout in a message about --connect-timeout is not the variable's flag.
  const e = withEnvNames(new DowntimeError('--connect-timeout 5s is above --timeout 2s'), {
    timeout: 'DOWNTIME_TIMEOUT',
  }) as DowntimeError;
  assert.equal(e.message, '--connect-timeout 5s is above DOWNTIME_TIMEOUT 2s');
  assert.throws(
    () => runEnv({}, { DOWNTIME_PASSWORD: 'hunter2' }),
    (err: DowntimeError) => {
      assert.equal(err.exitCode, ExitCode.Usage);
      assert.match(err.message, /DOWNTIME_PASSWORD is not read/);
      assert.ok(!err.message.includes('hunter2'));
      return true;
    },
  );
});

test('--workers not given: pooled probes get as many workers as the rate needs (up to the CPUs, half of them with the database on this machine), per-probe one per CPU', async () => {
  assert.equal(defaultWorkers({ read: 100, write: 50 }, ['pool'], { cpus: 8 }), 1);
  assert.equal(defaultWorkers({ read: 8000, write: 0 }, ['pool'], { cpus: 8 }), 1);
  assert.equal(defaultWorkers({ read: 8000, write: 1 }, ['pool'], { cpus: 8 }), 2);
  assert.equal(defaultWorkers({ read: 60_000, write: 0 }, ['pool'], { cpus: 4 }), 4, 'never more than the CPUs');
  assert.equal(defaultWorkers({ read: 60_000, write: 0 }, ['pool'], { cpus: 4, serverHere: true }), 2);
  assert.equal(defaultWorkers({ read: 20_000, write: 0 }, ['pool'], { cpus: 2, serverHere: true }), 1);
  assert.equal(defaultWorkers({ read: 20_000, write: 0 }, ['pool'], { cpus: 1, serverHere: true }), 1);
  assert.equal(defaultWorkers({ read: 0.5, write: 0 }, ['pool'], { cpus: 1 }), 1);
  assert.equal(defaultWorkers({ read: 100, write: 50 }, ['per-probe'], { cpus: 8 }), 8);
  assert.equal(defaultWorkers({ read: 100, write: 50 }, ['pool', 'per-probe'], { cpus: 8 }), 8);
  for (const host of ['localhost', '127.0.0.1', '127.3.0.2', '::1', '[::1]', 'LOCALHOST'])
    assert.ok(isThisMachine(host), host);
  for (const host of ['db.example', '10.0.0.5', '127.0.0.1.example', 'localhost.example', '::2'])
    assert.ok(!isThisMachine(host), host);
  // Through a plan: flags, a variable, a scenario's own value.
  const target = { DOWNTIME_TARGET: 'mysql://app@db.example:3306/probe' };
  const cpus = availableParallelism();
  assert.equal((await plan({ out: 'w.ndjson' }, target)).options.workers, 1);
  assert.equal(
    (await plan({ out: 'w.ndjson', reads: '17000', writes: '0' }, target)).options.workers,
    Math.min(cpus, 3),
  );
  assert.equal(
    (
      await plan(
        { out: 'w.ndjson', reads: '17000', writes: '0' },
        { DOWNTIME_TARGET: 'mysql://app@127.0.0.1:3306/probe' },
      )
    ).options.workers,
    Math.max(1, Math.min(Math.floor(cpus / 2), 3)),
    'the database on this machine: at most half the CPUs',
  );
  assert.equal((await plan({ out: 'w.ndjson', connection: 'per-probe' }, target)).options.workers, cpus);
  assert.equal((await plan({ out: 'w.ndjson' }, { ...target, DOWNTIME_WORKERS: '3' })).options.workers, 3);
  assert.equal((await plan({ scenario: SCENARIO }, {})).options.workers, 1);
});
