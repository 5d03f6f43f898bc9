import { oneLine } from '../errors.js';
import type { EventInput } from '../results/types.js';
import type { RunAction } from './options.js';

/**
 * The run's timed actions (shell commands, sandbox steps): each starts at t0 + atMs; its start and end are
 * `action` events with its outcome. Cancelling stops those not started yet and aborts running ones.
 */
export class TimedActions {
  private readonly timers: NodeJS.Timeout[];
  private readonly running: Promise<void>[] = [];
  private readonly abort = new AbortController();

  constructor(actions: readonly RunAction[], t0Ms: number, event: (e: EventInput) => void, now: () => number) {
    this.timers = actions.map((action) =>
      setTimeout(() => this.start(action, event, now), Math.max(0, t0Ms + action.atMs - now())),
    );
  }

  private start(action: RunAction, event: (e: EventInput) => void, now: () => number): void {
    const startedMs = now();
    event({ atMs: startedMs, kind: 'action', name: action.name, detail: { phase: 'start' } });
    const end = (detail: Record<string, unknown>): void =>
      event({ atMs: startedMs, endMs: now(), kind: 'action', name: action.name, detail: { phase: 'end', ...detail } });
    this.running.push(
      action.execute({ event, signal: this.abort.signal }).then(
        (detail) => end({ ok: true, ...(detail ?? {}) }),
        (err: unknown) => end({ ok: false, error: oneLine(err instanceof Error ? err.message : String(err)) }),
      ),
    );
  }

  /** No more actions start; running ones are told to stop (their signal aborts). */
  cancel(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.abort.abort();
  }

  /** Every started action has ended. */
  settled(): Promise<unknown> {
    return Promise.allSettled(this.running);
  }
}
