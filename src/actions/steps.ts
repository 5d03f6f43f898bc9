/**
 * Sandbox steps (`step:` in a scenario) as RunActions. The sandbox itself (src/sandbox) does the work;
 * this file only needs something that can run a step — a StepRunner — so the run command and the tests
 * do not depend on how the sandbox is built.
 */
import type { ActionContext, EventInput, RunAction } from '../load/options.js';
import type { Target } from '../load/target.js';
import type { SandboxKind, StepAction, StepName, StepSpec } from '../scenario/types.js';

/** A step with its options, as the scenario parser gives it. */
export type ParsedStep = StepSpec;

export interface StepRunner {
  /** Runs one step; resolves with details for the action's end event, rejects when the step failed. */
  run(step: ParsedStep, ctx: ActionContext): Promise<Record<string, unknown> | void>;
}

/** Turns a scenario's `step:` action into a RunAction that runs it with `runner`. */
export function stepAction(action: StepAction, runner: StepRunner): RunAction {
  return {
    atMs: action.atMs,
    name: action.name,
    execute: async (ctx) => {
      const detail = await runner.run(action.step, ctx);
      return { step: action.step.name, options: { ...action.step.options }, ...(detail ?? {}) };
    },
  };
}

/** A sandbox the run probes: its endpoint, a StepRunner for its steps, and how to let go of it afterwards. */
export interface SandboxSession {
  target: Target;
  password: string | undefined;
  steps: StepRunner;
  /** Stops what the run started (a sandbox it started itself); leaves an existing one running. */
  release(): Promise<void>;
  /** For the header and messages, e.g. "fresh blue-green sandbox in /tmp/…". */
  description: string;
  /** Green (the replica, same credentials) while it replicates from blue: the run measures replication lag. */
  green?: Target;
  /** The sandbox's DNS server (dns endpoint mode): the endpoint's name is resolved through it. */
  dnsServer?: string;
  /** Its servers directly (same credentials), for runs that watch them beside the endpoint (`sandbox:blue`). */
  servers?: { blue: Target; green?: Target };
}

/**
 * Starts (or connects to) a sandbox of the given topology; `events` receives its events during the run;
 * `steps` are the steps the run will take (so that a sandbox that cannot take them is refused up front).
 */
/**
 * The sandbox a run asks for: its topology, and the servers (`from` now, `to` after an upgrade) as written —
 * an image, a server directory, or nothing for the binaries on PATH; `names` say how messages name them.
 */
export interface SandboxRequest {
  kind: SandboxKind;
  from?: string;
  to?: string;
  names?: { from: string; to: string };
}

export type SandboxProvider = (
  request: SandboxRequest,
  events: EventRelay,
  steps: readonly StepName[],
) => Promise<SandboxSession>;

/**
 * The sandbox reports events through a callback given when it starts, before the run (and its results
 * file) exists; the run hands its event sink to actions only. The relay forwards sandbox events to the
 * sink of the step in progress, and drops those outside any step (start-up, stop). A step still running
 * when the run ends keeps its events: its end event is recorded too, and its phases belong with it.
 */
export class EventRelay {
  private sink: ActionContext | undefined;
  private depth = 0;

  /** Called around a step: its context receives the sandbox's events until `detach`. */
  attach(ctx: ActionContext): void {
    this.sink = ctx;
    this.depth++;
  }

  detach(): void {
    if (--this.depth === 0) this.sink = undefined;
  }

  readonly emit = (e: EventInput): void => {
    this.sink?.event(e);
  };
}

/** A StepRunner wrapper that routes the sandbox's events to the results file while each step runs. */
export function relayingRunner(runner: StepRunner, relay: EventRelay): StepRunner {
  return {
    run: async (step, ctx) => {
      relay.attach(ctx);
      try {
        return await runner.run(step, ctx);
      } finally {
        relay.detach();
      }
    },
  };
}
