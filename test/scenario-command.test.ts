import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode } from '../src/errors.js';
import { scenarioSchema } from '../src/scenario/schema.js';
import { runMain } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'downtime-scenario-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const shipped = (name: string): string => new URL(`../../scenarios/${name}.yaml`, import.meta.url).pathname;

test('downtime scenario: one summary line per good file, exit 0', async () => {
  const r = await runMain(['scenario', shipped('local-blue-green'), shipped('local-in-place')]);
  assert.equal(r.err, '');
  assert.equal(r.code, ExitCode.Ok);
  assert.equal(
    r.out,
    `${shipped('local-blue-green')}: ok: local-blue-green: sandbox blue-green, 1 min 15 s, 100 reads/s + 50 writes/s (pool, timeout 2.00 s); actions: switchover (step) at 20.0 s; thresholds: write_downtime<60s, lost_writes==0\n` +
      `${shipped('local-in-place')}: ok: local-in-place: sandbox single, 1 min 15 s, 100 reads/s + 50 writes/s (pool, timeout 2.00 s); actions: in-place upgrade (step in-place-upgrade) at 20.0 s; thresholds: lost_writes==0\n`,
  );
});

test('downtime scenario: every bad file reported, good ones still checked, exit code of the first bad one', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'name: b\nsandbox: single\nduration: 30\n');
  const missing = join(dir, 'missing.yaml');
  const r = await runMain(['scenario', missing, bad, shipped('rds-in-place')]);
  assert.equal(r.code, ExitCode.InputFile);
  assert.equal(
    r.err,
    `downtime: cannot read scenario ${missing}: no such file; check the path (ready-made ones are in scenarios/)\n` +
      `downtime: ${bad}: duration: "30" has no unit; write 30s or 30ms\n`,
  );
  assert.match(r.out, /rds-in-place\.yaml: ok: rds-in-place: target mysql:\/\/admin@FILL_IN\./);
});

test('downtime scenario --json: the redacted scenario, one line each; --schema: the schema', async () => {
  const r = await runMain(['scenario', '--json', shipped('rds-blue-green')]);
  assert.equal(r.code, ExitCode.Ok);
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines.length, 1);
  const parsed = JSON.parse(lines[0] ?? '') as { redacted: boolean; db: { password: unknown } };
  assert.equal(parsed.redacted, true);
  assert.deepEqual(parsed.db.password, { from: 'env', name: 'MYSQL_PWD', valueStored: false });

  const s = await runMain(['scenario', '--schema']);
  assert.equal(s.code, ExitCode.Ok);
  assert.deepEqual(JSON.parse(s.out), JSON.parse(JSON.stringify(scenarioSchema)));
});

test('downtime scenario with nothing to check is a usage error', async () => {
  const r = await runMain(['scenario']);
  assert.equal(r.code, ExitCode.Usage);
  assert.equal(
    r.err,
    'downtime: name one or more scenario files, e.g. downtime scenario scenarios/local-blue-green.yaml (or --schema)\n',
  );
});
