import { Worker } from 'node:worker_threads';
import { oneLine } from '../errors.js';
import type { PoolOpened } from './capacity.js';
import type { MainMessage, WorkerConfig, WorkerMessage } from './protocol.js';
import { terminateBounded } from '../util/sleep.js';

/**
 * Each worker's V8 young generation, capped (bench/RESULTS.md, long run): at 2,000 probes/s a worker's young
 * generation otherwise grows to V8's default and the process passed 200 MB. 16 MB cut the 30 s peak by 15 MB
 * with the same throughput ceiling (29,100/s both); 8 MB cut 31 MB but lowered the ceiling to 23,300/s.
 */
const WORKER_YOUNG_GENERATION_MB = 16;

/** How long a worker may take to exit when stopped: its probes and connections are done by then. */
const TERMINATE_BOUND_MS = 5_000;

type Connected = Extract<WorkerMessage, { type: 'connected' }>;

/**
 * The measurement's worker threads: started, waited for until ready (modules loaded, pool warmed), then fed
 * messages; `done` resolves once every worker has finished (said `done`, or exited).
 */
export class WorkerPool {
  private readonly threads: Worker[] = [];
  private readonly finished = new Set<number>();
  private resolveDone: () => void = () => undefined;
  /** Every worker has finished. */
  readonly done = new Promise<void>((r) => (this.resolveDone = r));
  private handle: (w: number, m: WorkerMessage) => void = () => undefined;
  private crash: (w: number, message: string) => void = () => undefined;

  constructor(configs: WorkerConfig[]) {
    configs.forEach((cfg, w) => {
      const thread = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: cfg,
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      });
      thread.on('message', (m: WorkerMessage) => this.handle(w, m));
      thread.on('error', (err) => this.crash(w, oneLine(err.message)));
      thread.on('exit', () => this.markDone(w));
      this.threads.push(thread);
    });
  }

  get size(): number {
    return this.threads.length;
  }

  /** Workers that have finished. */
  get finishedCount(): number {
    return this.finished.size;
  }

  /**
   * Waits until every worker is ready, at most `timeoutMs`; throws when one failed or time ran out. Returns
   * what the pools' connections reported while they were opened (for the identity timeline), how many
   * each pool opened (capacity.ts), and the workers' warm-up latencies (ms, those that measured one).
   */
  async ready(
    timeoutMs: number,
  ): Promise<{ early: [number, Connected][]; pools: PoolOpened[]; latenciesMs: number[] }> {
    const ready = new Set<number>();
    const early: [number, Connected][] = [];
    const pools: PoolOpened[] = [];
    const latenciesMs: number[] = [];
    let failure: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.handle = (w, m) => {
        if (m.type === 'ready') {
          ready.add(w);
          pools.push(...m.pools);
          if (m.latencyMs !== null) latenciesMs.push(m.latencyMs);
        }
        // The pool's connections, opened before the start, say who they reached: kept for the timeline.
        else if (m.type === 'connected') early.push([w, m]);
        else if (m.type === 'error') failure = m.message;
        if (ready.size === this.size || failure !== undefined) resolve();
      };
      this.crash = (_w, message) => {
        failure = message;
        resolve();
      };
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    if (failure !== undefined || ready.size < this.size) {
      throw new Error(`worker threads did not start: ${failure ?? 'timed out'}`);
    }
    return { early, pools, latenciesMs };
  }

  /** From now on, messages and crashes go here. */
  listen(handle: (w: number, m: WorkerMessage) => void, crash: (w: number, message: string) => void): void {
    this.handle = handle;
    this.crash = crash;
  }

  post(m: MainMessage): void {
    for (const t of this.threads) t.postMessage(m);
  }

  markDone(w: number): void {
    this.finished.add(w);
    if (this.finished.size === this.size) this.resolveDone();
  }

  /**
   * Stops every worker and waits for it to exit, at most `boundMs` each: a thread that does not exit (seen once
   * in the test suite: a worker spinning at 100 % CPU in Node's handle clean-up after its run) is left behind,
   * unref'd so that it cannot keep the process alive, and counted. Returns how many were left.
   */
  async terminate(boundMs = TERMINATE_BOUND_MS): Promise<number> {
    const left = await Promise.all(
      this.threads.map(async (t) => {
        return !(await terminateBounded(t, boundMs));
      }),
    );
    return left.filter(Boolean).length;
  }
}
