import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import { connectSandbox, DEFAULT_STATE_DIR, sandboxDown, sandboxStatus, sandboxUp } from '../sandbox/index.js';
import type { Topology } from '../sandbox/index.js';
import type { CommandContext } from './context.js';

interface SandboxArgs {
  action: string;
  topology: string;
  port?: number;
  stateDir: string;
  json: boolean;
  /** The servers: now (blue) and to upgrade to (green; in-place-upgrade): server directories, or path. */
  from?: string;
  to?: string;
}

/** `downtime sandbox up|status|down`: the core, on parsed flags; returns the exit code. */
async function sandboxCli(a: SandboxArgs, io: Io): Promise<number> {
  const stateDir = resolve(io.cwd, a.stateDir);
  switch (a.action) {
    case 'up': {
      if (a.topology !== 'single' && a.topology !== 'blue-green') {
        throw new DowntimeError(`--topology must be single or blue-green (got "${a.topology}")`, ExitCode.Usage);
      }
      if (a.port !== undefined && (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535)) {
        throw new DowntimeError(`--port must be a TCP port from 1 to 65535 (got ${a.port})`, ExitCode.Usage);
      }
      // Ctrl-C while the servers start must not leave them running, detached: held until they are up, then
      // everything is stopped again.
      let interrupted: string | undefined;
      const unregister = io.onSignal((signal) => {
        interrupted ??= signal;
        io.stderr(`downtime: ${signal}: stopping the sandbox once it has started\n`);
      });
      let st: Awaited<ReturnType<typeof sandboxUp>>;
      try {
        st = await sandboxUp({
          topology: a.topology as Topology,
          stateDir,
          ...(a.port !== undefined ? { port: a.port } : {}),
          ...(a.from !== undefined ? { from: a.from } : {}),
          ...(a.to !== undefined ? { to: a.to } : {}),
          say: (line) => io.stderr(`downtime: ${line}\n`),
        });
      } finally {
        unregister();
      }
      if (interrupted !== undefined) {
        await sandboxDown(stateDir);
        throw new DowntimeError(
          `${interrupted} while the sandbox was starting: stopped it again; nothing is left running`,
          ExitCode.Interrupted,
        );
      }
      if (a.json) {
        io.stdout(JSON.stringify(st) + '\n');
        return ExitCode.Ok;
      }
      const servers = Object.entries(st.servers)
        .map(([n, s]) => `${n} 127.0.0.1:${s.port} (server_id ${s.serverId}, pid ${s.pid})`)
        .join(', ');
      io.stdout(
        [
          `sandbox up (${st.topology}): endpoint ${st.endpoint.url}`,
          ...(st.versions?.description !== undefined ? [`servers run ${st.versions.description}`] : []),
          `servers: ${servers}; proxy pid ${st.proxy.pid}`,
          `password file: ${st.passwordFile}`,
          `measure it:  downtime run --target ${st.endpoint.url} --password-file ${st.passwordFile} --duration 60s`,
          `state: ${stateDir}; stop it with: downtime sandbox down${a.stateDir === DEFAULT_STATE_DIR ? '' : ` --state-dir ${a.stateDir}`}`,
          '',
        ].join('\n'),
      );
      return ExitCode.Ok;
    }
    case 'status': {
      const st = await sandboxStatus(stateDir);
      if (a.json) {
        io.stdout(JSON.stringify(st) + '\n');
      } else if (st.state === null && (st.leftover ?? []).length > 0) {
        io.stdout(
          `no sandbox in ${stateDir}, but ${st.leftover?.length} process(es) of an interrupted sandbox up still run (pid ${st.leftover?.join(', ')}); stop them with downtime sandbox down\n`,
        );
      } else if (st.state === null) {
        io.stdout(`no sandbox in ${stateDir}\n`);
      } else {
        const lines = [
          `sandbox ${st.up ? 'up' : 'DEGRADED'} (${st.state.topology}): endpoint ${st.state.endpoint.url}, active ${st.state.active}`,
        ];
        for (const c of st.components) {
          const target = c.name !== 'proxy' && st.proxyTargetPort === c.port ? ' <- endpoint' : '';
          lines.push(
            `  ${c.name.padEnd(6)} pid ${String(c.pid).padEnd(8)} port ${c.port}  ${c.running ? 'running' : 'not running'}, ${c.reachable ? 'reachable' : 'unreachable'}${target}`,
          );
        }
        io.stdout(lines.join('\n') + '\n');
      }
      if (st.state === null) return (st.leftover ?? []).length > 0 ? ExitCode.Sandbox : ExitCode.Ok;
      return st.up ? ExitCode.Ok : ExitCode.Sandbox;
    }
    case 'down': {
      const r = await sandboxDown(stateDir);
      if (!r.found) io.stdout(`no sandbox in ${stateDir}: nothing to stop\n`);
      else
        io.stdout(
          `sandbox down: stopped ${r.stopped.length === 0 ? 'nothing (already gone)' : r.stopped.join(', ')}; removed ${stateDir}\n`,
        );
      return ExitCode.Ok;
    }
    case 'reset': {
      const sb = await connectSandbox(stateDir);
      try {
        const d = await sb.reset();
        io.stdout(
          `sandbox reset (${sb.topology}): fresh servers, endpoint ${sb.endpoint.url} points at blue again (${Math.round(d.resetMs as number)} ms)\n`,
        );
      } finally {
        sb.close();
      }
      return ExitCode.Ok;
    }
    default:
      throw new DowntimeError(`sandbox takes up, status, reset or down (got "${a.action}")`, ExitCode.Usage);
  }
}

export const sandboxCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'sandbox <action>',
  describe:
    'start, inspect or stop a local sandbox: MariaDB/MySQL servers (blue source, green replica) behind an endpoint proxy',
  builder: (y: Argv) =>
    y
      .positional('action', {
        type: 'string',
        choices: ['up', 'status', 'reset', 'down'],
        describe: 'up, status, reset or down',
      })
      .option('topology', {
        type: 'string',
        choices: ['blue-green', 'single'],
        default: 'blue-green',
        describe: 'blue-green: source + replica (switchover, failover); single: one server',
      })
      .option('port', { type: 'number', describe: 'endpoint port on 127.0.0.1 (default: a free one)' })
      .option('from', {
        type: 'string',
        describe: 'the server now (blue): a server directory such as an extracted tarball, or path (default)',
      })
      .option('to', {
        type: 'string',
        describe: 'the server to upgrade to (green; what in-place-upgrade switches to); default: the same as --from',
      })
      .option('state-dir', {
        type: 'string',
        default: DEFAULT_STATE_DIR,
        describe: 'where the servers, state file and password file live',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print the state/status as JSON' })
      .example('$0 sandbox up', 'blue/green sandbox; prints the endpoint and the password file')
      .example(
        '$0 sandbox up --from /opt/mysql-8.0.40 --to /opt/mysql-8.4.3',
        'blue on MySQL 8.0, green on 8.4 replicating from it, from extracted tarballs',
      )
      .example('$0 sandbox status', 'what runs, and whether it answers')
      .example(
        '$0 sandbox reset',
        'back to the initial state after a switchover or failover (fresh servers, same ports)',
      )
      .example('$0 sandbox down', 'stop everything and remove the state directory') as Argv<never>,
  handler: async (argv: unknown) => {
    const a = argv as SandboxArgs & { 'state-dir'?: string };
    ctx.exitCode = await sandboxCli(a, ctx.io);
  },
});
