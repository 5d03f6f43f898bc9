/**
 * Render benchmark: `npx tsc -p . && node dist/bench/render.js [minutes | FILE]` (default 60). Generates a
 * synthetic results file (1000 probes/s per op, a few outages and a flapping stretch), or takes a results file
 * (a real run's: real latencies draw more slowly than synthetic ones), then times reading, analysis and
 * rendering every report file, and prints the ratio to the 3 s target. Not part of the test command.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { renderReport } from '../src/report/index.js';
import { readResults } from '../src/results/reader.js';
import { syntheticResults, type InjectedOutage } from '../test/helpers/synthetic.js';

const TARGET_MS = 3000;
const given = process.argv[2] !== undefined && !/^\d+(\.\d+)?$/.test(process.argv[2]) ? process.argv[2] : null;
const minutes = given === null ? Number(process.argv[2] ?? 60) : 0;
const dir = mkdtempSync(join(tmpdir(), 'downtime-render-bench-'));
try {
  const file = given ?? join(dir, 'bench.ndjson');
  if (given === null) generate(file, minutes);
  else console.log(`${given}: ${(statSync(given).size / 1e6).toFixed(1)} MB`);

  let t0 = performance.now();
  const results = readResults(file);
  const readMs = performance.now() - t0;
  t0 = performance.now();
  const summary = analyze(results);
  const analyzeMs = performance.now() - t0;
  t0 = performance.now();
  const { files } = await renderReport(results, join(dir, 'report'));
  const renderMs = performance.now() - t0; // includes its own analysis pass
  const total = readMs + renderMs;
  console.log(
    `read ${readMs.toFixed(0)} ms · analyze ${analyzeMs.toFixed(0)} ms · analyze+render+write ${renderMs.toFixed(0)} ms`,
  );
  console.log(`windows: ${summary.outages.length}, files: ${files.length}`);
  console.log(
    `read + report: ${(total / 1000).toFixed(2)} s; ratio to the ${TARGET_MS / 1000} s target: ${(total / TARGET_MS).toFixed(2)} (≤ 1 is on target)`,
  );
} finally {
  // BENCH_KEEP=1 keeps the file and the report to look at.
  if (process.env.BENCH_KEEP === '1') console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

/** Writes a synthetic results file of `minutes` to `file`. */
function generate(file: string, minutes: number): void {
  const durationMs = minutes * 60_000;
  const outages: InjectedOutage[] = [];
  // An outage every 10 minutes (8 s reads, 12 s writes), and a flapping minute in the middle.
  for (let t = 300_000; t < durationMs; t += 600_000) {
    outages.push({ op: 'read', fromMs: t, toMs: t + 8000, cls: 'refused' });
    outages.push({ op: 'write', fromMs: t - 2000, toMs: t + 10_000, cls: 'read-only' });
  }
  for (let t = durationMs / 2; t < durationMs / 2 + 60_000; t += 3000) {
    outages.push({ op: 'both', fromMs: t, toMs: t + 700, cls: 'lost-connection' });
  }
  const t0 = performance.now();
  const text = syntheticResults({
    label: `bench-${minutes}min`,
    durationMs,
    rates: { read: 1000, write: 1000 },
    outages,
    latencyUs: (_op, off, seq) => 800 + (seq % 97) * 20 + (off % 600_000 < 20_000 ? 30_000 : 0),
  });
  writeFileSync(file, text);
  const genMs = performance.now() - t0;
  console.log(
    `generated ${minutes} min at 1000 probes/s/op: ${(statSync(file).size / 1e6).toFixed(1)} MB in ${(genMs / 1000).toFixed(1)} s (not timed)`,
  );
}
