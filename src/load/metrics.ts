/**
 * Live metrics of a run for Prometheus/Grafana (`run --metrics-port`), with prom-client: fed with every final
 * second as it is written to the results file (so they lag the probes by the second's sealing: about a timeout),
 * labelled by member (`run`, or the endpoint/model of a side-by-side run).
 *
 * - downtime_probes_total{member,op,outcome}: probes by outcome (`ok`, an error class, `dropped`, `stalled`)
 * - downtime_probe_latency_seconds{member,op}: latency of the successful probes (from their intended time)
 * - downtime_outage_open{member,op}: 1 while the op's last probes failed
 * - downtime_outage_seconds{member,op}: outage so far, closed windows and the open one (intended times: the
 *   summary's windows, which end at an answer, are the exact figure)
 * - downtime_outage_windows_total{member,op}: windows closed so far
 * - downtime_last_second_timestamp_seconds{member}: the last final second (how far behind the metrics are)
 * - downtime_run_info{member,label,run_id,target}: 1
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DROPPED, OK, STALLED, intendedMs, type Op, type OpSchedule, type SecondRecord } from '../results/types.js';
import { decodeHistogram, forEachValue } from '../results/histogram.js';

/** Latency buckets (s): 1 ms to 10 s, for probes with timeouts of 500 ms to a few seconds. */
const BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

interface OpState {
  /** Intended time of the first failure of the open window, or null. */
  openSinceMs: number | null;
  closedMs: number;
  /** The end (intended time + one interval) of the last probe seen. */
  lastMs: number;
}

/** The metrics of one run (all its members), in one registry. */
export class RunMetrics {
  readonly registry = new Registry();
  private readonly probes: Counter<'member' | 'op' | 'outcome'>;
  private readonly latency: Histogram<'member' | 'op'>;
  private readonly open: Gauge<'member' | 'op'>;
  private readonly downtime: Gauge<'member' | 'op'>;
  private readonly windows: Counter<'member' | 'op'>;
  private readonly lastSecond: Gauge<'member'>;
  private readonly info: Gauge<'member' | 'label' | 'run_id' | 'target'>;

  constructor() {
    const registers = [this.registry];
    this.probes = new Counter({
      name: 'downtime_probes_total',
      help: 'Probes by outcome: ok, an error class, dropped, stalled',
      labelNames: ['member', 'op', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'downtime_probe_latency_seconds',
      help: 'Latency of successful probes, from their intended time',
      labelNames: ['member', 'op'],
      buckets: BUCKETS,
      registers,
    });
    this.open = new Gauge({
      name: 'downtime_outage_open',
      help: "1 while the op's last probes failed",
      labelNames: ['member', 'op'],
      registers,
    });
    this.downtime = new Gauge({
      name: 'downtime_outage_seconds',
      help: 'Outage so far (closed windows and the open one), by intended times',
      labelNames: ['member', 'op'],
      registers,
    });
    this.windows = new Counter({
      name: 'downtime_outage_windows_total',
      help: 'Outage windows closed so far',
      labelNames: ['member', 'op'],
      registers,
    });
    this.lastSecond = new Gauge({
      name: 'downtime_last_second_timestamp_seconds',
      help: 'The last final second in the metrics (epoch s): they lag the probes by about a timeout',
      labelNames: ['member'],
      registers,
    });
    this.info = new Gauge({
      name: 'downtime_run_info',
      help: 'The run: its label, id and target (without password)',
      labelNames: ['member', 'label', 'run_id', 'target'],
      registers,
    });
  }

  /** A member's sink: call it with every final second of that member's results file. */
  member(name: string, run: { label: string; runId: string; target: string }): MemberMetrics {
    this.info.set({ member: name, label: run.label, run_id: run.runId, target: run.target }, 1);
    return new MemberMetrics(this, name);
  }

  /** @internal */
  record(member: string, r: SecondRecord, schedule: OpSchedule, state: OpState): void {
    const labels = { member, op: r.op };
    if (r.ok > 0) this.probes.inc({ ...labels, outcome: OK }, r.ok);
    for (const [cls, n] of Object.entries(r.failed)) if (n > 0) this.probes.inc({ ...labels, outcome: cls }, n);
    if (r.dropped > 0) this.probes.inc({ ...labels, outcome: DROPPED }, r.dropped);
    if ((r.stalled ?? 0) > 0) this.probes.inc({ ...labels, outcome: STALLED }, r.stalled);
    if (typeof r.hist === 'string' && r.ok > 0) {
      forEachValue(decodeHistogram(r.hist), (us, count) => {
        for (let k = 0; k < count; k++) this.latency.observe(labels, us / 1e6);
      });
    }
    const intervalMs = 1000 / schedule.ratePerSec;
    for (const [firstSeq, count, outcome] of r.runs) {
      const atMs = intendedMs(schedule, firstSeq);
      if (outcome === OK) {
        if (state.openSinceMs !== null) {
          state.closedMs += atMs - state.openSinceMs;
          state.openSinceMs = null;
          this.windows.inc(labels);
        }
      } else if (outcome !== DROPPED && outcome !== STALLED && state.openSinceMs === null) {
        state.openSinceMs = atMs;
      }
      state.lastMs = intendedMs(schedule, firstSeq + count - 1) + intervalMs;
    }
    const openMs = state.openSinceMs === null ? 0 : Math.max(0, state.lastMs - state.openSinceMs);
    this.open.set(labels, state.openSinceMs === null ? 0 : 1);
    this.downtime.set(labels, (state.closedMs + openMs) / 1000);
    this.lastSecond.set({ member }, r.sec + 1);
  }
}

/** One member's metrics: fed its final seconds. */
export class MemberMetrics {
  private readonly state: Partial<Record<Op, OpState>> = {};
  constructor(
    private readonly metrics: RunMetrics,
    private readonly name: string,
  ) {}

  second(r: SecondRecord, schedule: OpSchedule): void {
    const state = (this.state[r.op] ??= { openSinceMs: null, closedMs: 0, lastMs: 0 });
    this.metrics.record(this.name, r, schedule, state);
  }
}
