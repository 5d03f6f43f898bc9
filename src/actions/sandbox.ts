/**
 * The sandbox a scenario with `sandbox:` runs against: a fresh one of the scenario's topology, started for
 * the run in a temporary directory and stopped afterwards, and the StepRunner that maps scenario steps
 * onto the sandbox's step API.
 */
import { DowntimeError, ExitCode } from '../errors.js';
import type { ActionContext } from '../load/run.js';
import { parseTargetUrl } from '../load/target.js';
import { startSandbox, type Sandbox, type SandboxSteps } from '../sandbox/topology.js';
import type { SandboxKind } from '../scenario/types.js';
import type { EventRelay, ParsedStep, SandboxProvider, SandboxSession, StepRunner } from './steps.js';

/** Runs scenario steps with a sandbox's step API. */
export function sandboxStepRunner(sandbox: SandboxSteps): StepRunner {
  return {
    run: async (step: ParsedStep, _ctx: ActionContext) => {
      switch (step.name) {
        case 'in-place-upgrade':
          return sandbox.inPlaceUpgrade({ offlineMs: step.options.offlineMs });
        case 'switchover':
          return sandbox.switchover({ maxLagMs: step.options.maxLagMs, timeoutMs: step.options.timeoutMs });
        case 'restart':
          return sandbox.restart();
        case 'kill':
          return sandbox.killAndStart();
        case 'failover':
          return sandbox.failover();
      }
    },
  };
}

export interface SandboxProviderOptions {
  /** Progress lines (starting, stopping), e.g. io.stderr; nothing when undefined. */
  say?: (line: string) => void;
}

/** Starts a fresh sandbox of the scenario's topology for one run; release() stops it and removes its directory. */
export function freshSandboxProvider(o: SandboxProviderOptions = {}): SandboxProvider {
  return async (kind: SandboxKind, relay: EventRelay): Promise<SandboxSession> => {
    o.say?.(`downtime: starting a local ${kind} sandbox (temporary directory, free loopback ports)…\n`);
    let sandbox: Sandbox;
    try {
      sandbox = await startSandbox({ topology: kind, onEvent: relay.emit });
    } catch (err) {
      if (err instanceof DowntimeError) throw err;
      throw new DowntimeError(
        `could not start the local ${kind} sandbox: ${(err as Error).message}; check that mariadbd (or mysqld) is on PATH`,
        ExitCode.Sandbox,
      );
    }
    return sessionOf(sandbox, `fresh ${kind} sandbox, endpoint ${sandbox.endpoint.url}`, async () => {
      o.say?.('downtime: stopping the sandbox\n');
      await sandbox.stop();
    });
  };
}

export function sessionOf(sandbox: Sandbox, description: string, release: () => Promise<void>): SandboxSession {
  return {
    target: parseTargetUrl(sandbox.endpoint.url).target,
    password: sandbox.endpoint.password,
    steps: sandboxStepRunner(sandbox),
    release,
    description,
  };
}
