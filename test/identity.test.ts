import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, analyzeDetailed } from '../src/analyze/index.js';
import { IdentityTimeline } from '../src/load/identity-timeline.js';
import type { EventInput } from '../src/results/types.js';
import { outcomeChart } from '../src/report/index.js';
import { parseResults } from '../src/results/reader.js';
import { SYNTH_START_MS as T0, syntheticResults } from './helpers/synthetic.js';

const blue = { serverId: 1, hostname: 'blue', version: '10.11', readOnly: false };
const green = { serverId: 2, hostname: 'green', version: '10.11', readOnly: false };

test('one identity event per change of the answering server, announced by the first worker to see it', () => {
  const events: EventInput[] = [];
  const t = new IdentityTimeline((e) => events.push(e));
  t.observe(0, blue, 1000, 1001);
  t.observe(1, blue, 1005, 1006); // the second worker agrees: nothing new
  t.observe(1, green, 2000, 2003); // switchover seen by worker 1 first
  t.observe(0, green, 2010, 2012);
  assert.deepEqual(
    events.map((e) => [e.kind, e.atMs, (e.detail as { serverId: number }).serverId]),
    [
      ['identity', 1000, 1],
      ['identity', 2000, 2],
    ],
  );
  assert.match(events[1]?.name ?? '', /^now answered by green 10\.11, server_id 2 from 00:00:02\.000$/);
});

test('connect-time identity: a pooled connection reports who it reached and where; reads agree, no new event', () => {
  const events: EventInput[] = [];
  const t = new IdentityTimeline((e) => events.push(e), 1000);
  // The pool was opened before the start (t0 = 1000): announced at the start, with the true time in the name.
  t.connected(0, { op: 'write', identity: blue, version: '10.11', address: '10.0.0.1', atMs: 400 });
  t.observe(1, blue, 1010, 1011, '10.0.0.1'); // a read agrees
  // Switchover: a new write connection reaches green before any read does.
  t.connected(1, { op: 'write', identity: green, version: '10.11', address: '10.0.0.2', atMs: 5000.5 });
  t.observe(0, green, 5010, 5012, '10.0.0.2');
  // A read of worker 0 answered by blue just before the change arrives late: older news, not a stale server.
  t.observe(0, blue, 4990, 4999, '10.0.0.1');
  assert.deepEqual(
    events.map((e) => [e.kind, e.atMs, e.name]),
    [
      ['identity', 1000, 'answered by blue 10.11, server_id 1 at 10.0.0.1 from 00:00:00.400'],
      ['identity', 5000.5, 'now answered by green 10.11, server_id 2 at 10.0.0.2 from 00:00:05.000'],
    ],
  );
  assert.deepEqual(events[1]?.detail, {
    ...green,
    address: '10.0.0.2',
    via: 'connect (writes)',
    worker: 1,
    answeredAtMs: 5000.5,
  });
  // A stale pool: a connection to blue answers after green took over — flagged.
  t.observe(1, blue, 6000, 6001, '10.0.0.1');
  assert.deepEqual(
    events.slice(2).map((e) => [e.kind, e.name]),
    [
      ['identity', 'now answered by blue 10.11, server_id 1 at 10.0.0.1 from 00:00:06.000'],
      ['warning', 'stale-server'],
    ],
  );
});

test('per-probe connections: the handshake version and address, as a note when they change (no identity event)', () => {
  const events: EventInput[] = [];
  const t = new IdentityTimeline((e) => events.push(e), 0);
  for (let i = 0; i < 5; i++) {
    t.connected(0, { op: 'write', identity: null, version: '10.11.6', address: '127.0.0.1', atMs: 100 + i });
  }
  t.connected(0, { op: 'write', identity: null, version: '10.11.9', address: '127.0.0.1', atMs: 3000 });
  assert.deepEqual(
    events.map((e) => [e.kind, e.name]),
    [
      ['note', 'write connections reach 10.11.6 at 127.0.0.1 from 00:00:00.100'],
      ['note', 'write connections now reach 10.11.9 at 127.0.0.1 from 00:00:03.000'],
    ],
  );
});

test('an old server answering again after the change is flagged as stale', () => {
  const events: EventInput[] = [];
  const t = new IdentityTimeline((e) => events.push(e));
  t.observe(0, blue, 1000, 1001);
  t.observe(0, green, 2000, 2001);
  t.observe(1, blue, 2500, 2501); // a pooled connection still on blue
  assert.deepEqual(
    events.map((e) => [e.kind, e.name.split(' ')[0]]),
    [
      ['identity', 'answered'],
      ['identity', 'now'],
      ['identity', 'now'],
      ['warning', 'stale-server'],
    ],
  );
});

test('rds_topology: the deployment status is the source row while it is listed', async () => {
  const { deploymentStatus, underway, TOPOLOGY_PHASES } = await import('../src/load/topology-poller.js');
  const rows = [
    { role: 'BLUE_GREEN_DEPLOYMENT_SOURCE', status: 'SWITCHOVER_IN_PROGRESS' },
    { role: 'BLUE_GREEN_DEPLOYMENT_TARGET', status: 'SWITCHOVER_IN_PROGRESS' },
  ];
  assert.equal(deploymentStatus(rows), 'SWITCHOVER_IN_PROGRESS');
  assert.equal(
    deploymentStatus([{ role: 'BLUE_GREEN_DEPLOYMENT_TARGET', status: 'SWITCHOVER_COMPLETED' }]),
    'SWITCHOVER_COMPLETED',
  );
  assert.equal(deploymentStatus([]), null);
  assert.equal(underway('SWITCHOVER_IN_PROGRESS'), true);
  assert.equal(underway('AVAILABLE'), false);
  assert.equal(underway('SWITCHOVER_COMPLETED'), false);
  assert.equal(TOPOLOGY_PHASES.SWITCHOVER_IN_POST_PROCESSING, 'POST');
});

test('report: identity changes in summary.identities (older events without address too), chart labels, summary.md table', async () => {
  const { summaryMarkdown } = await import('../src/report/text/index.js');
  const text = syntheticResults({
    durationMs: 4000,
    rates: { read: 10 },
    events: [
      // As older files wrote it: no address, no via.
      { atMs: T0, kind: 'identity', name: 'answered by server_id 1 (blue, 10.11)', detail: { ...blue, worker: 0 } },
      {
        atMs: T0 + 2000,
        kind: 'identity',
        name: 'now answered by green 10.11, server_id 2 at 10.0.0.2 from 00:00:02.000',
        detail: { ...green, address: '10.0.0.2', via: 'connect (reads)', worker: 1 },
      },
    ],
  });
  const r = parseResults(text, 'ids.ndjson');
  const s = analyze(r);
  assert.deepEqual(s.identities, [
    { atMs: T0, ...blue, address: null, via: null },
    { atMs: T0 + 2000, ...green, address: '10.0.0.2', via: 'connect (reads)' },
  ]);
  const a = analyzeDetailed(r);
  const lines = (outcomeChart(a).options.plugins as { downtimeMarks: { lines: { x: number; label: string }[] } })
    .downtimeMarks.lines;
  assert.deepEqual(lines, [{ x: 2, label: '→ server_id 2 green at 10.0.0.2', color: '#777777', dashed: true }]);
  const md = summaryMarkdown(a, [], []);
  assert.match(md, /### Who answered/);
  assert.match(md, /\| 2\.000 \| [^|]+ \| 2 \| green \| 10\.11 \| OFF \| 10\.0\.0\.2 \| connect \(reads\) \|/);
  assert.match(md, /\| 0\.000 \| [^|]+ \| 1 \| blue \| 10\.11 \| OFF \| \? \| read \|/);
});

test('the same server flipping read_only (a promotion; sightings crossing by a few ms) is a change, not a stale server', () => {
  const events: EventInput[] = [];
  const t = new IdentityTimeline((e) => events.push(e));
  const greenRo = { ...green, readOnly: true };
  t.observe(0, blue, 1000, 1001);
  t.observe(0, green, 2000, 2128, '127.0.0.1', 'connect (reads)');
  t.observe(1, greenRo, 2001, 2133, '127.0.0.1', 'connect (writes)');
  t.observe(0, green, 2002, 2135, '127.0.0.1', 'read');
  assert.deepEqual(
    events.map((e) => [e.kind, (e.detail as { serverId: number }).serverId]),
    [
      ['identity', 1],
      ['identity', 2],
      ['identity', 2],
      ['identity', 2],
    ],
  );
});
