import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planRun } from '../src/run/plan.js';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';

const dir = mkdtempSync(join(tmpdir(), 'downtime-plan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function scenarioFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function io(env: Record<string, string> = {}) {
  const i = bufferIo(env);
  i.cwd = dir;
  return i;
}

const TARGET = `
name: prod-check
target: mysql://app@db.example:3306/probe
password: { env: APP_PW }
duration: 60s
load: { reads: 200, writes: 0, workers: 3, timeout: 1s, table: my_probe }
actions:
  - { at: 10s, run: 'echo early' }
  - { at: 40s, name: late, run: 'MYSQL_PWD=hunter2 mysql -e "select 1"', timeout: 5s }
thresholds: [write_downtime<30s]
out: runs/prod.ndjson
report: { out: runs/prod-report }
`;

test('scenario only: every value from the file; password from its source; redacted scenario in the header', async () => {
  const plan = await planRun({ scenario: scenarioFile('t.yaml', TARGET) }, io({ APP_PW: 's3cret' }));
  assert.equal(plan.db.kind, 'target');
  if (plan.db.kind !== 'target') return;
  assert.equal(plan.db.target.url, 'mysql://app@db.example:3306/probe');
  assert.equal(plan.db.password, 's3cret');
  assert.equal(plan.db.passwordSource, '$APP_PW');
  assert.equal(plan.options.label, 'prod-check');
  assert.deepEqual(plan.options.rates, { read: 200, write: 0 });
  assert.equal(plan.options.durationMs, 60_000);
  assert.equal(plan.options.workers, 3);
  assert.equal(plan.options.timeoutMs, 1000);
  assert.equal(plan.options.connectTimeoutMs, 1000);
  assert.equal(plan.options.table, 'my_probe');
  assert.equal(plan.options.out, join(dir, 'runs/prod.ndjson'));
  assert.deepEqual(plan.report, { enabled: true, dir: join(dir, 'runs/prod-report') });
  assert.deepEqual(plan.thresholds, ['write_downtime<30s']);
  assert.deepEqual(
    plan.actions.map((a) => [a.name, a.atMs]),
    [
      ['action 1', 10_000],
      ['late', 40_000],
    ],
  );
  const header = JSON.stringify(plan.options.scenario);
  assert.ok(!header.includes('s3cret'));
  assert.ok(!header.includes('hunter2'), header);
  assert.match(header, /"redacted":true/);
  assert.ok(!('overriddenBy' in (plan.options.scenario as object)));
});

test('flags given on the command line override the scenario; --threshold adds to its thresholds', async () => {
  const i = io({ APP_PW: 's3cret' });
  const plan = await planRun(
    {
      scenario: scenarioFile('t2.yaml', TARGET),
      duration: '20s',
      out: 'quick.ndjson',
      reads: 10,
      workers: 1,
      threshold: ['read_downtime<5s'],
      report: false,
    },
    i,
  );
  assert.equal(plan.options.durationMs, 20_000);
  assert.equal(plan.options.rates.read, 10);
  assert.equal(plan.options.rates.write, 0, 'not given: the scenario value stays');
  assert.equal(plan.options.workers, 1);
  assert.equal(plan.options.out, join(dir, 'quick.ndjson'));
  assert.equal(plan.report.enabled, false);
  // report.out was set in the scenario: it stays.
  assert.equal(plan.report.dir, join(dir, 'runs/prod-report'));
  assert.deepEqual(plan.thresholds, ['write_downtime<30s', 'read_downtime<5s']);
  // The action at 40 s is past the shorter run: left out, with a warning.
  assert.deepEqual(
    plan.actions.map((a) => a.name),
    ['action 1'],
  );
  assert.match(i.err.join(''), /action "late" at .* will not run/);
  assert.deepEqual((plan.options.scenario as { overriddenBy: string[] }).overriddenBy, [
    '--reads',
    '--duration',
    '--out',
    '--workers',
    '--report',
  ]);
});

test('--target and --password-file replace the scenario target and its password source', async () => {
  const pw = join(dir, 'pw');
  writeFileSync(pw, 'from-file\n');
  const plan = await planRun(
    { scenario: scenarioFile('t3.yaml', TARGET), target: 'mysql://other@127.0.0.1:3307/probe', passwordFile: pw },
    io(),
  );
  assert.equal(plan.db.kind, 'target');
  if (plan.db.kind !== 'target') return;
  assert.equal(plan.db.target.port, 3307);
  assert.equal(plan.db.password, 'from-file');
});

test('sandbox scenario: plan says sandbox; default out is reports/<name>-<time>.ndjson with the report next to it', async () => {
  const plan = await planRun({ scenario: scenarioFile('s.yaml', 'sandbox: single\nname: ip\nduration: 30s\n') }, io());
  assert.deepEqual(plan.db, { kind: 'sandbox', sandbox: 'single', names: { from: 'sandbox.from', to: 'sandbox.to' } });
  assert.match(plan.options.out, /\/reports\/ip-\d{8}-\d{6}\.ndjson$/);
  assert.equal(plan.report.dir, plan.options.out.replace(/\.ndjson$/, ''));
});

test('a shorter --duration that ends the run during an in-place upgrade says the recovery will not be measured', async () => {
  const i = io();
  const file = scenarioFile(
    'ip.yaml',
    'name: ip\nsandbox: single\nduration: 75s\nactions: [{ at: 20s, step: in-place-upgrade, with: { offline: 15s } }]\n',
  );
  await planRun({ scenario: file }, i);
  assert.equal(i.err.join(''), '');
  const plan = await planRun({ scenario: file, duration: '30s' }, i);
  assert.equal(plan.actions.length, 1);
  assert.match(
    i.err.join(''),
    /step "in-place-upgrade" .* past the end of the run .*; the recovery will not be measured/,
  );
});

test('bad combinations and values: one line, usage exit code', async () => {
  const withSteps = scenarioFile(
    'steps.yaml',
    'name: st\nsandbox: single\nduration: 30s\nactions: [{ at: 5s, step: restart }]\n',
  );
  const rows: [args: Parameters<typeof planRun>[0], message: RegExp, code: ExitCode][] = [
    [
      { scenario: withSteps, target: 'mysql://a@127.0.0.1/db' },
      /--target replaces the scenario's database, but .* has sandbox steps \(restart\)/,
      ExitCode.Usage,
    ],
    [{ scenario: withSteps, reads: -1 }, /--reads must be ≥ 0/, ExitCode.Usage],
    [{ scenario: withSteps, threshold: ['bogus<1'] }, /--threshold: .*unknown metric "bogus"/, ExitCode.Usage],
    [{ scenario: withSteps, duration: '300' }, /--duration "300" has no unit/, ExitCode.Usage],
    [{ scenario: join(dir, 'missing.yaml') }, /cannot read scenario .*missing.yaml: no such file/, ExitCode.InputFile],
    [
      { scenario: scenarioFile('bad.yaml', 'name: b\nsandbox: single\nduraton: 30s\n') },
      /unknown key "duraton"/,
      ExitCode.Usage,
    ],
    [
      {
        scenario: scenarioFile(
          'slow.yaml',
          'name: s\nsandbox: single\nduration: 30s\nload: {timeout: 1s, slow: 300ms}\n',
        ),
        timeout: '300ms',
      },
      /the scenario's load.slow 300ms is not below the probe timeout 300ms: .*raise --timeout/,
      ExitCode.Usage,
    ],
    [{ scenario: withSteps, slow: '2s' }, /--slow 2s is not below the probe timeout 2s/, ExitCode.Usage],
    [{ reads: 5 }, /--target is required \(or name a scenario file\)/, ExitCode.Usage],
  ];
  for (const [args, message, code] of rows) {
    await assert.rejects(
      planRun(args, io()),
      (err: unknown) => err instanceof DowntimeError && message.test(err.message) && err.exitCode === code,
      String(message),
    );
  }
});

test('the latency SLO: from load.slow, replaced by --slow, and absent when neither says one', async () => {
  const file = scenarioFile('slo.yaml', TARGET.replace('timeout: 1s', 'timeout: 1s, slow: 250ms'));
  const env = { APP_PW: 'x' };
  assert.equal((await planRun({ scenario: file }, io(env))).options.slowMs, 250);
  assert.equal((await planRun({ scenario: file, slow: '100ms' }, io(env))).options.slowMs, 100);
  assert.equal((await planRun({ scenario: scenarioFile('noslo.yaml', TARGET) }, io(env))).options.slowMs, undefined);
  const flagsOnly = await planRun({ target: 'mysql://app@127.0.0.1:3306/probe', slow: '50ms' }, io());
  assert.equal(flagsOnly.options.slowMs, 50);
});
