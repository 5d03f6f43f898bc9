/**
 * `downtime export` (#15 item 4): a results file as OpenMetrics, read back by Prometheus's own promtool (it builds
 * TSDB blocks from it and dumps them), and as InfluxDB line protocol. Needs promtool (Debian's prometheus package,
 * which .ci/run installs).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../src/errors.js';
import { runMain } from './helpers/cli.js';
import { SYNTH_START_MS, syntheticResults } from './helpers/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'downtime-export-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, 'r.ndjson');
writeFileSync(
  file,
  syntheticResults({
    label: 'bg "blue", green',
    durationMs: 10_000,
    rates: { read: 20, write: 10 },
    outages: [{ op: 'both', fromMs: 3000, toMs: 5500, cls: 'refused' }],
  }),
);
const T0 = SYNTH_START_MS / 1000;

test('openmetrics: promtool builds blocks from it; cumulative counts, latency quantiles and outage seconds as written', async () => {
  const res = await runMain(['export', file, '--format', 'openmetrics']);
  assert.equal(res.code, ExitCode.Ok, res.err);
  assert.ok(res.out.endsWith('# EOF\n'));
  const om = join(dir, 'r.om');
  writeFileSync(om, res.out);
  const data = join(dir, 'data');
  execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', om, data], { stdio: 'pipe' });
  mkdirSync(join(data, 'wal'), { recursive: true });
  const dump = execFileSync('promtool', ['tsdb', 'dump', data], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const value = (series: string, atSec: number): number | undefined => {
    const line = dump.split('\n').find((l) => l.startsWith(series) && l.endsWith(` ${(T0 + atSec) * 1000}`));
    return line === undefined ? undefined : Number(line.split(' ').at(-2));
  };
  const run = 'run="bg \\"blue\\", green"';
  // 20 reads/s: 2.5 s refused from 3 s; ok reads cumulative at the end of the run: 10 s × 20 − 50.
  assert.equal(value(`{__name__="downtime_probes_total", op="read", outcome="ok", ${run}}`, 10), 150);
  assert.equal(value(`{__name__="downtime_probes_total", op="read", outcome="refused", ${run}}`, 10), 50);
  assert.equal(value(`{__name__="downtime_probes_total", op="write", outcome="refused", ${run}}`, 4), 10);
  assert.equal(value(`{__name__="downtime_outage", op="read", ${run}}`, 4), 1);
  assert.equal(value(`{__name__="downtime_outage", op="read", ${run}}`, 8), 0);
  const p99 = value(`{__name__="downtime_probe_latency_seconds", op="read", quantile="0.99", ${run}}`, 1);
  assert.ok(p99 !== undefined && p99 > 0.001 && p99 < 0.01, `p99 ${p99}`);
});

test('influx: one line per op, second and outcome, tags escaped, nanosecond timestamps', async () => {
  const res = await runMain(['export', file, '--format', 'influx']);
  assert.equal(res.code, ExitCode.Ok, res.err);
  const lines = res.out.trim().split('\n');
  const ts = `${T0 + 4}000000000`;
  assert.ok(
    lines.includes(`downtime_probes,run=bg\\ "blue"\\,\\ green,op=read,outcome=refused count=20i ${ts}`),
    res.out.slice(0, 400),
  );
  assert.ok(lines.includes(`downtime_outage,run=bg\\ "blue"\\,\\ green,op=write down=1i ${ts}`));
  // measurement,tags (escaped spaces and commas inside) fields timestamp
  for (const l of lines) assert.match(l, /^downtime_(probes|latency|outage),(?:\\.|[^ \\])+ \S+ \d{19}$/);
});

test('export --out writes the file atomically and refuses an existing one without --force', async () => {
  const out = join(dir, 'x.om');
  assert.equal((await runMain(['export', file, '--format', 'openmetrics', '--out', out])).code, ExitCode.Ok);
  const again = await runMain(['export', file, '--format', 'openmetrics', '--out', out]);
  assert.equal(again.code, ExitCode.Output, again.err);
  assert.equal((await runMain(['export', file, '--format', 'influx', '--out', out, '--force'])).code, ExitCode.Ok);
});
