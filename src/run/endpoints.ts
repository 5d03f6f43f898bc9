/**
 * Several endpoints in one run (`--target writer=mysql://… --target reader=mysql://…`): a real switchover is
 * watched through several doors at once — the cluster (writer) endpoint, the reader endpoint, a proxy, blue and
 * green directly. Each endpoint is a member of one side-by-side run (src/load/side-by-side.ts): its own workers,
 * ops, rates and results file, the same start second, the actions run once and written into every file; one
 * comparison report shows which endpoint was down when.
 *
 * On the command line: `--target NAME=URL` repeated (a sandbox run names its servers: `NAME=sandbox:endpoint`,
 * `sandbox:blue`, `sandbox:green`), and `--reads` / `--writes` either a number for all or `NAME=N` for one.
 */
import { DowntimeError, ExitCode } from '../errors.js';
import type { Target } from '../load/target.js';
import type { ConnectionModel } from '../results/types.js';
import { checkRate, must } from '../scenario/rules.js';
import { targetFromFlag } from '../scenario/target-url.js';
import type { ScenarioTarget } from '../scenario/types.js';
import type { RunArgs } from './args.js';

/** The sandbox's servers an endpoint may name: its endpoint (the proxy or DNS name), blue, green. */
const SANDBOX_SERVERS = ['endpoint', 'blue', 'green'] as const;
type SandboxServerName = (typeof SANDBOX_SERVERS)[number];

/** One endpoint as given: a URL, or a sandbox's server (known once the sandbox is up). */
export interface EndpointSpec {
  name: string;
  at: { url: Target } | { sandbox: SandboxServerName };
  rates: { read: number; write: number };
}

/** The raw flags as yargs gives them: `--target` may repeat, `--reads`/`--writes` may be `NAME=N`. */
export interface RawEndpointArgs {
  target?: string | string[];
  reads?: number | string | (number | string)[];
  writes?: number | string | (number | string)[];
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

function list<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** `writer=mysql://…` → ['writer', 'mysql://…']; a plain URL → [undefined, url]. */
function splitNamed(value: string): [string | undefined, string] {
  const m = /^([^=:/]+)=(.*)$/s.exec(value);
  return m === null ? [undefined, value] : [m[1] as string, m[2] as string];
}

/** A rate flag's number (yargs gives strings now that `NAME=N` is allowed). */
function rateValue(v: string, flag: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  return must(checkRate(Number.isFinite(n) ? n : v, flag));
}

/** `--reads 100`, `--reads reader=50`: the value for all endpoints, and per endpoint. */
function rateFlags(values: RawEndpointArgs['reads'], flag: string): { all?: number; per: Map<string, number> } {
  const per = new Map<string, number>();
  let all: number | undefined;
  for (const raw of list(values)) {
    const text = String(raw);
    const [name, value] = splitNamed(text);
    if (name === undefined) {
      if (all !== undefined) {
        throw new DowntimeError(
          `${flag} is given twice for every endpoint (${all} and ${value}); give it once, or NAME=N for one endpoint`,
          ExitCode.Usage,
        );
      }
      all = rateValue(value, flag);
    } else {
      if (per.has(name)) throw new DowntimeError(`${flag} ${name}=… is given twice; give it once`, ExitCode.Usage);
      per.set(name, rateValue(value, `${flag} ${name}=`));
    }
  }
  return { ...(all !== undefined ? { all } : {}), per };
}

/**
 * Splits the endpoint flags: the args the rest of the run reads (one `--target` URL, numeric `--reads` and
 * `--writes`), and the endpoints when the run has named ones (else undefined: one target, as always).
 * `sandboxRun`: the scenario has a sandbox, whose servers the endpoints name.
 */
export function endpointArgs<A extends RawEndpointArgs>(
  args: A,
  sandboxRun: boolean,
  /** The scenario's targets: list, used when no --target names endpoints. */
  scenarioTargets?: ScenarioTarget[],
): {
  args: Omit<A, keyof RawEndpointArgs> & Pick<RunArgs, 'target' | 'reads' | 'writes'>;
  endpoints?: PendingEndpoint[];
} {
  const { target, reads, writes, ...rest } = args;
  const targets = list(target).filter((t) => t !== '');
  const readRates = rateFlags(reads, '--reads');
  const writeRates = rateFlags(writes, '--writes');
  const named = targets.map(splitNamed);
  const anyNamed = named.some(([n]) => n !== undefined) || readRates.per.size > 0 || writeRates.per.size > 0;
  const base = {
    ...rest,
    ...(readRates.all !== undefined ? { reads: readRates.all } : {}),
    ...(writeRates.all !== undefined ? { writes: writeRates.all } : {}),
  };
  if (targets.length === 0 && scenarioTargets !== undefined) {
    return { args: base, endpoints: fromScenario(scenarioTargets, readRates.per, writeRates.per) };
  }
  if (!anyNamed && targets.length <= 1)
    return { args: { ...base, ...(targets[0] !== undefined ? { target: targets[0] } : {}) } };
  if (targets.length === 0) {
    throw new DowntimeError(
      `--reads/--writes NAME=N name an endpoint, but no --target names one; write --target NAME=mysql://…`,
      ExitCode.Usage,
    );
  }
  const seen = new Set<string>();
  const endpoints: PendingEndpoint[] = named.map(([name, at]) => {
    if (name === undefined) {
      throw new DowntimeError(
        targets.length === 1
          ? `--reads/--writes NAME=N name an endpoint, but --target names none; write --target NAME=mysql://…`
          : `--target is given ${targets.length} times: name each one, e.g. --target writer=mysql://app@cluster/app --target reader=mysql://app@cluster-ro/app`,
        ExitCode.Usage,
      );
    }
    if (!NAME.test(name)) {
      throw new DowntimeError(
        `--target name "${name}" is not a name: a letter, then letters, digits, _ or - (at most 32)`,
        ExitCode.Usage,
      );
    }
    if (seen.has(name)) {
      throw new DowntimeError(`--target name ${name} is used twice; give each endpoint its own name`, ExitCode.Usage);
    }
    seen.add(name);
    const flag = `--target ${name}=`;
    let where: PendingEndpoint['at'];
    if (at.startsWith('sandbox:')) {
      const server = at.slice('sandbox:'.length);
      if (!(SANDBOX_SERVERS as readonly string[]).includes(server)) {
        throw new DowntimeError(
          `${flag}${at} names no sandbox server: write sandbox:endpoint, sandbox:blue or sandbox:green`,
          ExitCode.Usage,
        );
      }
      if (!sandboxRun) {
        throw new DowntimeError(
          `${flag}${at} names a sandbox's server, but this run has no sandbox; give a mysql:// URL, or run a sandbox scenario`,
          ExitCode.Usage,
        );
      }
      where = { sandbox: server as SandboxServerName };
    } else {
      if (sandboxRun) {
        throw new DowntimeError(
          `${flag} in a sandbox run names one of its servers: sandbox:endpoint, sandbox:blue or sandbox:green`,
          ExitCode.Usage,
        );
      }
      where = { url: namedTarget(at, name) };
    }
    return {
      name,
      at: where,
      ...(readRates.per.has(name) ? { read: readRates.per.get(name) as number } : {}),
      ...(writeRates.per.has(name) ? { write: writeRates.per.get(name) as number } : {}),
    };
  });
  checkRateNames(readRates.per, writeRates.per, seen, 'the --target names');
  // The rest of the run reads one target: the first URL (its credentials are everyone's).
  const first = endpoints.find((e) => 'url' in e.at);
  return {
    args: { ...base, ...(first !== undefined && 'url' in first.at ? { target: first.at.url.url } : {}) },
    endpoints,
  };
}

/** The scenario's targets: list as endpoints; `--reads NAME=N` / `--writes NAME=N` replace an endpoint's rate. */
function fromScenario(
  list: ScenarioTarget[],
  reads: Map<string, number>,
  writes: Map<string, number>,
): PendingEndpoint[] {
  const names = new Set(list.map((t) => t.name));
  checkRateNames(reads, writes, names, "the scenario's targets");
  return list.map((t) => {
    const read = reads.get(t.name) ?? t.readsPerSec;
    const write = writes.get(t.name) ?? t.writesPerSec;
    return {
      name: t.name,
      at: t.url !== undefined ? { url: namedTarget(t.url, t.name) } : { sandbox: t.sandbox ?? 'endpoint' },
      ...(read !== undefined ? { read } : {}),
      ...(write !== undefined ? { write } : {}),
    };
  });
}

/** A `--reads NAME=N` / `--writes NAME=N` must name one of the endpoints (`which` says where they were named). */
function checkRateNames(
  reads: Map<string, number>,
  writes: Map<string, number>,
  names: Set<string>,
  which: string,
): void {
  for (const [flag, per] of [
    ['--reads', reads],
    ['--writes', writes],
  ] as const) {
    for (const name of per.keys()) {
      if (!names.has(name)) {
        throw new DowntimeError(
          `${flag} ${name}=… names no endpoint (${which} are ${[...names].join(', ')})`,
          ExitCode.Usage,
        );
      }
    }
  }
}

/** A named endpoint's URL; its messages name it (`--target reader= has no user; …`). */
function namedTarget(url: string, name: string): Target {
  try {
    return targetFromFlag(url, '--target');
  } catch (err) {
    if (err instanceof DowntimeError && err.message.startsWith('--target ')) {
      throw new DowntimeError(`--target ${name}=${err.message.slice('--target'.length)}`, err.exitCode);
    }
    throw err;
  }
}

/** An endpoint as given, before the run's rates are known (`read`/`write`: its own, when given). */
export interface PendingEndpoint {
  name: string;
  at: EndpointSpec['at'];
  read?: number;
  write?: number;
}

/** The endpoints with their rates: their own, else the run's. An endpoint measures reads, writes or both. */
export function withRates(pending: PendingEndpoint[], rates: { read: number; write: number }): EndpointSpec[] {
  return pending.map((p) => {
    const r = { read: p.read ?? rates.read, write: p.write ?? rates.write };
    if (r.read === 0 && r.write === 0) {
      throw new DowntimeError(
        `endpoint ${p.name} has --reads and --writes 0: nothing to measure there; set one above 0 (--reads ${p.name}=100)`,
        ExitCode.Usage,
      );
    }
    return { name: p.name, at: p.at, rates: r };
  });
}

/** A member of a run: an endpoint (or the run's only target) measured with one client model. */
export interface MemberKey {
  /** Endpoint name; undefined for the run's only target. */
  endpoint: string | undefined;
  model: ConnectionModel;
}

/** How files, folders and messages name a member: `reader`, `pool`, or `reader.pool` when both vary. */
export function memberName(m: MemberKey, models: number): string {
  if (m.endpoint === undefined) return m.model;
  return models > 1 ? `${m.endpoint}.${m.model}` : m.endpoint;
}
