import type mysql from 'mysql2/promise';
import { oneLine } from '../errors.js';
import type { EventRecord } from '../results/types.js';
import { connectOnce, type ConnectOptions } from './setup.js';

/**
 * RDS MySQL (and Aurora MySQL 3.07+) expose `mysql.rds_topology` during a blue/green deployment; its
 * status column moves through the switchover. Blue/green-aware drivers poll it; so does the harness, to
 * put the switchover's phases on the timeline, named as the AWS JDBC wrapper names them.
 */
export const TOPOLOGY_PHASES: Record<string, string> = {
  AVAILABLE: 'CREATED',
  SWITCHOVER_INITIATED: 'PREPARATION',
  SWITCHOVER_IN_PROGRESS: 'IN_PROGRESS',
  SWITCHOVER_IN_POST_PROCESSING: 'POST',
  SWITCHOVER_COMPLETED: 'COMPLETED',
};

/** Poll interval while a switchover is under way, and otherwise. */
const FAST_POLL_MS = 100;
const SLOW_POLL_MS = 1000;

/** The deployment's status from the table's rows: the source's while it is listed, else the target's. */
export function deploymentStatus(rows: { role: string; status: string }[]): string | null {
  const source = rows.find((r) => /SOURCE/i.test(r.role));
  return (source ?? rows[0])?.status ?? null;
}

export function underway(status: string | null): boolean {
  return status !== null && status !== 'AVAILABLE' && status !== 'SWITCHOVER_COMPLETED';
}

export class TopologyPoller {
  private conn: mysql.Connection | null = null;
  private last: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private busy: Promise<void> = Promise.resolve();

  private constructor(
    private readonly opts: ConnectOptions,
    private readonly event: (e: Omit<EventRecord, 'type'>) => void,
    private readonly now: () => number,
    /** The run's start: a status read before it is the status at the start. */
    private readonly notBeforeMs: number,
  ) {}

  /** Starts polling if the endpoint has the table (and the user may read it); else returns null. */
  static async start(
    opts: ConnectOptions,
    event: (e: Omit<EventRecord, 'type'>) => void,
    now: () => number,
    notBeforeMs: number,
  ): Promise<TopologyPoller | null> {
    const p = new TopologyPoller(
      { ...opts, connectTimeoutMs: Math.min(opts.connectTimeoutMs, 1000) },
      event,
      now,
      notBeforeMs,
    );
    try {
      await p.poll(true);
    } catch {
      p.stop();
      return null; // no blue/green deployment here (or no access): nothing to poll
    }
    p.schedule();
    return p;
  }

  private schedule(): void {
    if (this.stopped) return;
    const every = underway(this.last) ? FAST_POLL_MS : SLOW_POLL_MS;
    this.timer = setTimeout(() => {
      this.busy = this.poll(false)
        .catch(() => undefined)
        .then(() => this.schedule());
    }, every);
  }

  private async poll(first: boolean): Promise<void> {
    try {
      this.conn ??= await connectOnce(this.opts);
      const [rows] = await this.conn.query('SELECT role, status FROM mysql.rds_topology');
      const status = deploymentStatus(rows as { role: string; status: string }[]);
      if (status !== null && status !== this.last) {
        this.last = status;
        this.event({
          atMs: Math.max(this.now(), this.notBeforeMs),
          kind: 'phase',
          name: `rds_topology ${TOPOLOGY_PHASES[status] ?? status}`,
          detail: { status, source: 'mysql.rds_topology' },
        });
      }
    } catch (err) {
      // During a switchover the endpoint drops and refuses connections: try again on the next tick.
      this.conn?.destroy();
      this.conn = null;
      if (first) throw new Error(oneLine((err as Error).message));
    }
  }

  /** Stops polling; resolves once a poll in progress has finished. */
  async close(): Promise<void> {
    this.stop();
    await this.busy;
    this.conn?.destroy();
    this.conn = null;
  }

  private stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }
}
