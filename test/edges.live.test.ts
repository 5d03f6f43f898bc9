import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { bufferIo } from '../src/io.js';
import { runMeasurement } from '../src/load/measurement.js';
import { readResults } from '../src/results/reader.js';
import type { ConnectionModel } from '../src/results/types.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { parseTargetUrl } from '../src/scenario/target-url.js';

/**
 * Window edges that do not depend on the timeout: a 3 s blackhole at the endpoint (the old address of a failover
 * going dark) with the default 2 s timeout. Before, windows ended at the intended time of the first probe that
 * succeeded, and probes that waited through the blackhole succeeded within their timeout after it lifted: the
 * pool's window ended up to ~1.8 s early. Now a window ends when an answer came back.
 */
const TIMEOUT_MS = 2000;
const RATE = 100;
const INTERVAL_MS = 1000 / RATE;
const FAULT_MS = 3000;
let sandbox: Sandbox;
let dir = '';

before(async () => {
  sandbox = await startSandbox({ topology: 'single' });
  dir = mkdtempSync(join(tmpdir(), 'downtime-edges-'));
});

after(async () => {
  await sandbox?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const model of ['per-probe', 'pool'] as ConnectionModel[]) {
  test(`blackhole 3 s, timeout 2 s, ${model}: the window starts and ends with the fault (never early)`, async () => {
    const out = join(dir, `blackhole-${model}.ndjson`);
    await runMeasurement(
      {
        target: parseTargetUrl(sandbox.endpoint.url).target,
        password: sandbox.endpoint.password,
        passwordSource: 'sandbox',
        label: model,
        rates: { read: RATE, write: RATE },
        durationMs: 10_000,
        workers: 2,
        connection: model,
        timeoutMs: TIMEOUT_MS,
        connectTimeoutMs: TIMEOUT_MS,
        maxInFlight: 2048,
        table: 'downtime_probe',
        out,
        overwrite: false,
        progress: false,
        verify: false,
        actions: [
          {
            // A phase against the probe schedule, so the fault does not begin exactly when a probe is due.
            atMs: 2500 + Math.random() * INTERVAL_MS,
            name: 'blackhole',
            execute: async (ctx) => {
              sandbox.setOnEvent(ctx.event);
              return sandbox.fault({ kind: 'blackhole', durationMs: FAULT_MS, signal: ctx.signal });
            },
          },
        ],
      },
      bufferIo(),
    );
    sandbox.setOnEvent(undefined);
    const file = readResults(out);
    const ev = file.events.find((e) => e.kind === 'fault');
    assert.ok(ev?.endMs !== undefined, 'the fault ran');
    const fault = { atMs: ev.atMs, endMs: ev.endMs };
    const s = analyze(file);
    for (const op of ['read', 'write'] as const) {
      const w = s.outages.find((o) => o.op === op && o.endMs > fault.atMs && o.startMs < fault.endMs);
      assert.ok(w, `${op}: a window over the fault`);
      const startErr = w.startMs - fault.atMs;
      const endErr = w.endMs - fault.endMs;
      // A probe intended just before the fault whose query the blackhole swallowed fails too: one interval.
      assert.ok(
        startErr >= -INTERVAL_MS - 20 && startErr <= INTERVAL_MS + 20,
        `${op}: starts ${startErr.toFixed(0)} ms from the fault`,
      );
      // Never before the fault ended (the old definition ended the pool's window up to a timeout early).
      assert.ok(endErr >= -20, `${op}: ends ${endErr.toFixed(0)} ms from the fault's end: early`);
      // Per-probe clients connect afresh: the first answer comes within an interval of the fault's end. A pool's
      // connections hung in the blackhole, and handshakes begun during it, are given up at the connect timeout:
      // its first answer can come up to one connect timeout after the fault, as an application's pool sees it.
      const lateMs = model === 'per-probe' ? INTERVAL_MS + 20 : TIMEOUT_MS + 200;
      assert.ok(endErr <= lateMs, `${op}: ends ${endErr.toFixed(0)} ms after the fault's end (at most ${lateMs})`);
    }
  });
}
