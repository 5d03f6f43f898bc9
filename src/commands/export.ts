import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DowntimeError, ExitCode } from '../errors.js';
import { EXPORT_FORMATS, toInflux, toOpenMetrics, type ExportFormat } from '../export/index.js';
import { readResults } from '../results/reader.js';
import { assertWritableOutput } from '../results/writer.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import type { CommandContext } from './context.js';

export const exportCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'export <file>',
  describe: 'a results file as OpenMetrics (Prometheus) or InfluxDB line protocol, one sample per op and second',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', describe: 'a results file written by downtime run (or merge)' })
      .option('format', {
        type: 'string',
        choices: EXPORT_FORMATS,
        demandOption: true,
        describe: 'openmetrics (promtool tsdb create-blocks-from openmetrics) or influx (line protocol)',
      })
      .option('out', { type: 'string', describe: 'write here instead of stdout' })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite --out' })
      .example(
        '$0 export run.ndjson --format openmetrics --out run.om',
        'then: promtool tsdb create-blocks-from openmetrics run.om data/',
      )
      .example('$0 export run.ndjson --format influx | influx write -b downtime', 'into InfluxDB') as Argv<never>,
  handler: (argv: unknown) => {
    const a = argv as { file?: string; format: ExportFormat; out?: string; force: boolean };
    if (a.file === undefined || a.file === '') {
      throw new DowntimeError(
        'export needs a results file: downtime export run.ndjson --format openmetrics',
        ExitCode.Usage,
      );
    }
    const out = a.out === undefined ? undefined : resolve(ctx.io.cwd, a.out);
    if (out !== undefined) assertWritableOutput(out, a.force);
    const file = readResults(resolve(ctx.io.cwd, a.file));
    const text = a.format === 'influx' ? toInflux(file) : toOpenMetrics(file);
    if (out === undefined) ctx.io.stdout(text);
    else {
      writeFileAtomic(out, text, { hint: 'choose another --out' });
      ctx.io.stdout(`${out}\n`);
    }
    ctx.exitCode = ExitCode.Ok;
  },
});
