import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeDetailed } from '../src/analyze/index.js';
import { latencyChart } from '../src/report/charts/latency.js';
import { outcomeChart } from '../src/report/charts/outcome.js';
import { decimate, type XY } from '../src/report/charts/series.js';
import { readResults } from '../src/results/reader.js';
import { syntheticResults } from './helpers/synthetic.js';

/** A stepped per-second line of `n` points whose y wanders between 900 and 1100. */
function wandering(n: number): XY[] {
  return Array.from({ length: n }, (_, i) => ({ x: i, y: 1000 + 100 * Math.sin(i / 7) }));
}

function assertOrdered(points: XY[]): void {
  for (let i = 1; i < points.length; i++)
    assert.ok((points[i] as XY).x >= (points[i - 1] as XY).x, `x goes back at ${i}: ${JSON.stringify(points)}`);
}

test('a line no longer than twice the buckets is drawn as it is', () => {
  const line = wandering(202);
  assert.equal(decimate(line, 100), line);
});

test('a long line keeps, per slice, its lowest and highest point: a one-second dip and spike survive', () => {
  const line = wandering(100_000);
  line[31_337] = { x: 31_337, y: 0 };
  line[77_777] = { x: 77_777, y: 5000 };
  const thin = decimate(line, 800);
  assert.ok(thin.length <= 2 * 800 + 2, `${thin.length} points`);
  assertOrdered(thin);
  assert.deepEqual(thin[0], line[0]);
  assert.deepEqual(thin[thin.length - 1], line[line.length - 1]);
  assert.ok(
    thin.some((p) => p.x === 31_337 && p.y === 0),
    'the dip is kept',
  );
  assert.ok(
    thin.some((p) => p.x === 77_777 && p.y === 5000),
    'the spike is kept',
  );
  // Every slice's extremes are the line's: nothing drawn above the highest or below the lowest.
  const ys = thin.map((p) => p.y as number);
  assert.equal(Math.min(...ys), 0);
  assert.equal(Math.max(...ys), 5000);
  const quiet = thin.filter((p) => p.x < 30_000).map((p) => p.y as number);
  assert.ok(Math.min(...quiet) < 901 && Math.max(...quiet) > 1099, 'the wandering still spans its range');
});

test('breaks in a long line (y null) stay breaks, one per run of them', () => {
  const line = wandering(50_000);
  for (let i = 20_000; i < 20_050; i++) line[i] = { x: i, y: null };
  const thin = decimate(line, 500);
  assertOrdered(thin);
  const nulls = thin.filter((p) => p.y === null);
  assert.equal(nulls.length, 1);
  const at = (nulls[0] as XY).x;
  assert.ok(at >= 20_000 && at < 20_050, `the break is at ${at}`);
  // The line goes on after the break.
  assert.ok(thin.some((p) => p.x >= 20_050 && p.x < 20_200 && p.y !== null));
});

test("a 6-hour run's charts hold at most 2 points per slice and still show a 2-second outage", () => {
  const dir = mkdtempSync(join(tmpdir(), 'downtime-decimate-'));
  try {
    const file = join(dir, 'long.ndjson');
    const outageFromMs = 4 * 3600_000 + 17_000;
    writeFileSync(
      file,
      syntheticResults({
        label: 'long',
        durationMs: 6 * 3600_000,
        rates: { read: 2, write: 1 },
        outages: [{ op: 'read', fromMs: outageFromMs, toMs: outageFromMs + 2000, cls: 'refused' }],
      }),
    );
    const a = analyzeDetailed(readResults(file));
    for (const chart of [outcomeChart(a), latencyChart(a)])
      for (const ds of chart.data.datasets) {
        const data = ds.data as XY[];
        assert.ok(data.length <= 2 * 800 + 2, `${String(ds.label)}: ${data.length} points`);
        assertOrdered(data);
      }
    const readsOk = outcomeChart(a).data.datasets.find((d) => d.label === 'reads ok/s');
    const fromSec = outageFromMs / 1000;
    const dip = (readsOk?.data as XY[]).filter((p) => p.y === 0);
    assert.ok(
      dip.some((p) => p.x >= fromSec && p.x < fromSec + 2),
      `reads ok/s reaches 0 in the outage: ${JSON.stringify(dip)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
