/** actions: timed shell commands (run:) and sandbox steps (step:, with their options, fault steps too). */
import { describeValue, durationText } from '../rules.js';
import { ACTION_KEYS, STEP_OPTION_KEYS } from '../shape.js';
import { suggest } from '../suggest.js';
import {
  FAULT_STEP_KINDS,
  HALF_OPEN_DROPS,
  SCENARIO_DEFAULTS,
  STEPS_NEEDING_REPLICA,
  STEP_NAMES,
  type CommandAction,
  type FaultStepKind,
  type HalfOpenDrop,
  type SandboxKind,
  type ScenarioAction,
  type StepName,
  type StepSpec,
} from '../types.js';
import {
  close,
  has,
  join,
  missing,
  open,
  readDuration,
  readNumber,
  readString,
  type Open,
  type Problems,
} from './read.js';

export type Declared = { kind: 'target' } | { kind: 'sandbox'; sandbox: SandboxKind | undefined } | undefined;
export type Timing = { durationMs: number; text: string } | undefined;

export function parseActions(
  p: Problems,
  v: unknown,
  timing: Timing,
  declared: Declared,
): ScenarioAction[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add('actions', `must be a list of actions, each with at: and run: or step: (got ${describeValue(v)})`);
    return undefined;
  }
  const before = p.list.length;
  const actions: ScenarioAction[] = [];
  v.forEach((item: unknown, index) => {
    const action = parseAction(p, item, index, timing, declared);
    if (action !== undefined) actions.push(action);
  });
  return p.list.length > before ? undefined : actions;
}

function parseAction(
  p: Problems,
  v: unknown,
  index: number,
  timing: Timing,
  declared: Declared,
): ScenarioAction | undefined {
  const path = `actions[${index}]`;
  const o = open(p, v, path, ACTION_KEYS, 'a mapping with at: and run: or step:');
  if (o === undefined) return undefined;
  const before = p.list.length;
  const atMs = readDuration(p, o, 'at', {
    required: 'add e.g. at: 20s (the offset from the run start)',
    minMs: 0,
  });
  if (atMs !== undefined && timing !== undefined && atMs >= timing.durationMs) {
    p.add(
      join(path, 'at'),
      `must be before the end of the run (got ${String(o.value.at).trim()}; duration: ${timing.text}); start it earlier or run longer`,
    );
  }
  const name = readString(p, o, 'name');
  const hasRun = has(o, 'run');
  const hasStep = has(o, 'step');
  let result: CommandAction | { kind: 'step'; step: StepSpec } | undefined;
  if (hasRun && hasStep) {
    p.add(path, 'has both run: and step:; keep one (run: a shell command, step: a sandbox step)');
  } else if (!hasRun && !hasStep) {
    if (!o.meant.has('run') && !o.meant.has('step')) {
      p.add(path, 'needs run: (a shell command) or step: (a sandbox step)');
    }
  } else if (hasRun) {
    const command = readString(p, o, 'run');
    if (has(o, 'with')) p.add(join(path, 'with'), 'only applies to step: actions; put options in the command itself');
    const timeoutMs = readDuration(p, o, 'timeout', { minMs: 1 });
    if (command !== undefined) {
      result = { kind: 'run', index, atMs: 0, name: '', command, timeoutMs };
    }
  } else {
    if (has(o, 'timeout')) {
      p.add(
        join(path, 'timeout'),
        'only applies to run: actions; a step has its own limits (e.g. with: {timeout: 1m} for switchover)',
      );
    }
    const step = parseStep(p, o, declared);
    if (step !== undefined) result = { kind: 'step', step };
  }
  close(p, o);
  if (p.list.length > before || result === undefined || atMs === undefined) return undefined;
  if (result.kind === 'run') return { ...result, atMs, name: name ?? `action ${index + 1}` };
  return { kind: 'step', index, atMs, name: name ?? result.step.name, step: result.step };
}

function parseStep(p: Problems, o: Open, declared: Declared): StepSpec | undefined {
  const path = join(o.path, 'step');
  const v = o.value.step;
  if (typeof v !== 'string' || !(STEP_NAMES as readonly string[]).includes(v)) {
    const guess = typeof v === 'string' ? suggest(v, STEP_NAMES) : undefined;
    p.add(
      path,
      typeof v !== 'string'
        ? `must be a step name: ${STEP_NAMES.join(', ')} (got ${describeValue(v)})`
        : guess !== undefined
          ? `unknown step ${describeValue(v)} (did you mean ${JSON.stringify(guess)}?)`
          : `unknown step ${describeValue(v)}; steps: ${STEP_NAMES.join(', ')}`,
    );
    return undefined;
  }
  const name = v as StepName;
  // Only a definite target: (not a missing or misspelt sandbox:) makes this worth a separate problem.
  if (declared?.kind === 'target') {
    p.add(path, 'needs sandbox: (steps act on local sandbox servers); use run: for a command against target:');
  } else if (declared?.sandbox === 'single' && STEPS_NEEDING_REPLICA.includes(name)) {
    p.add(path, `${name} needs sandbox: blue-green (sandbox: single has no replica to switch to)`);
  }
  const withPath = join(o.path, 'with');
  const allowed = STEP_OPTION_KEYS[name];
  const w = o.value.with === undefined ? {} : o.value.with;
  const wo = open(
    p,
    w,
    withPath,
    allowed,
    allowed.length === 0 ? 'a mapping (empty)' : `a mapping with ${allowed.map((k) => `${k}:`).join(', ')}`,
    `${name} takes no options`,
  );
  if (wo === undefined) return undefined;
  const before = p.list.length;
  let step: StepSpec | undefined;
  const d = SCENARIO_DEFAULTS;
  switch (name) {
    case 'in-place-upgrade': {
      const offlineMs = readDuration(p, wo, 'offline', { minMs: 0 });
      step = { name, options: { offlineMs: offlineMs ?? d.inPlaceUpgradeOfflineMs } };
      break;
    }
    case 'switchover': {
      const maxLagMs = readDuration(p, wo, 'maxLag', { minMs: 0 });
      const timeoutMs = readDuration(p, wo, 'timeout', { minMs: 1 });
      const blockWritesMs = readDuration(p, wo, 'blockWrites', { minMs: 0 });
      const renameMs = readDuration(p, wo, 'rename', { minMs: 0 });
      step = {
        name,
        options: {
          maxLagMs: maxLagMs ?? d.switchoverMaxLagMs,
          timeoutMs: timeoutMs ?? d.switchoverTimeoutMs,
          blockWritesMs: blockWritesMs ?? 0,
          renameMs: renameMs ?? 0,
        },
      };
      break;
    }
    case 'restart':
    case 'kill':
    case 'failover':
      step = { name, options: {} };
      break;
    case 'fault':
      step = parseFaultStep(p, wo);
      break;
  }
  close(p, wo);
  return p.list.length > before ? undefined : step;
}

/** `step: fault` options; an option of another kind (e.g. latency: with kind: reset) is a problem, not ignored. */
function parseFaultStep(p: Problems, wo: Open): StepSpec | undefined {
  const kinds = FAULT_STEP_KINDS.join(', ');
  const kindText = readString(p, wo, 'kind', { required: `the fault: one of ${kinds}` });
  let kind: FaultStepKind | undefined;
  if (kindText !== undefined) {
    if ((FAULT_STEP_KINDS as readonly string[]).includes(kindText)) kind = kindText as FaultStepKind;
    else p.add(join(wo.path, 'kind'), `must be one of ${kinds} (got ${describeValue(kindText)})`);
  }
  const durationMs = readDuration(p, wo, 'duration', { required: 'how long the fault lasts, e.g. 2s', minMs: 1 });
  const latencyMs = readDuration(p, wo, 'latency', {
    minMs: 0,
    ...(kind === 'latency' ? { required: 'the delay added to each chunk, e.g. 500ms' } : {}),
  });
  const jitterMs = readDuration(p, wo, 'jitter', { minMs: 0 });
  const bytesPerSec = readNumber(p, wo, 'bytesPerSec', { min: 1, max: 1e12, integer: false });
  if (kind === 'bandwidth' && !has(wo, 'bytesPerSec')) missing(p, wo, 'bytesPerSec', 'the bandwidth, e.g. 10000');
  const drop = readString(p, wo, 'drop', {
    pattern: `^(${HALF_OPEN_DROPS.join('|')})$`,
    patternText: HALF_OPEN_DROPS.join(' or '),
  }) as HalfOpenDrop | undefined;
  const onlyFor: [string, FaultStepKind][] = [
    ['latency', 'latency'],
    ['jitter', 'latency'],
    ['bytesPerSec', 'bandwidth'],
    ['drop', 'halfOpen'],
  ];
  for (const [key, only] of onlyFor) {
    if (kind !== undefined && kind !== only && has(wo, key)) p.add(join(wo.path, key), `only applies to kind: ${only}`);
  }
  if (jitterMs !== undefined && latencyMs !== undefined && jitterMs > latencyMs) {
    p.add(join(wo.path, 'jitter'), `must be at most latency (${durationText(latencyMs)})`);
  }
  if (kind === undefined || durationMs === undefined) return undefined;
  return {
    name: 'fault',
    options: { kind, durationMs, latencyMs, jitterMs, bytesPerSec, drop },
  };
}
