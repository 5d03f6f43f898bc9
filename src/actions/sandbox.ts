/**
 * The sandbox a scenario with `sandbox:` runs against: a fresh one of the scenario's topology, started for
 * the run in a temporary directory and stopped afterwards, and the StepRunner that maps scenario steps
 * onto the sandbox's step API.
 */
import { DowntimeError, ExitCode } from '../errors.js';
import type { ActionContext } from '../load/options.js';
import { parseTargetUrl } from '../scenario/target-url.js';
import type { Target } from '../load/target.js';
import { resolve } from 'node:path';
import { connectSandbox, DEFAULT_STATE_DIR, readState, sandboxStatus } from '../sandbox/index.js';
import { startSandbox, type Sandbox, type SandboxSteps } from '../sandbox/index.js';
import type { FaultSpec } from '../sandbox/index.js';
import { STEPS_NEEDING_REPLICA, type StepOptionsByName } from '../scenario/types.js';
import { resolveSandboxServers } from '../sandbox/providers.js';
import type { EventRelay, ParsedStep, SandboxProvider, SandboxRequest, SandboxSession, StepRunner } from './steps.js';

/** The part of the sandbox's step API that scenario steps use. */
export type ScenarioStepApi = Pick<
  SandboxSteps,
  'inPlaceUpgrade' | 'switchover' | 'restart' | 'killAndStart' | 'failover' | 'fault'
>;

/** The proxy's fault spec for a parsed `step: fault`. */
function faultSpecOf(o: StepOptionsByName['fault']): FaultSpec {
  switch (o.kind) {
    case 'latency':
      return {
        kind: 'latency',
        latencyMs: o.latencyMs ?? 0,
        ...(o.jitterMs !== undefined ? { jitterMs: o.jitterMs } : {}),
      };
    case 'bandwidth':
      return { kind: 'bandwidth', bytesPerSec: o.bytesPerSec ?? 0 };
    case 'halfOpen':
      return { kind: 'halfOpen', ...(o.drop !== undefined ? { drop: o.drop } : {}) };
    default:
      return { kind: o.kind };
  }
}

/** Runs scenario steps with a sandbox's step API. */
export function sandboxStepRunner(sandbox: ScenarioStepApi): StepRunner {
  return {
    run: async (step: ParsedStep, ctx: ActionContext) => {
      switch (step.name) {
        case 'in-place-upgrade':
          return sandbox.inPlaceUpgrade({ offlineMs: step.options.offlineMs });
        case 'switchover':
          return sandbox.switchover({
            maxLagMs: step.options.maxLagMs,
            timeoutMs: step.options.timeoutMs,
            blockWritesMs: step.options.blockWritesMs,
            renameMs: step.options.renameMs,
          });
        case 'restart':
          return sandbox.restart();
        case 'kill':
          return sandbox.killAndStart();
        case 'failover':
          return sandbox.failover();
        case 'fault':
          // Ends early when the run ends: no fault outlives its run.
          return sandbox.fault({
            ...faultSpecOf(step.options),
            durationMs: step.options.durationMs,
            signal: ctx.signal,
          });
        default: {
          // A step the scenario parser knows but this runner does not: fail loudly, never skip it.
          const unknown: never = step;
          throw new DowntimeError(
            `step "${(unknown as ParsedStep).name}" is not supported by this sandbox`,
            ExitCode.Sandbox,
          );
        }
      }
    },
  };
}

export interface SandboxProviderOptions {
  /** Progress lines (starting, stopping), e.g. io.stderr; nothing when undefined. */
  say?: (line: string) => void;
}

/**
 * The sandbox for a run: the one `downtime sandbox up` left running in the state directory when it has
 * the scenario's topology (it keeps running afterwards), else a fresh one for this run only.
 */
export function sandboxProvider(
  o: SandboxProviderOptions & { stateDir: string; /** Tests: instead of starting servers. */ fresh?: SandboxProvider },
): SandboxProvider {
  const fresh = o.fresh ?? freshSandboxProvider(o);
  return async (request, relay, steps) => {
    const { kind } = request;
    const shown = o.stateDir;
    const state = readState(o.stateDir);
    if (state === null) return fresh(request, relay, steps);
    if (state.topology !== kind) {
      o.say?.(
        `downtime: the sandbox in ${shown} is ${state.topology}, this scenario needs ${kind}: starting a fresh one for this run\n`,
      );
      return fresh(request, relay, steps);
    }
    const wanted = { from: request.from ?? 'path', to: request.to ?? request.from ?? 'path' };
    const has = { from: state.versions?.from ?? 'path', to: state.versions?.to ?? state.versions?.from ?? 'path' };
    if (wanted.from !== has.from || wanted.to !== has.to) {
      o.say?.(
        `downtime: the sandbox in ${shown} runs ${has.from} → ${has.to}, this run asks for ${wanted.from} → ${wanted.to}: starting a fresh one for this run\n`,
      );
      return fresh(request, relay, steps);
    }
    const needsReplica = steps.filter((s) => STEPS_NEEDING_REPLICA.includes(s));
    if (needsReplica.length > 0 && state.active === 'green') {
      throw new DowntimeError(
        `the sandbox in ${shown} already points at green (an earlier switchover or failover), so ${needsReplica.join(', ')} cannot run; downtime sandbox reset puts it back on blue`,
        ExitCode.Sandbox,
      );
    }
    const status = await sandboxStatus(o.stateDir);
    if (!status.up) {
      const down = status.components.filter((c) => !c.running || !c.reachable).map((c) => c.name);
      throw new DowntimeError(
        `the sandbox in ${shown} is not fully up (${down.join(', ')} not running or unreachable); check downtime sandbox status, or stop it with downtime sandbox down to let the run start a fresh one`,
        ExitCode.Sandbox,
      );
    }
    const sandbox = await connectSandbox(o.stateDir, relay.emit);
    return sessionOf(sandbox, `existing ${kind} sandbox in ${shown}, endpoint ${sandbox.endpoint.url}`, () => {
      // Ours to let go of, not to stop: `downtime sandbox down` does that.
      sandbox.close();
      return Promise.resolve();
    });
  };
}

/** The default state directory of `downtime sandbox up`, relative to the current directory. */
export function defaultStateDir(cwd: string): string {
  return resolve(cwd, DEFAULT_STATE_DIR);
}

/** Starts a fresh sandbox of the scenario's topology for one run; release() stops it and removes its directory. */
export function freshSandboxProvider(o: SandboxProviderOptions = {}): SandboxProvider {
  return async (request: SandboxRequest, relay: EventRelay): Promise<SandboxSession> => {
    const { kind } = request;
    // Versions first: Docker, images, directories and the pair are checked before any server starts.
    const servers = await resolveSandboxServers(request.from, request.to, request.names);
    o.say?.(`downtime: starting a local ${kind} sandbox: ${servers.description}…\n`);
    let sandbox: Sandbox;
    try {
      sandbox = await startSandbox({ topology: kind, onEvent: relay.emit, servers });
    } catch (err) {
      if (err instanceof DowntimeError) throw err;
      throw new DowntimeError(
        `could not start the local ${kind} sandbox: ${(err as Error).message}; check that mariadbd (or mysqld) is on PATH`,
        ExitCode.Sandbox,
      );
    }
    return sessionOf(
      sandbox,
      `fresh ${kind} sandbox (${servers.description}), endpoint ${sandbox.endpoint.url}`,
      async () => {
        o.say?.('downtime: stopping the sandbox\n');
        await sandbox.stop();
      },
    );
  };
}

export function sessionOf(sandbox: Sandbox, description: string, release: () => Promise<void>): SandboxSession {
  const target = parseTargetUrl(sandbox.endpoint.url).target;
  const direct = (server: { host?: string; port: number }): Target => {
    const host = server.host ?? '127.0.0.1';
    return {
      ...target,
      host,
      port: server.port,
      url: `mysql://${target.user}@${host}:${server.port}/${target.database}`,
    };
  };
  // Green replicates from blue only while the endpoint points at blue.
  const green = sandbox.green !== undefined && sandbox.active === 'blue' ? direct(sandbox.green) : undefined;
  return {
    ...(green !== undefined ? { green } : {}),
    servers: { blue: direct(sandbox.blue), ...(sandbox.green !== undefined ? { green: direct(sandbox.green) } : {}) },
    target,
    password: sandbox.endpoint.password,
    ...(sandbox.endpoint.dnsServer !== undefined ? { dnsServer: sandbox.endpoint.dnsServer } : {}),
    steps: sandboxStepRunner(sandbox),
    release,
    description,
  };
}
