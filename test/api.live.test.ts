import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { measure, readResults, startSandbox } from '../src/index.js';
import { startTestServer } from './helpers/server.js';

/** Server ids of the identity timeline, consecutive repeats collapsed (read_only flips are not server changes). */
function serverIds(path: string): number[] {
  const ids: number[] = [];
  for (const e of readResults(path).events) {
    if (e.kind !== 'identity') continue;
    const id = Number((e.detail as { serverId: number }).serverId);
    if (ids.at(-1) !== id) ids.push(id);
  }
  return ids;
}

test('measure(): a blue/green switchover on a fresh sandbox, as a regression test would assert it', async () => {
  const r = await measure({
    name: 'bg-api',
    sandbox: 'blue-green',
    duration: '8s',
    load: { reads: 100, writes: 50, timeout: '1s' },
    actions: [{ at: '3s', step: 'switchover', with: { blockWrites: '1s', rename: '500ms' } }],
  });
  // Writes are down for the write block plus the rename; reads only for the rename.
  const write = r.downtimeMs.write ?? NaN;
  const read = r.downtimeMs.read ?? NaN;
  assert.ok(write >= 1400 && write <= 2200, `write downtime ${write} ms`);
  assert.ok(read >= 450 && read <= 1100, `read downtime ${read} ms`);
  assert.ok((r.downtimeMs.full ?? NaN) <= read);
  assert.equal(r.writes?.lost, 0, 'every acknowledged write is on green');
  assert.ok((r.writes?.acknowledged ?? 0) > 300);
  assert.equal(r.passed, true);
  const writeErrors = r.outages.find((o) => o.op === 'write')?.errors ?? {};
  assert.ok(
    (writeErrors['read-only'] ?? 0) > 0,
    `writes failed as read-only during the block: ${JSON.stringify(writeErrors)}`,
  );
  // Who answered: blue, then green — exactly one change of server_id.
  assert.deepEqual(serverIds(r.resultsPath), [1, 2]);
  // The RDS status names were recorded, in order.
  const phases = readResults(r.resultsPath)
    .events.filter((e) => e.kind === 'phase' && e.name.startsWith('SWITCHOVER_'))
    .map((e) => e.name);
  assert.deepEqual(phases, [
    'SWITCHOVER_INITIATED',
    'SWITCHOVER_IN_PROGRESS',
    'SWITCHOVER_IN_POST_PROCESSING',
    'SWITCHOVER_COMPLETED',
  ]);
  // The harness saw them too, as a client would, by polling mysql.rds_topology through the endpoint:
  // in order, inside the run (short phases may fall between two 100 ms polls).
  const file = readResults(r.resultsPath);
  const polled = file.events.filter((e) => e.kind === 'phase' && e.name.startsWith('rds_topology '));
  const names = polled.map((e) => e.name.slice('rds_topology '.length));
  const order = ['CREATED', 'PREPARATION', 'IN_PROGRESS', 'POST', 'COMPLETED'];
  assert.deepEqual(
    names,
    order.filter((n) => names.includes(n)),
    `in order: ${names.join(', ')}`,
  );
  for (const needed of ['CREATED', 'IN_PROGRESS', 'COMPLETED']) assert.ok(names.includes(needed), names.join(', '));
  const endMs = file.header.startMs + file.header.durationMs;
  for (const e of polled) assert.ok(e.atMs >= file.header.startMs && e.atMs <= endMs, `${e.name} inside the run`);
  const inProgress = polled.find((e) => e.name.endsWith('IN_PROGRESS'))!;
  const sandboxInProgress = file.events.find((e) => e.name === 'SWITCHOVER_IN_PROGRESS')!;
  assert.ok(inProgress.atMs - sandboxInProgress.atMs < 1000, 'seen within a poll or two of the change');
});

test('measure() with a sandbox the test started itself, per-probe clients', async () => {
  const sandbox = await startSandbox({ topology: 'blue-green' });
  try {
    const r = await measure(
      {
        name: 'given-sandbox',
        sandbox: 'blue-green',
        duration: '6s',
        load: { reads: 50, writes: 50, connection: 'per-probe', timeout: '1s' },
        actions: [{ at: '2s', step: 'switchover', with: { rename: '300ms' } }],
        thresholds: ['write_downtime<3s'],
      },
      { sandbox, report: true },
    );
    assert.equal(r.passed, true, JSON.stringify(r.thresholds));
    assert.deepEqual(serverIds(r.resultsPath), [1, 2]);
    assert.ok(r.reportFiles.some((f) => f.endsWith('report.png')));
    // The sandbox is ours: still running, now on green.
    assert.equal(sandbox.active, 'green');
  } finally {
    await sandbox.stop();
  }
});

test('measure() refuses a bad scenario with every problem listed', async () => {
  await assert.rejects(
    measure({ name: 'bad', sandbox: 'blue-green', duration: '5', load: { reads: -1 } }),
    (e: Error) => /duration: "5" has no unit/.test(e.message) && /load.reads/.test(e.message),
  );
});

test('measure() with a connection object and a function action (the recipe for a test container): a restart mid-run, measured', async () => {
  // What Testcontainers' MySqlContainer gives (host, port, user, password, database); here a server of the test's
  // own, as no image registry is reachable: the recipe is the same (docs/library.md).
  const srv = await startTestServer();
  try {
    const r = await measure(
      { name: 'fn-action', duration: '6s', load: { reads: 50, writes: 20, timeout: '1s' } },
      {
        connection: {
          host: '127.0.0.1',
          port: srv.server.port,
          user: srv.user,
          password: srv.password,
          database: srv.database,
        },
        actions: [
          {
            at: '2s',
            name: 'restart',
            run: async () => {
              await srv.server.stop();
              await srv.server.start();
            },
          },
        ],
      },
    );
    for (const op of ['read', 'write'] as const) {
      assert.ok((r.downtimeMs[op] ?? 0) > 0, `${op}: the restart is an outage`);
    }
    assert.equal(r.writes?.lost, 0);
    const file = readResults(r.resultsPath);
    const action = file.events.filter((e) => e.kind === 'action' && e.name === 'restart');
    assert.ok(action.length > 0, 'the function action is recorded');
    assert.ok(!readFileSync(r.resultsPath, 'utf8').includes(srv.password), 'the password is nowhere in the file');
    assert.equal(file.header.target.port, srv.server.port);
  } finally {
    await srv.cleanup();
  }
});

test('measure(): a function action past the end of the run, or without a function, is refused before anything runs', async () => {
  const conn = { host: '127.0.0.1', port: 9, user: 'u', database: 'd' };
  await assert.rejects(
    measure({ name: 'x', duration: '2s' }, { connection: conn, actions: [{ at: '5s', run: () => undefined }] }),
    /action "action 1" at 5000 ms is not before the end of the run \(2000 ms\)/,
  );
  await assert.rejects(
    measure({ name: 'x', duration: '2s' }, { connection: conn, actions: [{ at: '1s' } as never] }),
    /actions\[0\]\.run must be a function/,
  );
});
