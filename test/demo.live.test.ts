import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../src/run/demo.js';
import { bufferIo } from '../src/io.js';
import { pngSize } from '../src/report/index.js';
import { readResults } from '../src/results/reader.js';
import { analyze } from '../src/analyze/index.js';
import { packageRoot } from '../src/version.js';
import { answerLatencyAt } from './helpers/lag.js';

test('downtime demo --quick: both methods rehearsed, compared, numbers non-zero and consistent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'downtime-demo-'));
  try {
    const io = bufferIo({ ...process.env });
    const r = await runDemo({ quick: true, outDir: dir, progress: false }, io);
    const png = readFileSync(r.comparePng);
    assert.deepEqual(pngSize(png), { width: 3200, height: 1800 });
    assert.match(io.out.join(''), /comparison chart: .*compare\.png/);
    const [inPlace, blueGreen] = r.summaries;
    assert.ok(inPlace && blueGreen);
    for (const s of [inPlace, blueGreen]) {
      const { read, write, full } = s.downtimeMs;
      assert.ok(read !== null && write !== null && full !== null);
      assert.ok(read > 0 && write > 0 && full > 0, `${s.label}: downtime ${JSON.stringify(s.downtimeMs)}`);
      assert.ok(full <= Math.min(read, write) + 1e-6, `${s.label}: full ≤ min(read, write)`);
      assert.equal(s.writes?.lost, 0, `${s.label}: no lost writes`);
      for (const op of ['read', 'write'] as const) {
        const o = s.ops[op];
        assert.ok(o);
        assert.equal(o.ok + o.failed + o.dropped, o.due, `${s.label} ${op}: due = ok + failed + dropped`);
      }
    }
    // In place, the server is down for the whole offline phase (5 s): reads and writes alike.
    assert.ok(inPlace.downtimeMs.read! >= 4500, `in-place read ${inPlace.downtimeMs.read}`);
    assert.ok(Math.abs(inPlace.downtimeMs.read! - inPlace.downtimeMs.write!) < 300);
    // The in-place outage matches the step's own measurement: from the shutdown's start to accepting again
    // (the server's offline time plus its shutdown), within two probe intervals and scheduling noise.
    const inPlaceFile = readResults(r.inPlace);
    const step = inPlaceFile.events.find((e) => e.kind === 'action' && e.detail?.phase === 'end');
    const d = step?.detail as { shutdownAtMs: number; acceptingAtMs: number; offlineMs: number };
    assert.ok(d && typeof d.acceptingAtMs === 'number', 'the step reported its timings');
    const stepOutageMs = d.acceptingAtMs - d.shutdownAtMs;
    const full = inPlace.downtimeMs.full!;
    // The window ends when the first answer came back: later than accepting by that answer's own latency (the
    // pool's reconnect to a server just started, its first queries), which the file records with it.
    const fullWindow = analyze(inPlaceFile)
      .outages.filter((o) => o.op === 'full')
      .reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
    const answerMs = Math.max(
      ...(['read', 'write'] as const).map((op) => answerLatencyAt(inPlaceFile, op, fullWindow.endMs)),
    );
    assert.ok(
      full - stepOutageMs <= 2 * 20 + 50 + answerMs && stepOutageMs - full <= 2 * 20 + 50,
      `full ${full} ms vs step ${stepOutageMs.toFixed(0)} ms (the answer that ended it took ${answerMs} ms)`,
    );
    assert.ok(full >= d.offlineMs - 20, `full ${full} ms vs offline ${d.offlineMs.toFixed(0)} ms`);
    // Blue/green: writes blocked 3 s + the 1.5 s rename; reads only during the rename.
    assert.ok(blueGreen.downtimeMs.write! > blueGreen.downtimeMs.read!, 'writes down longer than reads');
    assert.ok(blueGreen.downtimeMs.write! < inPlace.downtimeMs.write!, 'blue/green beats in place');
    assert.ok(existsSync(join(dir, 'in-place', 'report.html')) && existsSync(join(dir, 'blue-green', 'summary.md')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the published package carries what the demo needs (no reliance on the repository layout)', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: packageRoot(),
    encoding: 'utf8',
  });
  const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
  for (const needed of [
    'dist/src/cli.js',
    'dist/src/index.js',
    'dist/src/load/worker.js',
    'dist/src/sandbox/background/proxy-daemon.js',
    'scenarios/local-in-place.yaml',
    'scenarios/local-blue-green.yaml',
    'scripts/build-images.sh',
    'scripts/docker-engine.sh',
  ]) {
    assert.ok(files.includes(needed), `${needed} is in the package`);
  }
  assert.ok(!files.some((f) => f.startsWith('dist/test/')), 'tests are not shipped');
  // The sources are not shipped, so neither are maps pointing at them (#15 item 2).
  assert.deepEqual(
    files.filter((f) => f.endsWith('.map')),
    [],
    'no source maps',
  );
});
