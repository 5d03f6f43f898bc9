import type { Argv, CommandModule } from 'yargs';
import { finishRun, runFromArgs } from '../run/finish.js';
import { RUN_CHOICES, runEnv, withEnvNames } from '../run/env.js';
import type { RawRunArgs } from '../run/plan.js';
import type { CommandContext } from './context.js';

function runFlags<T>(y: Argv<T>) {
  // No yargs defaults here (defaultDescription only): an option left out must stay undefined, so that
  // a scenario's value is not replaced by a default nobody typed.
  return (
    y
      .option('target', {
        type: 'string',
        describe:
          'mysql://USER@HOST:PORT/DATABASE, no password in it (MYSQL_PWD, --password-file, --password-command or --password-prompt); repeat as NAME=URL to watch several endpoints side by side (a sandbox run: NAME=sandbox:endpoint|blue|green)',
      })
      // Strings, not numbers: `--writes reader=0` sets one endpoint's rate (checked in src/run/endpoints.ts).
      .option('reads', {
        type: 'string',
        defaultDescription: '100',
        describe: 'read probes per second (NAME=N: for one endpoint)',
      })
      .option('writes', {
        type: 'string',
        defaultDescription: '50',
        describe: 'write probes per second (NAME=N: for one endpoint; 0 leaves writes out)',
      })
      .option('metrics-port', {
        type: 'number',
        describe:
          'serve live metrics for Prometheus at http://127.0.0.1:PORT/metrics during the run (probes by outcome, latency, open outages)',
      })
      .option('metrics-host', {
        type: 'string',
        defaultDescription: '127.0.0.1',
        describe: 'address to serve --metrics-port on (0.0.0.0 for a pod scraped by its cluster)',
      })
      .option('duration', {
        type: 'string',
        defaultDescription: '60s',
        describe: 'how long to measure (e.g. 90s, 5m, 1h)',
      })
      .option('out', { type: 'string', describe: 'results file (default reports/run-<time>.ndjson)' })
      .option('force', { type: 'boolean', defaultDescription: 'false', describe: 'overwrite --out if it exists' })
      .option('workers', {
        type: 'number',
        describe:
          'worker threads (default: one per 8,000 pooled probes/s, at most the CPU count, half of it for a database on this machine)',
      })
      .option('connection', {
        type: 'string',
        defaultDescription: 'pool',
        choices: RUN_CHOICES.connection,
        describe:
          'pool: persistent connections like an app; per-probe: a new connection per probe; pool,per-probe: both side by side (one results file each, same start and actions)',
      })
      .option('timeout', {
        type: 'string',
        defaultDescription: '2s',
        describe: 'a probe slower than this (from its intended time) failed',
      })
      .option('connect-timeout', { type: 'string', describe: 'bound on connecting (default: --timeout)' })
      .option('slow', {
        type: 'string',
        describe:
          'latency SLO: an answer slower than this (from its intended time, below --timeout) is degraded service, reported apart from downtime',
      })
      .option('dns-server', {
        type: 'string',
        describe:
          "resolve the target's host through this DNS server (IPv4[:port]) for every new connection, answers cached for their TTL (default: the system resolver)",
      })
      .option('max-in-flight', {
        type: 'number',
        defaultDescription: '256',
        describe: 'cap on probes in flight per op; a due probe beyond it is recorded as dropped',
      })
      .option('table', {
        type: 'string',
        defaultDescription: 'downtime_probe',
        describe: "the harness's own table (created if missing)",
      })
      .option('read-sql', {
        type: 'string',
        describe: 'override the read probe (placeholders :run_id :seq :intended_ms)',
      })
      .option('write-sql', {
        type: 'string',
        describe: 'override the write probe (placeholders :run_id :seq :intended_ms)',
      })
      .option('password-file', { type: 'string', describe: 'read the password from this file' })
      .option('password-command', {
        type: 'string',
        describe: 'run this command for the password (stdout, trimmed), e.g. aws rds generate-db-auth-token …',
      })
      .option('password-refresh', {
        type: 'string',
        defaultDescription: '10m',
        describe: 'with --password-command: re-run it this often; new connections use the newest token',
      })
      .option('password-prompt', { type: 'boolean', describe: 'ask for the password on the terminal (not echoed)' })
      .option('ssl-mode', {
        type: 'string',
        defaultDescription: 'preferred (verify-ca with --ssl-ca)',
        choices: RUN_CHOICES.sslMode,
        describe: "TLS to the target, as the mysql client's --ssl-mode",
      })
      .option('ssl-ca', {
        type: 'string',
        describe: 'PEM CA bundle to verify the server with (e.g. RDS global-bundle.pem)',
      })
      .option('label', {
        type: 'string',
        describe: 'a name for this run, shown in reports (default: the scenario name)',
      })
      .option('threshold', {
        type: 'string',
        array: true,
        describe: 'pass/fail check, e.g. "write_downtime<30s"; repeatable; added to the scenario\'s',
      })
      .option('progress', {
        type: 'boolean',
        defaultDescription: 'true',
        describe: 'one line per second on stderr (--no-progress to hide)',
      })
      .option('json', {
        type: 'boolean',
        defaultDescription: 'false',
        describe:
          'print the summary (summary.json\'s object; side by side {"members": {NAME: …}}) on stdout and nothing else; other lines go to stderr',
      })
      .option('report', {
        type: 'boolean',
        defaultDescription: 'true',
        describe: 'render the report at the end (--no-report to skip)',
      })
      .option('pool-size', {
        type: 'number',
        defaultDescription: '10',
        describe:
          'pool model: connections per op per worker; a probe finding all busy waits (counted as latency); unset, raised at the start to what the rate needs',
      })
      .option('verify', {
        type: 'boolean',
        defaultDescription: 'true',
        describe: 'afterwards, look up every acknowledged write on the endpoint (--no-verify to skip)',
      })
      .option('keep', {
        type: 'boolean',
        defaultDescription: 'false',
        describe: "keep the run's rows in the probe table (default: deleted after verification)",
      })
      .option('green-target', {
        type: 'string',
        describe:
          'mysql://USER@HOST:PORT/DATABASE of green (the replica), read with the --target credentials: replication lag is measured (heartbeat written through --target, read on green every 100 ms)',
      })
      .option('from', {
        type: 'string',
        describe:
          "a sandbox scenario's server now: an image (mariadb:10.11, mysql:8.0), a server directory (/opt/mysql-8.0.40) or path (default)",
      })
      .option('to', {
        type: 'string',
        describe:
          'the server to upgrade to (green of blue/green; what in-place-upgrade switches to); default: the same as --from',
      })
  );
}

export const runCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'run [scenario]',
  describe: 'probe a database at a constant rate and record every second into a results file',
  builder: (y: Argv) =>
    runFlags(
      y.positional('scenario', {
        type: 'string',
        describe:
          'scenario file (.yaml/.json); DOWNTIME_* variables override its values, flags given on the command line override both',
      }),
    )
      .example(
        'MYSQL_PWD=… $0 run --target mysql://app@db.example:3306/probe --reads 200 --writes 50 --duration 5m --out reports/bg.ndjson',
        'five minutes of probes against db.example',
      )
      .example('$0 run scenarios/local-blue-green.yaml', 'rehearse a blue/green switchover on a local sandbox')
      .epilogue(
        'Environment: DOWNTIME_<FLAG> sets a flag that is not given, e.g. DOWNTIME_TARGET, DOWNTIME_READS, DOWNTIME_CONNECT_TIMEOUT, DOWNTIME_PROGRESS=0 (every flag but --threshold, --json and the password ones; several targets or NAME=N rates space-separated). A flag wins over its variable, a variable over the scenario. The password: MYSQL_PWD, --password-file, --password-command or --password-prompt.',
      )
      .example(
        '$0 run scenarios/local-blue-green.yaml --duration 30s --out /tmp/try.ndjson',
        'a quick rehearsal: flags override the scenario',
      ) as Argv<never>,
  handler: async (argv: unknown) => {
    const { args, envNames } = runEnv(argv as RawRunArgs, ctx.io.env);
    let outcome;
    try {
      outcome = await runFromArgs({ ...args, envNames }, ctx.io);
    } catch (err) {
      throw withEnvNames(err, envNames);
    }
    const json = (argv as { json?: boolean }).json === true;
    ctx.exitCode = await finishRun(outcome, ctx.io, {
      json,
      ...(ctx.renderPng !== undefined ? { renderPng: ctx.renderPng } : {}),
    });
  },
});
