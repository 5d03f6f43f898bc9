import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planRun, plannedOutputs, sideBySidePath } from '../src/run/plan.js';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { SideBySide } from '../src/load/side-by-side.js';
import { parseScenarioText } from '../src/scenario/index.js';

const dir = mkdtempSync(join(tmpdir(), 'downtime-side-by-side-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function io() {
  const i = bufferIo({});
  i.cwd = dir;
  return i;
}

test('each model of a side-by-side run has its own results file next to --out', () => {
  assert.equal(sideBySidePath('/r/x.ndjson', 'pool'), '/r/x.pool.ndjson');
  assert.equal(sideBySidePath('/r/x.ndjson', 'per-probe'), '/r/x.per-probe.ndjson');
  assert.equal(sideBySidePath('/r/x', 'pool'), '/r/x.pool');
  const options = { out: '/r/x.ndjson' } as Parameters<typeof plannedOutputs>[0]['options'];
  assert.deepEqual(plannedOutputs({ options, connections: ['pool'] }), ['/r/x.ndjson']);
  assert.deepEqual(plannedOutputs({ options, connections: ['per-probe', 'pool'] }), [
    '/r/x.per-probe.ndjson',
    '/r/x.pool.ndjson',
  ]);
});

test('the members start on one whole second, chosen when the last is ready', async () => {
  const group = new SideBySide(['pool', 'per-probe']);
  let firstDone = false;
  const first = group.ready(0, 10_500, 200).then((t0) => ((firstDone = true), t0));
  await new Promise((r) => setImmediate(r));
  assert.equal(firstDone, false, 'the first waits for the second');
  const second = group.ready(1, 11_850, 200);
  assert.deepEqual(await Promise.all([first, second]), [13_000, 13_000]);
});

test('a member that cannot start releases the others with its reason', async () => {
  const group = new SideBySide(['pool', 'per-probe']);
  const waiting = group.ready(0, 1000, 200);
  group.fail(new Error('cannot connect to 127.0.0.1:1: connection refused'));
  await assert.rejects(waiting, /side-by-side run did not start: cannot connect to 127\.0\.0\.1:1/);
  await assert.rejects(group.ready(1, 1000, 200), /did not start/);
});

test('shared events reach every member that is still writing', () => {
  const group = new SideBySide(['pool', 'per-probe']);
  const a: string[] = [];
  const b: string[] = [];
  group.addSink(0, (e) => a.push(e.name));
  group.addSink(1, (e) => b.push(e.name));
  group.broadcast({ atMs: 1, kind: 'action', name: 'switchover' });
  group.removeSink(1);
  group.broadcast({ atMs: 2, kind: 'phase', name: 'late' });
  assert.deepEqual(a, ['switchover', 'late']);
  assert.deepEqual(b, ['switchover']);
});

test('--connection and load.connection take two models side by side; the flag wins', async () => {
  const s = parseScenarioText(
    'name: t\nsandbox: single\nduration: 10s\nload: { connection: "per-probe,pool" }\n',
    'inline.yaml',
  );
  assert.deepEqual(s.load.connections, ['per-probe', 'pool']);
  assert.equal(s.load.connection, 'per-probe');
  const file = join(dir, 's.yaml');
  writeFileSync(file, 'name: t\nsandbox: single\nduration: 10s\nload: { connection: "pool,per-probe" }\n');
  const fromFile = await planRun({ scenario: file }, io());
  assert.deepEqual(fromFile.connections, ['pool', 'per-probe']);
  assert.equal(fromFile.options.connection, 'pool');
  const flag = await planRun({ scenario: file, connection: 'per-probe' }, io());
  assert.deepEqual(flag.connections, ['per-probe']);
  const flags = await planRun({ target: 'mysql://a@127.0.0.1/db', connection: 'per-probe,pool' }, io());
  assert.deepEqual(flags.connections, ['per-probe', 'pool']);
  for (const bad of ['pool,pool', 'pool,per-probe,pool', 'pool,carrier-pigeon']) {
    await assert.rejects(
      planRun({ target: 'mysql://a@127.0.0.1/db', connection: bad }, io()),
      (err: unknown) =>
        err instanceof DowntimeError &&
        err.exitCode === ExitCode.Usage &&
        /--connection must be pool, per-probe, or both side by side as pool,per-probe/.test(err.message),
    );
  }
  assert.throws(
    () => parseScenarioText('name: t\nsandbox: single\nduration: 10s\nload: { connection: "pool,pool" }\n', 'x.yaml'),
    /load\.connection: must be one of pool, per-probe, pool,per-probe, per-probe,pool/,
  );
});
