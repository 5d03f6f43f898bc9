import type { Argv, CommandModule } from 'yargs';
import { DowntimeError, ExitCode, isDowntimeError } from '../errors.js';
import type { Io } from '../io.js';
import { validateThreshold } from '../analyze/thresholds.js';
import { loadScenario } from '../scenario/parse.js';
import { redactScenario } from '../scenario/redact.js';
import { scenarioSchema } from '../scenario/schema.js';
import type { ParsedScenario, ScenarioAction, ThresholdValidator } from '../scenario/types.js';
import { formatDuration } from '../util/duration.js';
import type { CommandContext } from './context.js';

interface ScenarioCheckOptions {
  files: string[];
  /** Print each parsed scenario (redacted) as one JSON line instead of a summary. */
  json: boolean;
  /** Print the JSON Schema of scenario files. */
  schema: boolean;
  validateThreshold?: ThresholdValidator;
}

/**
 * Checks scenario files without running anything: every file is parsed, every problem of every file is
 * reported (one line per bad file), so a CI job can check a folder of scenarios in one go.
 * Returns the exit code: 0 when all are good, else that of the first bad file.
 */
function checkScenarios(opts: ScenarioCheckOptions, io: Io): number {
  if (opts.schema) {
    io.stdout(JSON.stringify(scenarioSchema, null, 2) + '\n');
    if (opts.files.length === 0) return ExitCode.Ok;
  }
  if (opts.files.length === 0) {
    throw new DowntimeError(
      'name one or more scenario files, e.g. downtime scenario scenarios/local-blue-green.yaml (or --schema)',
      ExitCode.Usage,
    );
  }
  let exitCode: number = ExitCode.Ok;
  for (const file of opts.files) {
    try {
      const parsed = loadScenario(file, opts.validateThreshold ? { validateThreshold: opts.validateThreshold } : {});
      io.stdout(
        opts.json ? JSON.stringify(redactScenario(parsed)) + '\n' : `${file}: ok: ${summarizeScenario(parsed)}\n`,
      );
    } catch (err) {
      if (!isDowntimeError(err)) throw err;
      io.stderr(`downtime: ${err.message}\n`);
      if (exitCode === ExitCode.Ok) exitCode = err.exitCode;
    }
  }
  return exitCode;
}

/** One line saying what a run of the scenario will do, e.g. for `downtime scenario` and run banners. */
function summarizeScenario(s: ParsedScenario): string {
  const where = s.db.kind === 'sandbox' ? `sandbox ${s.db.sandbox}` : `target ${s.db.url}`;
  const rates = [
    s.load.readsPerSec > 0 ? `${s.load.readsPerSec} reads/s` : '',
    s.load.writesPerSec > 0 ? `${s.load.writesPerSec} writes/s` : '',
  ]
    .filter((x) => x !== '')
    .join(' + ');
  const load = `${rates} (${s.load.connection}, timeout ${formatDuration(s.load.timeoutMs)})`;
  const actions = s.actions.length === 0 ? 'no actions' : `actions: ${s.actions.map(describeAction).join(', ')}`;
  const thresholds = s.thresholds.length === 0 ? 'no thresholds' : `thresholds: ${s.thresholds.join(', ')}`;
  return `${s.name}: ${where}, ${formatDuration(s.durationMs)}, ${load}; ${actions}; ${thresholds}`;
}

function describeAction(a: ScenarioAction): string {
  const what = a.kind === 'run' ? 'command' : a.name === a.step.name ? 'step' : `step ${a.step.name}`;
  return `${a.name} (${what}) at ${formatDuration(a.atMs)}`;
}

export const scenarioCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'scenario [files..]',
  describe: 'check scenario files (every problem at once, nothing is run), or print their JSON Schema',
  builder: (y: Argv) =>
    y
      .positional('files', { type: 'string', array: true, describe: 'scenario files (.yaml, .yml or .json)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print each parsed scenario (passwords never included) as one JSON line',
      })
      .option('schema', { type: 'boolean', default: false, describe: 'print the JSON Schema of scenario files' })
      .example('$0 scenario scenarios/*.yaml', 'check every shipped scenario')
      .example('$0 scenario --schema > scenario.schema.json', 'the schema, for editors') as Argv<never>,
  handler: (argv: unknown) => {
    const a = argv as { files?: string[]; json: boolean; schema: boolean };
    ctx.exitCode = checkScenarios({ files: a.files ?? [], json: a.json, schema: a.schema, validateThreshold }, ctx.io);
  },
});
