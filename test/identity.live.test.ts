import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bufferIo } from '../src/io.js';
import { runMeasurement } from '../src/load/measurement.js';
import { parseTargetUrl } from '../src/scenario/target-url.js';
import { readResults } from '../src/results/reader.js';
import type { ConnectionModel, EventRecord } from '../src/results/types.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';

/**
 * Who answered, at connect time and on reads, through a real blue/green switchover: per client model,
 * exactly one change of server_id, each change with the address the connection reached; the pool's
 * connections report who they reached when they open. The heartbeat, after the switchover, is written on
 * green itself: those seconds are counted as self-written, not as lag.
 */
let sb: Sandbox;
let dir: string;

before(async () => {
  sb = await startSandbox({ topology: 'blue-green' });
  dir = mkdtempSync(join(tmpdir(), 'downtime-identity-live-'));
});

after(async () => {
  await sb?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function switchoverRun(connection: ConnectionModel) {
  if (sb.active === 'green') await sb.reset();
  const t = parseTargetUrl(sb.endpoint.url).target;
  const green = { ...t, port: sb.green!.port, url: `mysql://${t.user}@127.0.0.1:${sb.green!.port}/${t.database}` };
  const res = await runMeasurement(
    {
      target: t,
      password: sb.endpoint.password,
      passwordSource: 'sandbox',
      label: `switchover-${connection}`,
      rates: { read: 50, write: 20 },
      durationMs: 6000,
      workers: 2,
      connection,
      timeoutMs: 1000,
      connectTimeoutMs: 1000,
      maxInFlight: 64,
      poolSize: 3,
      table: 'downtime_probe',
      out: join(dir, `${connection}.ndjson`),
      overwrite: true,
      progress: false,
      green,
      actions: [{ atMs: 2000, name: 'switchover', execute: () => sb.switchover() }],
    },
    bufferIo(),
  );
  return readResults(res.path);
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

for (const connection of ['pool', 'per-probe'] as const) {
  test(`${connection}: one change of server_id through a switchover, with the address reached`, async () => {
    const r = await switchoverRun(connection);
    const ids = r.events.filter((e) => e.kind === 'identity');
    console.log(
      `${connection}: ${ids.map((e) => `+${((e.atMs - r.header.startMs) / 1000).toFixed(3)} ${e.name}`).join(' | ')}`,
    );
    assert.deepEqual(serverIds(r.events), [1, 2]);
    for (const e of ids) {
      const d = e.detail as { address: string | null; via: string };
      assert.equal(d.address, '127.0.0.1', e.name);
      assert.match(
        e.name,
        /answered by \S+ \S+, server_id \d( \(read-only\))? at 127\.0\.0\.1 from \d\d:\d\d:\d\d\.\d{3}$/,
      );
      assert.ok(e.atMs >= r.header.startMs, 'announced within the run');
    }
    assert.equal(r.events.filter((e) => e.name === 'stale-server').length, 0, 'no stale-server warning');
    const vias = ids.map((e) => (e.detail as { via: string }).via);
    if (connection === 'pool') {
      // The pool's connections said who they reached when they opened, before any probe. After the switchover,
      // green is announced by whichever answered first: a read on a new connection, or that connection's
      // identity query (queued after the probe it was opened for, so usually the read).
      assert.match(vias[0] ?? '', /^connect \((reads|writes)\)$/);
      const green = ids.find((e) => (e.detail as { serverId: number }).serverId === 2);
      assert.match((green?.detail as { via: string } | undefined)?.via ?? '', /^(read|connect \((reads|writes)\))$/);
    } else {
      // Per-probe: identity from reads (each read is a new connection), the handshake for writes' connections.
      assert.ok(vias.every((v) => v === 'read'));
      assert.ok(
        r.events.some((e) => e.kind === 'note' && /^write connections reach 10\.\d+\.\d+-MariaDB/.test(e.name)),
        'write connections: handshake version (without 5.5.5-) and address',
      );
    }
    // Replication lag before the switchover; after it the heartbeat is written on green itself.
    const lag = r.lag ?? [];
    const switchSec = Math.floor(r.header.startMs / 1000) + 2;
    assert.ok(lag.filter((l) => l.sec < switchSec).every((l) => l.samples > 0 && (l.maxMs as number) < 500));
    const last = lag.at(-1);
    assert.ok(last !== undefined && last.samples === 0 && last.selfWritten > 0, JSON.stringify(last));
  });
}
