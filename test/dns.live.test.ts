/**
 * Fault matrix, DNS cells: the endpoint's name stops resolving mid-run for ~1 s, then resolves again.
 * The harness resolves `db.sandbox.test` through the sandbox's DNS server (--dns-server) with TTL 0, so
 * every new connection asks (with a TTL, a caching client meets the failure up to one TTL late).
 *
 * - per-probe: every probe opens a connection, so it meets the failure: a `dns` window that matches the
 *   injected one as the proxy faults do (each edge within one probe interval + 50 ms late, or `reach`
 *   early; docs/fault-matrix.md). With `drop` (the DNS server does not answer) a lookup fails at the
 *   connect timeout, so the window's end is known to within one timeout, as for blackhole.
 * - pool: its open connections never resolve again: it keeps working through the whole failure (no
 *   outage at all). That is the honest finding: a pool does not notice DNS.
 * Each cell also checks due = ok + failed + dropped, the run's end time, no leaked connections or handles,
 * and the `dns` events of the run's endpoint watcher. DNS_MATRIX_REPORT=file writes the rows as JSON.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { bufferIo, wallClockMs } from '../src/io.js';
import { runMeasurement, type RunOptions } from '../src/load/measurement.js';
import { readResults } from '../src/results/reader.js';
import type { ConnectionModel, Op } from '../src/results/types.js';
import { startDnsServer, type DnsFaultMode, type DnsServer } from '../src/sandbox/endpoint/dns.js';
import { sleep } from '../src/util/sleep.js';
import { assertInvariants } from './helpers/invariants.js';
import { reachMs, sendLagBetween, watchLoop } from './helpers/lag.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { targetAt, testRunOptions } from './helpers/run-options.js';

const NAME = 'db.sandbox.test';
// 50/s per op (the proxy matrix runs 100/s): per-probe clients connect for every probe, and on this shared
// 2-core machine 100 handshakes/s per op fell behind their schedule under load (timeouts not caused by DNS).
const RATE = 50;
const INTERVAL_MS = 1000 / RATE;
const TIMEOUT_MS = 1000;
const DURATION_MS = 3000;
const FAULT_AT_MS = 1000;
const FAULT_MS = 1000;
const TIGHT_MS = INTERVAL_MS + 50;

let srv: TestServer;
let dns: DnsServer;
let dir: string;
const rows: Record<string, unknown>[] = [];

before(async () => {
  srv = await startTestServer();
  dns = await startDnsServer({ ttlS: 0, records: { [NAME]: '127.0.0.1' } });
  dir = mkdtempSync(join(tmpdir(), 'downtime-dns-'));
  await srv.server.rootQuery('SELECT 1');
});
after(async () => {
  if (process.env.DNS_MATRIX_REPORT) writeFileSync(process.env.DNS_MATRIX_REPORT, JSON.stringify(rows, null, 2));
  await dns?.close();
  await srv?.cleanup();
  if (dir && !process.env.KEEP_DNS) rmSync(dir, { recursive: true, force: true });
  else if (dir) console.log('kept', dir);
});

async function threadsConnected(): Promise<number> {
  const r = await srv.server.rootQuery<{ Value: string }[]>("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
  return Number(r[0]?.Value);
}

async function settle<T>(read: () => Promise<T> | T, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(50);
  }
}

function options(model: ConnectionModel, out: string, actions: RunOptions['actions']): RunOptions {
  return testRunOptions({
    target: targetAt(NAME, srv.server.port, srv.user, srv.database),
    dnsServer: dns.address,
    password: srv.password,
    rates: { read: RATE, write: RATE },
    durationMs: DURATION_MS,
    connection: model,
    timeoutMs: TIMEOUT_MS,
    poolSize: 8,
    out,
    verify: false,
    pollTopology: false,
    ...(actions ? { actions } : {}),
  });
}

const CELLS: { mode: DnsFaultMode; model: ConnectionModel }[] = [
  { mode: 'nxdomain', model: 'pool' },
  { mode: 'nxdomain', model: 'per-probe' },
  { mode: 'servfail', model: 'per-probe' },
  { mode: 'drop', model: 'per-probe' },
];

for (const { mode, model } of CELLS) {
  test(`fault matrix: DNS ${mode} mid-run × ${model}`, { timeout: 30_000 }, async () => {
    const threadsBefore = await threadsConnected();
    const handlesBefore = process.getActiveResourcesInfo().length;
    let injected: { atMs: number; endMs: number } | undefined;
    const out = join(dir, `${mode}-${model}.ndjson`);
    const startedMs = Date.now();
    const loop = watchLoop();
    const result = await runMeasurement(
      options(model, out, [
        {
          atMs: FAULT_AT_MS,
          name: `dns-${mode}`,
          execute: async () => {
            const atMs = await dns.fault(mode, NAME);
            await sleep(FAULT_MS - (wallClockMs() - atMs));
            injected = { atMs, endMs: await dns.fault(null, NAME) };
            return { faultAtMs: injected.atMs, faultEndMs: injected.endMs };
          },
        },
      ]),
      bufferIo(),
    );
    const runMs = Date.now() - startedMs;
    const loopLagMs = loop.stop();
    assert.ok(runMs < DURATION_MS + TIMEOUT_MS + 5000, `run ended in ${runMs} ms`);
    assert.equal(result.trailer.reason, 'completed');
    assert.ok(injected, 'the fault ran');
    const fault: { atMs: number; endMs: number } = injected;
    const file = readResults(out);
    assertInvariants(file);
    // Back to baseline: no leaked connections or handles.
    const handles = await settle(
      () => process.getActiveResourcesInfo().length,
      (n) => n <= handlesBefore,
      3000,
    );
    assert.ok(handles <= handlesBefore, `handles back to ${handlesBefore} (now ${handles})`);
    const threads = await settle(threadsConnected, (n) => n <= threadsBefore, 3000);
    assert.ok(threads <= threadsBefore, `Threads_connected back to ${threadsBefore} (now ${threads})`);
    // The run's endpoint watcher saw the name fail and come back (its polls are 250 ms apart).
    const dnsEvents = file.events.filter((e) => e.kind === 'dns');
    const failed = dnsEvents.find((e) => / does not resolve /.test(e.name));
    const back = dnsEvents.find((e) => e.detail?.recoveredFrom !== undefined);
    assert.ok(failed && back, `dns events: ${dnsEvents.map((e) => e.name).join('; ')}`);
    assert.ok(failed.atMs >= fault.atMs - 1 && failed.atMs <= fault.atMs + 250 + TIMEOUT_MS + 100);
    assert.ok(back.atMs >= fault.endMs - 1 && back.atMs <= fault.endMs + 250 + TIMEOUT_MS + 100);

    const summary = analyze(file);
    for (const op of ['read', 'write'] as Op[]) {
      // Windows over before the fault began are not the fault's: on a loaded machine the per-probe
      // harness's first second can time out (it does without any fault, docs/fault-matrix.md). They must
      // carry no dns failure; they are counted in the row, not checked against the fault.
      const all = summary.outages.filter((o) => o.op === op);
      const beforeMs = fault.atMs - TIGHT_MS - reachMs(file, op, fault.atMs);
      const early = all.filter((o) => o.endMs <= beforeMs);
      for (const w of early) assert.equal(w.errors.dns, undefined, `${op}: no dns failure before the fault`);
      const windows = all.filter((o) => !early.includes(o));
      const classes: Record<string, number> = {};
      for (const w of windows) for (const [k, n] of Object.entries(w.errors)) classes[k] = (classes[k] ?? 0) + n;
      const row: Record<string, unknown> = {
        fault: `dns ${mode}`,
        model,
        op,
        classes,
        windows: windows.length,
        injectedMs: Math.round(fault.endMs - fault.atMs),
        measuredMs: Math.round(windows.reduce((a, w) => a + w.durationMs, 0)),
        reachMs: reachMs(file, op, fault.atMs),
        runMs,
        windowsBeforeFault: early.length,
      };
      rows.push(row);
      // On a loaded machine (#17): a lag of half a timeout (this process's loop runs the harness's main thread and
      // the DNS server's control; the harness records its sending) may time a probe out, and a pool then replaces
      // the connection, which resolves the name. Allowed only as far as a measured lag explains it, and said.
      const sendLag = sendLagBetween(file, op, fault.atMs - 1000, fault.endMs + 1000);
      const lagMs = Math.max(loopLagMs, sendLag);
      const loaded = lagMs >= TIMEOUT_MS / 2;
      const lagNote = `this process's event loop lagged up to ${loopLagMs} ms, the harness's sending ${sendLag} ms around the fault`;
      row.loopLagMs = loopLagMs;
      row.sendLagMs = sendLag;
      if (model === 'pool') {
        // The pool's connections were opened before the fault and never resolve again.
        if (loaded) {
          for (const cls of Object.keys(classes)) assert.ok(['dns', 'timeout'].includes(cls), `${op}: class ${cls}`);
        } else {
          assert.deepEqual(windows, [], `${op}: a pool does not notice DNS (${lagNote})`);
        }
        continue;
      }
      const allowed = mode === 'drop' || loaded ? ['dns', 'timeout'] : ['dns'];
      for (const cls of Object.keys(classes)) assert.ok(allowed.includes(cls), `${op}: class ${cls} (${lagNote})`);
      assert.ok(windows.length > 0, `${op}: an outage`);
      const first = windows[0] as (typeof windows)[number];
      const last = windows[windows.length - 1] as (typeof windows)[number];
      const startErr = Math.round(first.startMs - fault.atMs);
      const endErr = Math.round(last.endMs - fault.endMs);
      row.startErrMs = startErr;
      row.endErrMs = endErr;
      const earlyMs = TIGHT_MS + Math.max(row.reachMs as number, lagMs);
      const lateMs = TIGHT_MS + lagMs;
      assert.ok(
        startErr >= -earlyMs && startErr <= lateMs,
        `${op}: starts ${startErr} ms from the fault (allowed -${earlyMs}…${lateMs}: one interval + 50 ms, reach ${String(row.reachMs)} ms; ${lagNote})`,
      );
      const [lo, hi] =
        mode === 'drop' ? [-TIMEOUT_MS - TIGHT_MS - lagMs, TIMEOUT_MS + TIGHT_MS + lagMs] : [-earlyMs, lateMs];
      assert.ok(
        endErr >= lo && endErr <= hi,
        `${op}: ends ${endErr} ms from the fault's end (allowed ${lo}…${hi}; ${lagNote})`,
      );
    }
  });
}

test('a run whose name does not resolve through --dns-server is refused at setup, naming the server', async () => {
  const opts = options('per-probe', join(dir, 'nx.ndjson'), undefined);
  opts.target = { ...opts.target, host: 'missing.sandbox.test' };
  await assert.rejects(runMeasurement(opts, bufferIo()), (err: unknown) => {
    assert.match(
      String((err as Error).message),
      new RegExp(
        `cannot resolve host missing\\.sandbox\\.test through DNS server ${dns.address.replace(/\./g, '\\.')} \\(ENOTFOUND\\)`,
      ),
    );
    return true;
  });
});
