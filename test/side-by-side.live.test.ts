import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { readResults } from '../src/results/reader.js';
import type { EventRecord, ResultsFile } from '../src/results/types.js';
import { assertInvariants } from './helpers/invariants.js';
import { runMain, type CliOutput } from './helpers/cli.js';

/**
 * `--connection pool,per-probe`: both client models measured in one run against one blue/green switchover.
 * Each model has its own results file and report; both start on the same second and hold the same action
 * events; each sees exactly one change of server_id (blue → green); a comparison is rendered.
 */
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'downtime-side-by-side-live-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<CliOutput> {
  const io = bufferIo({ PATH: process.env.PATH ?? '/usr/bin:/bin' });
  io.cwd = dir;
  return runMain(args, io);
}

function serverIds(events: EventRecord[]): number[] {
  const ids: number[] = [];
  for (const e of events) {
    if (e.kind !== 'identity') continue;
    const id = Number((e.detail as { serverId: number }).serverId);
    if (ids.at(-1) !== id) ids.push(id);
  }
  return ids;
}

function actionEvents(r: ResultsFile): string[] {
  return r.events
    .filter((e) => e.kind === 'action' || e.kind === 'phase')
    .map((e) => `${e.kind}:${e.name}:${String(e.detail?.phase ?? '')}@${e.atMs}`);
}

test(
  'pool and per-probe side by side through one switchover: same start, same actions, one server_id change each',
  { timeout: 120_000 },
  async () => {
    const scenario = join(dir, 'bg.yaml');
    writeFileSync(
      scenario,
      [
        'name: bg-both',
        'sandbox: blue-green',
        'duration: 8s',
        'load: { reads: 50, writes: 25, workers: 1, connection: "pool,per-probe", timeout: 1s }',
        'actions:',
        '  - { at: 3s, name: switchover, step: switchover, with: { blockWrites: 1s, rename: 500ms } }',
        'out: bg.ndjson',
        '',
      ].join('\n'),
    );
    const res = await cli(['run', scenario, '--no-progress']);
    assert.equal(res.code, ExitCode.Ok, res.err);
    const poolPath = join(dir, 'bg.pool.ndjson');
    const perProbePath = join(dir, 'bg.per-probe.ndjson');
    assert.deepEqual(res.out.split('\n').slice(0, 2), [poolPath, perProbePath], 'both results paths first on stdout');
    assert.ok(!existsSync(join(dir, 'bg.ndjson')), 'no file under the plain name');
    const pool = readResults(poolPath);
    const perProbe = readResults(perProbePath);
    for (const [model, r] of [
      ['pool', pool],
      ['per-probe', perProbe],
    ] as const) {
      assertInvariants(r);
      assert.equal(r.trailer?.reason, 'completed', model);
      assert.equal(r.header.connection, model);
      assert.equal(r.header.label, `bg-both (${model})`);
      assert.deepEqual(r.header.sideBySide?.models, ['pool', 'per-probe']);
      // One change of server_id for each client model: blue (1), then green (2).
      assert.deepEqual(
        serverIds(r.events),
        [1, 2],
        `${model}: ${JSON.stringify(r.events.filter((e) => e.kind === 'identity'))}`,
      );
      // Each model measured the switchover's outage for itself; nothing acknowledged was lost.
      const summary = analyze(r);
      assert.ok((summary.downtimeMs.write ?? 0) > 500, `${model}: write downtime ${summary.downtimeMs.write}`);
      assert.ok((summary.downtimeMs.write ?? 0) < 5000, `${model}: write downtime ${summary.downtimeMs.write}`);
      assert.equal(r.trailer?.writes?.lost, 0, model);
      assert.ok((r.trailer?.writes?.acknowledged ?? 0) > 100, model);
    }
    assert.equal(pool.header.sideBySide?.group, perProbe.header.sideBySide?.group);
    assert.notEqual(pool.header.runId, perProbe.header.runId, 'each model writes its own rows');
    assert.equal(pool.header.startMs, perProbe.header.startMs, 'one start for both');
    // The switchover ran once; its events (action start/end, the step's phases) are in both files.
    const shared = actionEvents(pool);
    assert.ok(shared.filter((e) => e.startsWith('action:switchover:')).length === 2, shared.join('\n'));
    assert.ok(
      shared.some((e) => e.startsWith('phase:')),
      shared.join('\n'),
    );
    assert.deepEqual(actionEvents(perProbe), shared);
    // RDS phases are polled once (by the first model) and written into both files.
    const rds = (r: ResultsFile) => r.events.filter((e) => e.kind === 'phase' && e.name.startsWith('rds_topology'));
    assert.ok(rds(pool).length > 0);
    // Reports: one per model, and the comparison.
    for (const sub of ['pool', 'per-probe', 'compare']) {
      assert.ok(existsSync(join(dir, 'bg', sub)), `${sub} report folder`);
    }
    assert.ok(existsSync(join(dir, 'bg', 'pool', 'summary.md')));
    assert.ok(existsSync(join(dir, 'bg', 'compare', 'compare.md')));
    assert.match(res.out, /pool:\n/);
    assert.match(res.out, /per-probe:\n/);
  },
);

test('measure(): both models side by side, each with its own measurement', { timeout: 60_000 }, async () => {
  const { measure } = await import('../src/index.js');
  const r = await measure(
    {
      name: 'api-both',
      sandbox: 'single',
      duration: '3s',
      load: { reads: 50, writes: 20, workers: 1, connection: 'per-probe,pool' },
      actions: [{ at: '1s', step: 'restart' }],
    },
    { dir: join(dir, 'api') },
  );
  assert.deepEqual(Object.keys(r.models ?? {}), ['per-probe', 'pool']);
  const perProbe = r.models?.['per-probe'];
  const pool = r.models?.pool;
  assert.equal(r.resultsPath, perProbe?.resultsPath, 'the top level is the first model');
  assert.equal(perProbe?.resultsPath, join(dir, 'api', 'results.per-probe.ndjson'));
  assert.equal(pool?.resultsPath, join(dir, 'api', 'results.pool.ndjson'));
  // The restart ran once and both models saw it.
  for (const m of [perProbe, pool]) {
    assert.ok((m?.downtimeMs.read ?? 0) > 0, JSON.stringify(m?.downtimeMs));
    assert.equal(m?.summary.events.filter((e) => e.kind === 'action' && e.name === 'restart').length, 2);
  }
  assert.equal(r.passed, true);
});

test('a bad --connection list is a usage error naming both forms', async () => {
  const r = await cli(['run', '--target', 'mysql://a@127.0.0.1/db', '--connection', 'pool,pool']);
  assert.equal(r.code, ExitCode.Usage);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
});
