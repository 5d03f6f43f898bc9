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
      .option('from', {
        type: 'string',
        describe:
          'the server now: an image (mariadb:10.11, mysql:8.0), a server directory, or path (default: two local images if found, else the binaries on PATH)',
      })
      .option('to', { type: 'string', describe: 'the server to upgrade to (default: the same as --from)' })
      .example('$0 demo --from mariadb:10.11 --to mariadb:11.8', 'a real MariaDB 10.11 → 11.8 upgrade in containers')
      .example('$0 demo', 'about 3 minutes: both methods rehearsed locally, comparison rendered')
      .example('$0 demo --quick --out /tmp/demo', 'the short version') as Argv<never>,
  handler: async (argv: unknown) => {
    const a = argv as { quick: boolean; out?: string; progress: boolean; from?: string; to?: string };
    const stamp = new Date(ctx.io.now()).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    await runDemo(
      {
        quick: a.quick,
        outDir: a.out ?? join('reports', `demo-${stamp}`),
        progress: a.progress,
        ...(a.from !== undefined ? { from: a.from } : {}),
        ...(a.to !== undefined ? { to: a.to } : {}),
        env: ctx.io.env,
      },
      ctx.io,
    );
  },
});
