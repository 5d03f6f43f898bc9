import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import type { PngRenderer } from '../src/report/index.js';
import { renderPng } from '../src/report/render.js';
import { syntheticResults, type SyntheticSpec } from './helpers/synthetic.js';

/**
 * A report whose charts cannot be rendered (no native canvas, no fonts) still writes its text outputs, says so in
 * one warning line, and exits as it would have. The renderers here fail for real: the first throws before
 * drawing anything, the second draws the first chart with chart.js and then throws, as a canvas running out of
 * memory half-way would.
 */
const SPEC: SyntheticSpec = {
  label: 'charts',
  durationMs: 8_000,
  rates: { read: 10, write: 5 },
  outages: [{ op: 'write', fromMs: 2000, toMs: 2600, cls: 'read-only' }],
};

const noCanvas: PngRenderer = () => Promise.reject(new Error('Cannot find module canvas.node\n(no prebuilt binary)'));

function afterOne(): PngRenderer {
  let calls = 0;
  return async (config) => {
    if (calls++ > 0) throw new Error('canvas: out of memory');
    return renderPng(config);
  };
}

async function cli(args: string[], renderer: PngRenderer): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo();
  const code = await main(args, io, { renderPng: renderer });
  return { code, out: io.out.join(''), err: io.err.join('') };
}

function fixture(t: { after: (fn: () => void) => void }): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'downtime-charts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'run.ndjson');
  writeFileSync(file, syntheticResults(SPEC));
  return { dir, file };
}

test('report: charts that fail leave the text outputs written, a note in them, one warning, exit 0', async (t) => {
  for (const [name, renderer] of [
    ['no canvas', noCanvas],
    ['fails after one chart', afterOne()],
  ] as const) {
    const { dir, file } = fixture(t);
    const out = join(dir, 'rep');
    // An earlier report's charts: they must not stay next to text that no longer matches them.
    mkdirSync(out);
    for (const png of ['report.png', 'latency.png', 'lag.png']) writeFileSync(join(out, png), 'old chart');
    const r = await cli(['report', file, '--out', out], renderer);
    assert.equal(r.code, ExitCode.Ok, `${name}: ${r.err}`);
    assert.match(
      r.err,
      /^downtime: warning: charts not rendered \((Cannot find module canvas\.node \(no prebuilt binary\)|canvas: out of memory)\); the text outputs in .*rep were written without them\n$/,
      name,
    );
    assert.match(r.out, /summary\.json/);
    assert.deepEqual(readdirSync(out).sort(), ['report.html', 'seconds.csv', 'summary.json', 'summary.md'], name);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { downtimeMs: { write: number } };
    assert.equal(summary.downtimeMs.write, 600);
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    assert.doesNotMatch(md, /!\[/, 'no image references');
    assert.match(md, /Charts not rendered \(.+\); every figure is in the text and in summary\.json/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /Charts not rendered/);
    assert.match(readFileSync(join(out, 'seconds.csv'), 'utf8'), /^offset_s,epoch_s,op,/);
  }
});

test('report --json and a failed threshold: the summary on stdout, the warning on stderr, exit 99', async (t) => {
  const { dir, file } = fixture(t);
  const r = await cli(
    ['report', file, '--out', join(dir, 'rep'), '--json', '--threshold', 'write_downtime<100ms'],
    noCanvas,
  );
  assert.equal(r.code, ExitCode.ThresholdsFailed);
  assert.equal((JSON.parse(r.out) as { label: string }).label, 'charts');
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 2, r.err);
  assert.match(lines[0] ?? '', /^downtime: warning: charts not rendered/);
  assert.match(lines[1] ?? '', /^downtime: 1 threshold\(s\) failed/);
});

test('compare: charts that fail leave compare.md, .html and .json written', async (t) => {
  const { dir, file } = fixture(t);
  const second = join(dir, 'run2.ndjson');
  writeFileSync(second, syntheticResults({ ...SPEC, label: 'other' }));
  const out = join(dir, 'cmp');
  const r = await cli(['compare', file, second, '--out', out], afterOne());
  assert.equal(r.code, ExitCode.Ok, r.err);
  assert.match(r.err, /^downtime: warning: charts not rendered \(canvas: out of memory\)[^\n]*\n$/);
  assert.deepEqual(readdirSync(out).sort(), ['compare.html', 'compare.json', 'compare.md']);
  assert.match(readFileSync(join(out, 'compare.md'), 'utf8'), /Charts not rendered/);
  assert.doesNotMatch(readFileSync(join(out, 'compare.html'), 'utf8'), /<img/);
  assert.ok(!existsSync(join(out, 'compare.png')));
});
