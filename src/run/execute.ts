import { join } from 'node:path';
import { defaultStateDir, sandboxProvider } from '../actions/sandbox.js';
import { shellAction } from '../actions/shell.js';
import { EventRelay, relayingRunner, stepAction, type SandboxProvider, type SandboxSession } from '../actions/steps.js';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import { runMeasurement, type RunAction, type RunOptions, type RunResult } from '../load/measurement.js';
import type { RunMetrics } from '../load/metrics.js';
import { SideBySide } from '../load/side-by-side.js';
import { startMetricsServer } from './metrics-server.js';
import type { Target } from '../load/target.js';
import type { ConnectionModel } from '../results/types.js';
import { assertWritableOutput } from '../results/writer.js';
import { assertCanMakeDir } from '../util/fs-atomic.js';
import type { EndpointSpec } from './endpoints.js';
import { planMembers, plannedOutputs, sideBySidePath, type RunDb, type RunPlan } from './plan.js';

/** One member of a side-by-side run: a client model, an endpoint, or an endpoint with a model. */
export interface SideBySideMember {
  /** `pool`, `reader`, `reader.pool`: its results file, report folder and messages are named so. */
  name: string;
  model: ConnectionModel;
  /** Its endpoint's name, when the run has named endpoints. */
  endpoint?: string;
  result: RunResult;
  /** Its own report's folder (under the run's report folder, named after the member). */
  reportDir: string;
}

/** What a run leaves for the caller: the result, and the report and thresholds still to do. */
export interface RunOutcome {
  /** The run's result; side by side, the first model's. */
  result: RunResult;
  /** Side by side (--connection pool,per-probe): every model's result, the first being `result`. */
  members?: SideBySideMember[];
  thresholds: string[];
  report: { enabled: boolean; dir: string };
}

export interface RunDeps {
  /** Starts the scenario's sandbox (tests may give a fake one). */
  sandbox?: SandboxProvider;
}

/**
 * Runs a plan: starts the sandbox if the scenario has one, turns actions into RunActions, measures,
 * and lets go of the sandbox afterwards, whatever happened.
 */
export async function executeRun(plan: RunPlan, io: Io, deps: RunDeps = {}): Promise<RunOutcome> {
  if (plan.metrics === undefined) return executeWith(plan, io, deps, undefined);
  // Served from before anything connects (a taken port is refused first) to the end of the measurement.
  const server = await startMetricsServer(plan.metrics.host, plan.metrics.port);
  io.stderr(`downtime: metrics at ${server.url}\n`);
  try {
    return await executeWith(plan, io, deps, server.metrics);
  } finally {
    await server.close();
  }
}

async function executeWith(plan: RunPlan, io: Io, deps: RunDeps, metrics: RunMetrics | undefined): Promise<RunOutcome> {
  let session: SandboxSession | undefined;
  let db: Extract<RunDb, { kind: 'target' }>;
  // Every output is checked before a server is started or connected to: a report folder that cannot be made
  // would otherwise only fail once the whole run is over.
  for (const out of plannedOutputs(plan)) assertWritableOutput(out, plan.options.overwrite);
  if (plan.report.enabled) {
    assertCanMakeDir(plan.report.dir, 'choose another report folder (report.out in the scenario) or pass --no-report');
  }
  const relay = new EventRelay();
  if (plan.db.kind === 'sandbox') {
    const provider =
      deps.sandbox ?? sandboxProvider({ stateDir: defaultStateDir(io.cwd), say: (line) => io.stderr(line) });
    const steps = plan.actions.flatMap((a) => (a.kind === 'step' ? [a.step.name] : []));
    // Ctrl-C while servers start must not leave them (and their temp directory) behind: held until
    // the sandbox is up, then it is stopped again.
    let interrupted: string | undefined;
    const unregister = io.onSignal((signal) => {
      interrupted ??= signal;
      io.stderr(`downtime: ${signal}: stopping once the sandbox has started\n`);
    });
    try {
      const { sandbox: kind, from, to, names } = plan.db;
      session = await provider(
        {
          kind,
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(names ? { names } : {}),
        },
        relay,
        steps,
      );
    } finally {
      unregister();
    }
    if (interrupted !== undefined) {
      await releaseHoldingSignals(session, io);
      throw new DowntimeError(
        `${interrupted} while the sandbox was starting: nothing was measured`,
        ExitCode.Interrupted,
      );
    }
    db = { kind: 'target', target: session.target, password: session.password, passwordSource: 'sandbox' };
    if (plan.options.progress) io.stderr(`downtime: ${session.description}\n`);
  } else {
    db = plan.db;
  }
  try {
    const steps = session === undefined ? undefined : relayingRunner(session.steps, relay);
    // Tokens fetched during the run (--password-command) are scrubbed from shell action output too.
    const refreshed = new Set<string>();
    const laterPasswords = (): Iterable<string> => refreshed;
    const refresh = plan.options.passwordRefresh;
    const passwordRefresh =
      refresh === undefined
        ? undefined
        : {
            everyMs: refresh.everyMs,
            fetch: async (): Promise<string> => {
              const pw = await refresh.fetch();
              refreshed.add(pw);
              return pw;
            },
          };
    const actions: RunAction[] = [...(plan.functionActions ?? [])];
    for (const a of plan.actions) actions.push(scenarioAction(a));
    function scenarioAction(a: RunPlan['actions'][number]): RunAction {
      if (a.kind === 'run') {
        return shellAction(a, { env: io.env, cwd: io.cwd, now: io.now, password: db.password, laterPasswords });
      }
      if (steps === undefined) {
        throw new DowntimeError(`action "${a.name}" is a sandbox step, but this run has no sandbox`, ExitCode.Sandbox);
      }
      return stepAction(a, steps);
    }
    actions.sort((x, y) => x.atMs - y.atMs);
    const options: RunOptions = {
      ...plan.options,
      metrics,
      target: db.target,
      password: db.password,
      passwordSource: db.passwordSource,
      actions,
      passwordRefresh,
      // Replication lag: the green the user named, else the sandbox's (while it replicates from blue).
      green: plan.options.green ?? session?.green,
      // A dns-mode sandbox's endpoint is a name served by its own DNS server.
      ...(plan.options.dnsServer === undefined && session?.dnsServer !== undefined
        ? { dnsServer: session.dnsServer }
        : {}),
    };
    if (planMembers(plan).length < 2 && plan.endpoints === undefined) {
      const result = await runMeasurement(options, io);
      return { result, thresholds: plan.thresholds, report: plan.report };
    }
    const members = await runSideBySide(options, memberPlans(plan, options, session), plan.report.dir, io);
    return {
      result: (members[0] as SideBySideMember).result,
      members,
      thresholds: plan.thresholds,
      report: plan.report,
    };
  } finally {
    if (session !== undefined) await releaseHoldingSignals(session, io);
  }
}

/** What one member measures: its name, model, and (named endpoints) its endpoint, target and rates. */
interface MemberPlan {
  name: string;
  model: ConnectionModel;
  endpoint?: { name: string; target: Target; rates: RunOptions['rates']; viaEndpoint: boolean };
}

/** The plan's members: every endpoint (or the one target) with every client model, their targets resolved. */
function memberPlans(plan: RunPlan, options: RunOptions, session: SandboxSession | undefined): MemberPlan[] {
  const targets = new Map(
    (plan.endpoints ?? []).map((e) => [e.name, { spec: e, ...resolveEndpoint(e, options.target, session) }]),
  );
  return planMembers(plan).map((m) => {
    const e = m.endpoint !== undefined ? targets.get(m.endpoint) : undefined;
    return {
      name: m.name,
      model: m.model,
      ...(e !== undefined
        ? { endpoint: { name: e.spec.name, target: e.target, rates: e.spec.rates, viaEndpoint: e.viaEndpoint } }
        : {}),
    };
  });
}

/** An endpoint's target: its URL, or the sandbox's server it names (same credentials as the run's target). */
function resolveEndpoint(
  e: EndpointSpec,
  runTarget: Target,
  session: SandboxSession | undefined,
): { target: Target; viaEndpoint: boolean } {
  if ('url' in e.at) return { target: e.at.url, viaEndpoint: true };
  const server = e.at.sandbox;
  if (server === 'endpoint') return { target: runTarget, viaEndpoint: true };
  const direct = session?.servers?.[server];
  if (direct === undefined) {
    throw new DowntimeError(
      `--target ${e.name}=sandbox:${server}: this sandbox has no ${server} server (a single sandbox has only blue); use sandbox:endpoint or sandbox:blue`,
      ExitCode.Usage,
    );
  }
  return { target: direct, viaEndpoint: false };
}

/**
 * Members measured side by side in one run — client models, endpoints, or both: each has its own workers,
 * results file and report; they start on the same second; the actions (and RDS phase polling, and the
 * heartbeat) run once, in the first, and their events are written into every file, so every member is measured
 * against the very same outage.
 */
async function runSideBySide(
  options: RunOptions,
  members: MemberPlan[],
  reportDir: string,
  io: Io,
): Promise<SideBySideMember[]> {
  const models = [...new Set(members.map((m) => m.model))];
  const group = new SideBySide(
    models,
    members.map((m) => m.name),
  );
  const settled = await Promise.allSettled(
    members.map((m, index) =>
      runMeasurement(
        {
          ...options,
          connection: m.model,
          label: `${options.label} (${m.endpoint !== undefined && models.length > 1 ? `${m.endpoint.name}, ${m.model}` : m.name})`,
          out: sideBySidePath(options.out, m.name),
          actions: index === 0 ? options.actions : [],
          pollTopology: index === 0 ? options.pollTopology : false,
          green: index === 0 ? options.green : undefined,
          sideBySide: { group, index },
          ...(m.endpoint !== undefined
            ? {
                endpoint: m.endpoint.name,
                target: m.endpoint.target,
                rates: m.endpoint.rates,
                // The sandbox's DNS server resolves its endpoint's name; blue and green are addresses.
                dnsServer: m.endpoint.viaEndpoint ? options.dnsServer : undefined,
              }
            : {}),
        },
        io,
      ).catch((err: unknown) => {
        group.fail(err);
        throw err;
      }),
    ),
  );
  const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  // The member that failed first says why; the others only say that they were stopped by it.
  const cause = failures.find((e) => !(e instanceof Error && e.message.startsWith('the side-by-side run')));
  if (failures.length > 0) throw cause ?? failures[0];
  return settled.map((r, i) => {
    const m = members[i] as MemberPlan;
    return {
      name: m.name,
      model: m.model,
      ...(m.endpoint !== undefined ? { endpoint: m.endpoint.name } : {}),
      result: (r as PromiseFulfilledResult<RunResult>).value,
      reportDir: join(reportDir, m.name),
    };
  });
}

/** Stops (or lets go of) the sandbox; Ctrl-C meanwhile is noted, not fatal, so no server is left behind. */
async function releaseHoldingSignals(session: SandboxSession, io: Io): Promise<void> {
  const unregister = io.onSignal((signal) => io.stderr(`downtime: ${signal}: stopping the sandbox first\n`));
  try {
    await session.release();
  } finally {
    unregister();
  }
}
