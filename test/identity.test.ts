import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityTimeline, type EventInput } from '../src/load/run.js';

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
  assert.match(events[1]?.name ?? '', /now answered by server_id 2 \(green, 10.11\)/);
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
