import { randomUUID } from 'node:crypto';
import type { ConnectionModel } from '../results/types.js';
import type { EventInput } from '../results/types.js';

/**
 * Measurements in one process, side by side (`--connection pool,per-probe`, several `--target NAME=…`): each has
 * its own worker threads and results file, but they start on the same whole second, and the run's timed actions
 * (the switchover, a fault) run once — in the first — with their events written into every file. Every client
 * model and every endpoint then sees the very same outage, so their windows can be compared.
 */
export class SideBySide {
  private readonly arrived = new Set<number>();
  private latestMs = 0;
  private settle: { resolve: (t0Ms: number) => void; reject: (err: Error) => void } | undefined;
  private readonly start: Promise<number>;
  private readonly sinks = new Map<number, (e: EventInput) => void>();
  private failure: Error | undefined;
  private markActionsDone: () => void = () => undefined;
  /** Resolves when the first member's actions have ended (their end events are written). */
  readonly actionsDone = new Promise<void>((r) => (this.markActionsDone = r));

  /** Written into every member's header, so that the files can be told to belong together. */
  readonly id = randomUUID();
  readonly count: number;

  /**
   * `models`: the client models measured (each member uses one); `members`: how each member is named, in order
   * (its model, its endpoint, or `endpoint.model`).
   */
  constructor(
    readonly models: readonly ConnectionModel[],
    readonly members: readonly string[] = models,
  ) {
    this.count = members.length;
    this.start = new Promise<number>((resolve, reject) => (this.settle = { resolve, reject }));
    // A failure before every member arrived rejects them all; nobody may be left waiting unobserved.
    this.start.catch(() => undefined);
  }

  /**
   * Member `index` is ready to start (its workers are up) at `nowMs`. Resolves, for every member, with the
   * one start time: the first whole second at least `leadMs` after the last member became ready.
   */
  ready(index: number, nowMs: number, leadMs: number): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.arrived.add(index);
    this.latestMs = Math.max(this.latestMs, nowMs);
    if (this.arrived.size === this.count) this.settle?.resolve(Math.ceil((this.latestMs + leadMs) / 1000) * 1000);
    return this.start;
  }

  /** Per member, resolved when its setup (tables, seed row, probe checks) is done. */
  private readonly setups: { done: Promise<void>; resolve: () => void }[] = [];

  private setup(index: number): { done: Promise<void>; resolve: () => void } {
    let entry = this.setups[index];
    if (entry === undefined) {
      let resolve: () => void = () => undefined;
      const done = new Promise<void>((r) => (resolve = r));
      entry = { done, resolve };
      this.setups[index] = entry;
    }
    return entry;
  }

  /**
   * Waits until every earlier member's setup is done; the returned function says this member's is. Setups run
   * one after another, in member order: the first creates the harness's table through the endpoint, and a
   * member on a read-only replica (green directly) then finds it there instead of failing to create it.
   */
  async setupTurn(index: number): Promise<() => void> {
    for (let i = 0; i < index; i++) await this.setup(i).done;
    return this.setup(index).resolve;
  }

  /** A member could not start: the others stop waiting and fail with this message. */
  fail(err: unknown): void {
    if (this.failure !== undefined) return;
    const message = err instanceof Error ? err.message : String(err);
    this.failure = new Error(`the side-by-side run did not start: ${message}`);
    this.settle?.reject(this.failure);
  }

  /** The first member's actions have ended. */
  actionsSettled(): void {
    this.markActionsDone();
  }

  /** Member `index` writes events (into its own results file) with `sink`. */
  addSink(index: number, sink: (e: EventInput) => void): void {
    this.sinks.set(index, sink);
  }

  removeSink(index: number): void {
    this.sinks.delete(index);
  }

  /** An event of the shared timeline (an action, a fault, a phase): written into every member's file. */
  broadcast(e: EventInput): void {
    for (const sink of this.sinks.values()) sink(e);
  }
}
