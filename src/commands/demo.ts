import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { runDemo } from '../run/demo.js';
import type { CommandContext } from './context.js';

export const demoCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'demo',
  describe: 'rehearse an in-place upgrade and a blue/green switchover on local servers, and compare them',
  builder: (y: Argv) =>
    y
      .option('quick', { type: 'boolean', default: false, describe: 'a short version (about 40 s)' })
      .option('out', { type: 'string', describe: 'output directory (default reports/demo-<time>)' })
      .option('progress', { type: 'boolean', default: true, describe: 'per-second lines on stderr' })
      .example('$0 demo', 'about 3 minutes: both methods rehearsed locally, comparison rendered')
      .example('$0 demo --quick --out /tmp/demo', 'the short version') as Argv<never>,
  handler: async (argv: unknown) => {
    const a = argv as { quick: boolean; out?: string; progress: boolean };
    const stamp = new Date(ctx.io.now()).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    await runDemo({ quick: a.quick, outDir: a.out ?? join('reports', `demo-${stamp}`), progress: a.progress }, ctx.io);
  },
});
