import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import type { RunResult } from '../src/load/options.js';
import { parseResults } from '../src/results/reader.js';
import type { RunOutcome } from '../src/run/execute.js';
import { finishRun } from '../src/run/finish.js';
import { syntheticResults, type SyntheticSpec } from './helpers/synthetic.js';

/**
 * `run --json`, after the measurement (finishRun, on results files written by the synthetic helper: no database):
 * stdout is exactly the summary.json object, or `{"members": {NAME: …}}` side by side; everything else on stderr.
 */
const SPEC: SyntheticSpec = {
  label: 'json',
  durationMs: 6_000,
  rates: { read: 10, write: 5 },
  outages: [{ op: 'write', fromMs: 2000, toMs: 2600, cls: 'read-only' }],
};

function resultOf(path: string): RunResult {
  const parsed = parseResults(readFileSync(path, 'utf8'), path);
  return { path, runId: 'r', header: parsed.header, trailer: parsed.trailer, abandoned: false } as RunResult;
}

function fixture(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'downtime-json-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('run --json: the summary on stdout and nothing else; the report is written; exit 99 on a failed threshold', async (t) => {
  const dir = fixture(t);
  const path = join(dir, 'run.ndjson');
  writeFileSync(path, syntheticResults(SPEC));
  const outcome: RunOutcome = {
    result: resultOf(path),
    thresholds: ['write_downtime<100ms'],
    report: { enabled: true, dir: join(dir, 'run') },
  };
  const io = bufferIo();
  const code = await finishRun(outcome, io, { json: true });
  assert.equal(code, ExitCode.ThresholdsFailed);
  const out = io.out.join('');
  const summary = JSON.parse(out) as { label: string; downtimeMs: { write: number }; thresholds: { ok: boolean }[] };
  assert.equal(summary.downtimeMs.write, 600);
  assert.equal(summary.thresholds[0]?.ok, false);
  // The same object as summary.json.
  assert.equal(out, readFileSync(join(dir, 'run', 'summary.json'), 'utf8'));
  const err = io.err.join('');
  assert.match(err, new RegExp(`^${path}\\n`));
  assert.match(err, /summary\.json\n/);
  assert.match(err, /threshold\(s\) failed/);
  // Without --json the same finish prints the table and paths on stdout, as before.
  const plain = bufferIo();
  await finishRun(outcome, plain, {});
  assert.match(plain.out.join(''), /^\/.*run\.ndjson\n/);
  assert.throws(() => JSON.parse(plain.out.join('')) as unknown);
});

test('run --json side by side: {"members": {NAME: summary}} in member order; --no-report still prints it', async (t) => {
  const dir = fixture(t);
  const names = ['writer', 'reader'];
  const members = names.map((name) => {
    const path = join(dir, `run.${name}.ndjson`);
    writeFileSync(path, syntheticResults({ ...SPEC, label: name }));
    return { name, model: 'pool' as const, endpoint: name, result: resultOf(path), reportDir: join(dir, 'run', name) };
  });
  for (const enabled of [true, false]) {
    const io = bufferIo();
    const code = await finishRun(
      {
        result: (members[0] as { result: RunResult }).result,
        members,
        thresholds: [],
        report: { enabled, dir: join(dir, 'run') },
      },
      io,
      { json: true },
    );
    assert.equal(code, ExitCode.Ok, io.err.join(''));
    const json = JSON.parse(io.out.join('')) as { members: Record<string, { label: string }> };
    assert.deepEqual(Object.keys(json.members), names);
    assert.equal(json.members.reader?.label, 'reader');
  }
});
