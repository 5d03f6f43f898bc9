/**
 * Several endpoints in one run (#13 item 4): `--target NAME=URL` repeated, each with its own ops and rates, one
 * start second, one comparison report. Here the same server is watched through an endpoint proxy and directly;
 * the proxy resets every connection for 1.5 s: the proxy's endpoint shows the outage, the direct one none — and
 * in a blue/green sandbox, the endpoint and green watched directly through a switchover.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo, wallClockMs } from '../src/io.js';
import { readResults } from '../src/results/reader.js';
import { startProxy, type EndpointProxy } from '../src/sandbox/endpoint/proxy.js';
import { sleep } from '../src/util/sleep.js';
import { runMain } from './helpers/cli.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';

let srv: TestServer;
let dir: string;
let proxy: EndpointProxy;

before(async () => {
  ({ srv, dir } = await serverAndDir('downtime-endpoints-'));
  proxy = await startProxy({ target: { host: '127.0.0.1', port: srv.server.port } });
});

after(async () => {
  await proxy?.close();
  await removeServerAndDir(srv, dir);
});

test('two endpoints, one through a proxy that resets for 1.5 s: one run, two files, the outage only where it was, one comparison', async () => {
  const out = join(dir, 'two.ndjson');
  const url = (port: number): string => `mysql://${srv.user}@127.0.0.1:${port}/${srv.database}`;
  const running = runMain(
    [
      'run',
      '--target',
      `proxy=${url(proxy.port)}`,
      '--target',
      `direct=${url(srv.server.port)}`,
      '--reads',
      '50',
      '--writes',
      '20',
      '--writes',
      'direct=0',
      '--reads',
      'direct=40',
      '--duration',
      '7s',
      '--workers',
      '1',
      '--out',
      out,
    ],
    bufferIo({ MYSQL_PWD: srv.password }),
  );
  // The fault, from this process, while the run goes on: 3 s in (the members need a moment to start).
  await sleep(3500);
  const fault = await proxy.fault({ kind: 'reset' });
  await sleep(1500);
  const times = await proxy.clearFault();
  const res = await running;
  assert.equal(res.code, ExitCode.Ok, res.err);
  assert.ok(times?.endMs !== undefined && fault.atMs > 0);

  const viaProxy = readResults(join(dir, 'two.proxy.ndjson'));
  const direct = readResults(join(dir, 'two.direct.ndjson'));
  assert.equal(viaProxy.header.endpoint, 'proxy');
  assert.equal(direct.header.endpoint, 'direct');
  assert.equal(viaProxy.header.label, 'run (proxy)');
  assert.deepEqual(viaProxy.header.sideBySide?.members, ['proxy', 'direct']);
  assert.equal(viaProxy.header.sideBySide?.group, direct.header.sideBySide?.group);
  // One start second for both; each endpoint with its own rates (direct: 40 reads/s, no writes).
  assert.equal(viaProxy.header.startMs, direct.header.startMs);
  assert.equal(viaProxy.header.ops.read?.ratePerSec, 50);
  assert.equal(viaProxy.header.ops.write?.ratePerSec, 20);
  assert.equal(direct.header.ops.read?.ratePerSec, 40);
  assert.equal(direct.header.ops.write, undefined);
  assert.equal(viaProxy.header.target.port, proxy.port);
  assert.equal(direct.header.target.port, srv.server.port);

  const p = analyze(viaProxy);
  const d = analyze(direct);
  assert.deepEqual(d.outages, [], 'the direct endpoint saw no outage');
  for (const op of ['read', 'write'] as const) {
    const windows = p.outages.filter((o) => o.op === op);
    assert.ok(windows.length > 0, `proxy: a ${op} window`);
    const first = windows[0] as (typeof windows)[number];
    const last = windows[windows.length - 1] as (typeof windows)[number];
    assert.ok(
      Math.abs(first.startMs - fault.atMs) < 300,
      `proxy ${op}: starts ${first.startMs - fault.atMs} ms from the fault`,
    );
    assert.ok(
      last.endMs >= times.endMs - 50 && last.endMs < times.endMs + 2500,
      `proxy ${op}: ends ${last.endMs - times.endMs} ms from the fault's end`,
    );
  }
  // The output names both, and one comparison holds both timelines.
  assert.match(res.out, /^proxy:$/m);
  assert.match(res.out, /^direct:$/m);
  for (const f of ['proxy/summary.json', 'direct/summary.json', 'compare/compare.png', 'compare/compare.md']) {
    assert.ok(existsSync(join(dir, 'two', f)), `report file ${f}`);
  }
  const md = readFileSync(join(dir, 'two', 'compare', 'compare.md'), 'utf8');
  assert.match(md, /run \(proxy\)/);
  assert.match(md, /run \(direct\)/);
  // One clock for every endpoint's windows: the proxy's read and write windows, none of direct's.
  const windows = md.slice(md.indexOf('### Outage windows, all runs in time order'));
  assert.match(windows, /\| run \(proxy\) \| read +\| \d{4}-/);
  assert.match(windows, /\| run \(proxy\) \| write +\| \d{4}-/);
  assert.doesNotMatch(windows, /run \(direct\)/);
  assert.ok(!md.includes(srv.password) && !res.out.includes(srv.password) && !res.err.includes(srv.password));
});

test('a blue/green sandbox scenario with targets: its endpoint and green directly, through a switchover: both in one report', async () => {
  const scenario = join(dir, 'bg.yaml');
  writeFileSync(
    scenario,
    [
      'name: two-doors',
      'sandbox: blue-green',
      'duration: 9s',
      'load:',
      '  reads: 50',
      '  writes: 20',
      'actions:',
      '  - at: 3s',
      '    name: switchover',
      '    step: switchover',
      '    with: {maxLag: 1s, timeout: 10s, blockWrites: 1s, rename: 1s}',
      // The endpoint and green directly, green for reads only (it is read-only until the switchover).
      'targets:',
      '  - {name: endpoint, sandbox: endpoint}',
      '  - {name: green, sandbox: green, writes: 0}',
      '',
    ].join('\n'),
  );
  const out = join(dir, 'bg.ndjson');
  const startedMs = wallClockMs();
  const res = await runMain(['run', scenario, '--workers', '1', '--out', out], bufferIo({}));
  assert.equal(res.code, ExitCode.Ok, res.err);
  assert.ok(wallClockMs() - startedMs < 60_000);
  const endpoint = readResults(join(dir, 'bg.endpoint.ndjson'));
  const green = readResults(join(dir, 'bg.green.ndjson'));
  assert.equal(endpoint.header.endpoint, 'endpoint');
  assert.equal(green.header.endpoint, 'green');
  assert.notEqual(endpoint.header.target.port, green.header.target.port, 'green is watched at its own port');
  // The switchover is an action of the run: written into both files.
  for (const f of [endpoint, green]) {
    assert.ok(
      f.events.some((e) => e.name === 'switchover'),
      `${f.header.label}: the switchover event`,
    );
  }
  const e = analyze(endpoint);
  const g = analyze(green);
  // At the endpoint, writes stop for the blocked writes and the rename; green itself never stops answering reads.
  assert.ok(
    e.outages.some((o) => o.op === 'write'),
    'endpoint: a write outage',
  );
  assert.deepEqual(
    g.outages.filter((o) => o.op === 'read'),
    [],
    'green answered every read',
  );
  assert.equal(green.header.ops.write, undefined);
  const md = readFileSync(join(dir, 'bg', 'compare', 'compare.md'), 'utf8');
  assert.match(md, /two-doors \(endpoint\)/);
  assert.match(md, /two-doors \(green\)/);
});
