import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join, relative } from 'node:path';
import { main } from '../src/cli.js';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { makeDirs, writeFilesAtomic } from '../src/util/fs-atomic.js';
import { syntheticResults, type SyntheticSpec } from './helpers/synthetic.js';

/**
 * Bad input, one row each: the documented exit code, one line on stderr starting `downtime:` that names the
 * problem, no stack trace, and nothing written — no output file, no temp file, no directory; an existing output
 * unchanged byte for byte. Runs in-process (main + bufferIo) with its own cwd, so a stray default output
 * (reports/…) shows up too. Servers are Node net/http on 127.0.0.1: no database needed. Unwritable outputs are
 * paths under a file (/etc/passwd/x) and /proc, not chmod: tests run as root, whom permission bits do not stop.
 */
interface Row {
  /** What is wrong, as a test name. */
  name: string;
  args: string[];
  env?: Record<string, string>;
  code: ExitCode;
  message: RegExp;
  /** Text that must not appear on stderr or stdout (a password). */
  secret?: string;
  /** Upper bound on the row's wall time, ms (default 5 s). */
  withinMs?: number;
}

const SPEC: SyntheticSpec = {
  label: 'good',
  durationMs: 5_000,
  rates: { read: 10, write: 5 },
  outages: [{ op: 'write', fromMs: 2000, toMs: 2600, cls: 'read-only' }],
};

let root = '';
let cwd = '';
let closedPort = 0;
const servers: Server[] = [];
const sockets = new Set<Socket>();

/** A file under the fixture root. */
const f = (name: string): string => join(root, name);

function writeFixture(name: string, text: string | Buffer): string {
  writeFileSync(f(name), text);
  return f(name);
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

/** Every path under `dir` (relative) with its content (base64), for a before/after comparison. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out.set(relative(dir, p) + '/', 'dir');
        walk(p);
      } else {
        out.set(relative(dir, p), readFileSync(p).toString('base64'));
      }
    }
  };
  walk(dir);
  return out;
}

let httpPort = 0;
let silentPort = 0;
let garblePort = 0;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'downtime-bad-input-'));
  cwd = join(root, 'cwd');
  mkdirSync(cwd);
  const probe = createServer();
  closedPort = await new Promise<number>((r) =>
    probe.listen(0, '127.0.0.1', () => r((probe.address() as { port: number }).port)),
  );
  await new Promise((r) => probe.close(r));
  // An HTTP server: it answers a request, but a MySQL client waits for a greeting that never comes.
  httpPort = await listen(createHttpServer((_req, res) => res.end('hello\n')) as unknown as Server);
  // Accepts and never says a word.
  silentPort = await listen(createServer(() => undefined));
  // Speaks first, but not MySQL (an SSH-like banner).
  garblePort = await listen(createServer((s) => s.write('SSH-2.0-OpenSSH_9.6\r\n')));
});

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(root, { recursive: true, force: true });
});

function rows(): Row[] {
  const good = writeFixture('good.ndjson', syntheticResults(SPEC));
  const good2 = writeFixture('good2.ndjson', syntheticResults({ ...SPEC, label: 'good2' }));
  const text = writeFixture('notes.ndjson', 'this is not NDJSON\nat all\n');
  const empty = writeFixture('empty.ndjson', '');
  const truncatedHeader = writeFixture('truncated.ndjson', syntheticResults(SPEC).slice(0, 40));
  const notResults = writeFixture('other.ndjson', '{"hello":"world"}\n');
  const newer = writeFixture('newer.ndjson', syntheticResults(SPEC).replace(/"version":\d+,/, '"version":99,'));
  const lines = syntheticResults(SPEC).split('\n');
  lines.splice(3, 0, '{"type":"second", broken');
  const corrupt = writeFixture('corrupt.ndjson', lines.join('\n'));
  // Valid JSON, impossible records (#17 item 10): line 1 is the header, line 2 the first read second.
  const edited = (name: string, lineNo: number, edit: (r: Record<string, unknown>) => void): string => {
    const ls = syntheticResults(SPEC).split('\n');
    const r = JSON.parse(ls[lineNo - 1] as string) as Record<string, unknown>;
    edit(r);
    ls[lineNo - 1] = JSON.stringify(r);
    return writeFixture(name, ls.join('\n'));
  };
  const runsOk = edited('runs-ok.ndjson', 2, (r) => (r.runs = 'ok'));
  const badHist = edited('bad-hist.ndjson', 2, (r) => (r.hist = 'HISTFAAAAnot-a-histogram'));
  const noRuns = edited('no-runs.ndjson', 2, (r) => delete r.runs);
  const okAboveDue = edited('ok-above-due.ndjson', 2, (r) => (r.ok = (r.due as number) + 5));
  const noOps = edited('no-ops.ndjson', 1, (r) => delete r.ops);
  const versionString = edited('version-string.ndjson', 1, (r) => (r.version = '1'));
  const version0 = edited('version-0.ndjson', 1, (r) => (r.version = 0));
  const twice = syntheticResults(SPEC).split('\n');
  twice.splice(2, 0, twice[1] as string);
  const duplicated = writeFixture('duplicated.ndjson', twice.join('\n'));
  const gzipped = writeFixture('gzipped.ndjson', gzipSync(syntheticResults(SPEC)));
  mkdirSync(f('adir'));
  const existing = writeFixture('existing.ndjson', 'precious\n');
  const emptyPw = writeFixture('empty-pw', '');
  const pw = writeFixture('pw', 's3cret-pw\n');
  writeFixture('sbs.per-probe.ndjson', 'kept\n');
  // Report into a directory where summary.json is a directory: refused before any file is written.
  mkdirSync(f('blocked/summary.json'), { recursive: true });
  writeFixture('blocked/report.html', 'old report\n');

  const T = `mysql://app@127.0.0.1:${closedPort}/probe`;
  const run = (...extra: string[]): string[] => ['run', '--target', T, '--out', f('r.ndjson'), ...extra];
  const scenario = (name: string, body: string): string => writeFixture(name, body);
  const okScenario = (extra = '', load = ''): string =>
    `name: s\ntarget: ${T}\nduration: 10s\nout: ${f('s.ndjson')}\n${load ? `load:\n${load}\n` : ''}${extra}`;

  return [
    // ---- command line, flags
    { name: 'no command', args: [], code: ExitCode.Usage, message: /name a command/ },
    { name: 'unknown command', args: ['frobnicate'], code: ExitCode.Usage, message: /Unknown argument: frobnicate/ },
    {
      name: 'unknown flag',
      args: run('--bogus-flag'),
      code: ExitCode.Usage,
      message: /^downtime: Unknown argument: bogus-flag \(see downtime --help\)\n$/,
    },
    {
      name: 'a rate flag without its value (last)',
      args: run('--reads'),
      code: ExitCode.Usage,
      message: /^downtime: --reads is given without a value \(see downtime --help\)\n$/,
    },
    {
      name: 'a flag without its value (another flag follows)',
      args: ['run', '--target', T, '--out', '--force'],
      code: ExitCode.Usage,
      message: /--out is given without a value/,
    },
    {
      name: 'report --out without its value',
      args: ['report', good, '--out'],
      code: ExitCode.Usage,
      message: /--out is given without a value/,
    },
    {
      name: 'two bad choices at once',
      args: run('--connection', 'x', '--ssl-mode', 'y'),
      code: ExitCode.Usage,
      message: /--connection "x" is not one of .*; --ssl-mode "y" is not one of /,
    },
    { name: 'run without a target', args: ['run'], code: ExitCode.Usage, message: /--target is required/ },
    {
      name: 'DOWNTIME_DEBUG adds no stack to a usage error',
      args: ['run'],
      env: { DOWNTIME_DEBUG: '1' },
      code: ExitCode.Usage,
      message: /--target is required/,
    },

    // ---- DOWNTIME_* variables (run): the same checks as the flags, naming the variable
    {
      name: 'DOWNTIME_READS not a number',
      args: run(),
      env: { DOWNTIME_READS: 'many' },
      code: ExitCode.Usage,
      message: /^downtime: DOWNTIME_READS must be a number of probes per second, e\.g\. --reads 100\n$/,
    },
    {
      name: 'DOWNTIME_WORKERS not a number',
      args: run(),
      env: { DOWNTIME_WORKERS: 'x' },
      code: ExitCode.Usage,
      message: /^downtime: DOWNTIME_WORKERS must be a whole number/,
    },
    {
      name: 'DOWNTIME_PROGRESS not a boolean',
      args: run(),
      env: { DOWNTIME_PROGRESS: 'maybe' },
      code: ExitCode.Usage,
      message: /^downtime: DOWNTIME_PROGRESS must be true or false \(or 1, 0, yes, no\), not "maybe"\n$/,
    },
    {
      name: 'DOWNTIME_CONNECTION outside its choices',
      args: run(),
      env: { DOWNTIME_CONNECTION: 'nope' },
      code: ExitCode.Usage,
      message: /^downtime: DOWNTIME_CONNECTION "nope" is not one of pool, per-probe, /,
    },
    {
      name: 'DOWNTIME_TARGET with a password',
      args: ['run', '--out', f('r.ndjson')],
      env: { DOWNTIME_TARGET: `mysql://app:hunter2@127.0.0.1:${closedPort}/probe` },
      code: ExitCode.Usage,
      message: /^downtime: DOWNTIME_TARGET must not hold a password/,
      secret: 'hunter2',
    },
    {
      name: 'DOWNTIME_DURATION over a scenario',
      args: ['run', scenario('env-duration.yaml', okScenario())],
      env: { DOWNTIME_DURATION: '5x' },
      code: ExitCode.Usage,
      message: /^downtime: DOWNTIME_DURATION "5x" is not a duration/,
    },
    {
      name: 'DOWNTIME_READS and DOWNTIME_WRITES both 0',
      args: run(),
      env: { DOWNTIME_READS: '0', DOWNTIME_WRITES: '0' },
      code: ExitCode.Usage,
      message: /^downtime: DOWNTIME_READS and DOWNTIME_WRITES are both 0: nothing to measure/,
    },
    {
      name: 'DOWNTIME_PASSWORD is refused, not echoed',
      args: run(),
      env: { DOWNTIME_PASSWORD: 'hunter2' },
      code: ExitCode.Usage,
      message: /^downtime: DOWNTIME_PASSWORD is not read .*use MYSQL_PWD/,
      secret: 'hunter2',
    },

    // ---- target URLs
    {
      name: 'target not a URL',
      args: ['run', '--target', 'not a url', '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /is not a URL/,
    },
    {
      name: 'target with another scheme',
      args: ['run', '--target', `http://app@127.0.0.1:${closedPort}/probe`, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target must start with mysql:\/\/ \(got http:\/\/\)/,
    },
    {
      name: 'target with a password',
      args: ['run', '--target', `mysql://app:hunter2@127.0.0.1:${closedPort}/probe`, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target must not hold a password/,
      secret: 'hunter2',
    },
    {
      name: 'target port out of range',
      args: ['run', '--target', 'mysql://app@127.0.0.1:99999/probe', '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target port 99999 is not a port number \(1-65535\)/,
    },
    {
      name: 'target port 0',
      args: ['run', '--target', 'mysql://app@127.0.0.1:0/probe', '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target port 0 is not a port number \(1-65535\)/,
    },
    {
      name: 'target without a user',
      args: ['run', '--target', `mysql://127.0.0.1:${closedPort}/probe`, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target has no user; write mysql:\/\/USER@HOST:PORT\/DATABASE/,
    },
    {
      name: 'target without a database',
      args: ['run', '--target', `mysql://app@127.0.0.1:${closedPort}`, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target names no database; write mysql:\/\/USER@HOST:PORT\/DATABASE/,
    },
    {
      name: 'SQL in the database name',
      args: ['run', '--target', `mysql://app@127.0.0.1:${closedPort}/probe%60%3Bdrop`, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target database "probe`;drop" is not a plain identifier/,
    },
    {
      name: 'target with ?options',
      args: ['run', '--target', `mysql://app@127.0.0.1:${closedPort}/probe?ssl=true`, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target takes no \?options/,
    },
    {
      name: 'green target with a password',
      args: run('--green-target', `mysql://app:hunter2@127.0.0.1:${closedPort}/probe`),
      code: ExitCode.Usage,
      message: /--green-target .*remove the password/,
      secret: 'hunter2',
    },

    // ---- rates and counts
    {
      name: 'zero reads and zero writes',
      args: run('--reads', '0', '--writes', '0'),
      code: ExitCode.Usage,
      message: /--reads and --writes are both 0: nothing to measure; set at least one above 0/,
    },
    { name: 'negative writes', args: run('--writes', '-5'), code: ExitCode.Usage, message: /--writes must be ≥ 0/ },
    // ---- live metrics (--metrics-port)
    {
      name: 'a metrics port that is no port',
      args: run('--metrics-port', '70000'),
      code: ExitCode.Usage,
      message: /--metrics-port must be a TCP port from 1 to 65535 \(got 70000\)/,
    },
    {
      name: 'a metrics host without a metrics port',
      args: run('--metrics-host', '0.0.0.0'),
      code: ExitCode.Usage,
      message: /--metrics-host applies only with --metrics-port/,
    },
    {
      name: 'a metrics port that is taken',
      args: run('--metrics-port', String(httpPort)),
      code: ExitCode.Usage,
      message: /cannot serve metrics: port \d+ on 127\.0\.0\.1 is taken; choose another --metrics-port/,
    },
    // ---- several endpoints (--target NAME=URL)
    {
      name: 'an endpoint name used twice',
      args: ['run', '--target', `a=${T}`, '--target', `a=${T}`, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target name a is used twice; give each endpoint its own name/,
    },
    {
      name: 'two targets without names',
      args: ['run', '--target', T, '--target', T, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target is given 2 times: name each one, e\.g\. --target writer=mysql:/,
    },
    {
      name: 'an endpoint name that is no name',
      args: ['run', '--target', `1st=${T}`, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target name "1st" is not a name: a letter, then letters, digits, _ or -/,
    },
    {
      name: 'an endpoint URL with a password',
      args: ['run', '--target', `w=mysql://app:hunter2@127.0.0.1:${closedPort}/probe`, '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target w= .*password/,
      secret: 'hunter2',
    },
    {
      name: 'a sandbox server as an endpoint of a run without a sandbox',
      args: ['run', '--target', 'g=sandbox:green', '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--target g=sandbox:green names a sandbox's server, but this run has no sandbox/,
    },
    {
      name: 'an unknown sandbox server',
      args: ['run', '--target', 'g=sandbox:purple', '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message:
        /--target g=sandbox:purple names no sandbox server: write sandbox:endpoint, sandbox:blue or sandbox:green/,
    },
    {
      name: 'a rate for an endpoint that is not there',
      args: ['run', '--target', `w=${T}`, '--target', `r=${T}`, '--writes', 'x=0', '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--writes x=… names no endpoint \(the --target names are w, r\)/,
    },
    {
      name: 'a rate for a named endpoint, and a target without a name',
      args: run('--writes', 'reader=0'),
      code: ExitCode.Usage,
      message: /--reads\/--writes NAME=N name an endpoint, but --target names none; write --target NAME=mysql:/,
    },
    {
      name: 'an endpoint with nothing to measure',
      args: [
        'run',
        '--target',
        `w=${T}`,
        '--target',
        `r=${T}`,
        '--reads',
        'r=0',
        '--writes',
        'r=0',
        '--out',
        f('r.ndjson'),
      ],
      code: ExitCode.Usage,
      message: /endpoint r has --reads and --writes 0: nothing to measure there/,
    },
    {
      name: 'an endpoint rate that is no number',
      args: ['run', '--target', `w=${T}`, '--writes', 'w=lots', '--out', f('r.ndjson')],
      code: ExitCode.Usage,
      message: /--writes w= must be a number of probes per second/,
    },

    {
      name: 'absurd rate',
      args: run('--reads', '1e9'),
      code: ExitCode.Usage,
      message: /--reads 1000000000 is absurd: at most 100000/,
    },
    {
      name: 'rate not a number',
      args: run('--reads', 'lots'),
      code: ExitCode.Usage,
      message: /--reads must be a number/,
    },
    {
      name: 'infinite rate',
      args: run('--writes', 'Infinity'),
      code: ExitCode.Usage,
      message: /--writes must be a number/,
    },
    {
      name: 'zero workers',
      args: run('--workers', '0'),
      code: ExitCode.Usage,
      message: /--workers must be a whole number from 1 to 64/,
    },
    {
      name: 'fractional workers',
      args: run('--workers', '1.5'),
      code: ExitCode.Usage,
      message: /--workers must be a whole number/,
    },
    {
      name: 'absurd workers',
      args: run('--workers', '100000'),
      code: ExitCode.Usage,
      message: /--workers must be a whole number from 1 to 64/,
    },
    {
      name: 'zero max-in-flight',
      args: run('--max-in-flight', '0'),
      code: ExitCode.Usage,
      message: /--max-in-flight must be a whole number/,
    },
    {
      name: 'zero pool size',
      args: run('--pool-size', '0'),
      code: ExitCode.Usage,
      message: /--pool-size must be a whole number/,
    },

    // ---- durations
    {
      name: 'duration without a unit',
      args: run('--duration', '300'),
      code: ExitCode.Usage,
      message: /--duration "300" has no unit; write 300s or 300ms/,
    },
    {
      name: 'zero duration',
      args: run('--duration', '0s'),
      code: ExitCode.Usage,
      message: /--duration 0s is out of range/,
    },
    {
      name: 'absurd duration',
      args: run('--duration', '10000h'),
      code: ExitCode.Usage,
      message: /--duration 10000h is out of range/,
    },
    {
      name: 'duration in years',
      args: run('--duration', '1y'),
      code: ExitCode.Usage,
      message: /--duration "1y" is not a duration/,
    },
    {
      name: 'timeout in parsecs',
      args: run('--timeout', '2 parsecs'),
      code: ExitCode.Usage,
      message: /--timeout "2 parsecs" is not a duration/,
    },
    {
      name: 'negative timeout',
      args: run('--timeout', '-1s'),
      code: ExitCode.Usage,
      message: /^downtime: --timeout -1s: a duration must be positive; write e\.g\. --timeout 1s\n$/,
    },
    {
      name: 'negative timeout with =',
      args: run('--timeout=-1s'),
      code: ExitCode.Usage,
      message: /--timeout -1s: a duration must be positive/,
    },
    {
      name: 'negative duration',
      args: run('--duration', '-5m'),
      code: ExitCode.Usage,
      message: /--duration -5m: a duration must be positive/,
    },
    {
      name: 'negative connect timeout without a unit',
      args: run('--connect-timeout', '-100'),
      code: ExitCode.Usage,
      message: /--connect-timeout -100: a duration must be positive/,
    },
    {
      name: 'connect timeout below 10 ms',
      args: run('--connect-timeout', '1ms'),
      code: ExitCode.Usage,
      message: /--connect-timeout 1ms is out of range/,
    },
    {
      name: 'latency SLO at the probe timeout',
      args: run('--timeout', '1s', '--slow', '1s'),
      code: ExitCode.Usage,
      message: /--slow 1s is not below the probe timeout 1s: .*lower --slow or raise --timeout/,
    },
    {
      name: 'latency SLO without a unit',
      args: run('--slow', '200'),
      code: ExitCode.Usage,
      message: /--slow "200" has no unit/,
    },
    {
      name: 'negative latency SLO',
      args: run('--slow', '-200ms'),
      code: ExitCode.Usage,
      message: /--slow -200ms: a duration must be positive/,
    },
    {
      name: 'password refresh without a unit',
      args: run('--password-command', 'echo x', '--password-refresh', '5'),
      code: ExitCode.Usage,
      message: /--password-refresh "5" has no unit/,
    },
    {
      name: 'password refresh without a command',
      args: run('--password-refresh', '5m'),
      code: ExitCode.Usage,
      message: /--password-refresh applies only to --password-command/,
    },

    // ---- connection model, TLS, DNS
    {
      name: 'unknown connection model',
      args: run('--connection', 'telepathy'),
      code: ExitCode.Usage,
      message: /--connection "telepathy" is not one of pool, per-probe, pool,per-probe, per-probe,pool/,
    },
    {
      name: 'unknown ssl mode',
      args: run('--ssl-mode', 'sometimes'),
      code: ExitCode.Usage,
      message: /--ssl-mode "sometimes" is not one of disabled, preferred, required, verify-ca, verify-identity/,
    },
    {
      name: 'missing CA bundle',
      args: run('--ssl-ca', f('missing-ca.pem')),
      code: ExitCode.InputFile,
      message: /--ssl-ca .*missing-ca\.pem/,
    },
    {
      name: 'CA bundle that is not PEM',
      args: run('--ssl-ca', good),
      code: ExitCode.InputFile,
      message: /--ssl-ca .*good\.ndjson holds no PEM certificate/,
    },
    {
      name: 'DNS server not an IPv4 address',
      args: run('--dns-server', 'dns.example'),
      code: ExitCode.Usage,
      message: /--dns-server "dns\.example" is not an IPv4 address/,
    },

    // ---- probe statements
    {
      name: 'unknown placeholder in --read-sql',
      args: run('--read-sql', 'SELECT :nope'),
      code: ExitCode.Usage,
      message: /--read-sql uses unknown placeholder :nope; available: :run_id/,
    },
    {
      name: 'empty --write-sql',
      args: run('--write-sql', ''),
      code: ExitCode.Usage,
      message: /--write-sql is empty; give a SQL statement/,
    },

    // ---- SQL in identifiers
    {
      name: 'SQL in --table',
      args: run('--table', 'x;drop table y'),
      code: ExitCode.Usage,
      message: /--table "x;drop table y" is not a plain identifier/,
    },
    {
      name: 'quote in --table',
      args: run('--table', 'a`b'),
      code: ExitCode.Usage,
      message: /--table "a`b" is not a plain identifier/,
    },
    {
      name: 'empty --table',
      args: run('--table', ''),
      code: ExitCode.Usage,
      message: /--table "" is not a plain identifier/,
    },

    // ---- password sources
    {
      name: 'password file missing',
      args: run('--password-file', f('nope')),
      code: ExitCode.InputFile,
      message: /cannot read --password-file .*nope: no such file/,
    },
    {
      name: 'password file is a directory',
      args: run('--password-file', f('adir')),
      code: ExitCode.InputFile,
      message: /--password-file .*adir: it is a directory/,
    },
    {
      name: 'password file empty',
      args: run('--password-file', emptyPw),
      code: ExitCode.InputFile,
      message: /--password-file .*empty-pw is empty; put the password in it/,
    },
    {
      name: 'password command fails',
      args: run('--password-command', 'echo oops >&2; exit 3'),
      code: ExitCode.Usage,
      message: /--password-command exited with status 3/,
    },
    {
      name: 'password command prints nothing',
      args: run('--password-command', 'true'),
      code: ExitCode.Usage,
      message: /--password-command printed nothing/,
    },
    {
      name: 'password command is blank',
      args: run('--password-command', '  '),
      code: ExitCode.Usage,
      message: /--password-command is empty/,
    },
    {
      name: 'two password sources',
      args: run('--password-file', pw, '--password-command', 'echo x'),
      code: ExitCode.Usage,
      message: /two password sources; keep one/,
    },
    {
      name: 'password command printing two lines',
      args: run('--password-command', 'echo token; echo "WARNING: upgrade the CLI"'),
      code: ExitCode.Usage,
      message: /--password-command printed more than one line; it must print only the password/,
      secret: 'token',
    },
    {
      name: "scenario's password file empty",
      args: ['run', scenario('pw-file.yaml', okScenario(`password:\n  file: ${emptyPw}\n`))],
      code: ExitCode.InputFile,
      message: /password file .*empty-pw is empty/,
    },
    {
      name: "scenario's password variable unset",
      args: ['run', scenario('pw-env.yaml', okScenario('password:\n  env: DOWNTIME_TEST_UNSET_PW\n'))],
      code: ExitCode.Usage,
      message: /password\.env: DOWNTIME_TEST_UNSET_PW is not set/,
    },
    {
      name: "scenario's password variable with a line break",
      args: ['run', scenario('pw-env2.yaml', okScenario('password:\n  env: APP_PW\n'))],
      env: { APP_PW: 'first\nsecond' },
      code: ExitCode.Usage,
      message: /password\.env: APP_PW holds a line break/,
      secret: 'second',
    },
    {
      name: 'password prompt without a terminal',
      args: run('--password-prompt'),
      code: ExitCode.Usage,
      message: /--password-prompt needs a terminal/,
    },
    {
      name: 'MYSQL_PWD with a line break',
      args: run(),
      env: { MYSQL_PWD: 'abc\ndef' },
      code: ExitCode.Usage,
      message: /MYSQL_PWD holds a line break/,
      secret: 'abc',
    },
    {
      name: 'MYSQL_PWD with a NUL byte',
      args: run(),
      env: { MYSQL_PWD: 'abc\u0000def' },
      code: ExitCode.Usage,
      message: /MYSQL_PWD holds a control character/,
      secret: 'def',
    },

    // ---- output paths of run (checked before connecting: the target's port is closed, so 3 would mean too late)
    {
      name: 'run output directory missing',
      args: ['run', '--target', T, '--out', f('no/such/dir/r.ndjson')],
      code: ExitCode.Output,
      message: /output directory .*no\/such\/dir does not exist/,
    },
    {
      name: 'run output under a file',
      args: ['run', '--target', T, '--out', '/etc/passwd/x.ndjson'],
      code: ExitCode.Output,
      message: /output directory \/etc\/passwd is a file, not a directory/,
    },
    {
      name: 'run output in /proc',
      args: ['run', '--target', T, '--out', '/proc/downtime-x.ndjson'],
      code: ExitCode.Output,
      message:
        /cannot create files in \/proc: (this file system refuses them|permission denied); choose a writable --out/,
    },
    {
      name: 'run output exists, no --force',
      args: ['run', '--target', T, '--out', existing],
      code: ExitCode.Output,
      message: /existing\.ndjson already exists; .*--force/,
    },
    {
      name: 'run output is a directory',
      args: ['run', '--target', T, '--out', f('adir'), '--force'],
      code: ExitCode.Output,
      message: /adir is a directory/,
    },

    {
      name: 'run output under a file, by a scenario',
      args: [
        'run',
        scenario('out-file.yaml', okScenario().replace(`out: ${f('s.ndjson')}`, 'out: /etc/passwd/s.ndjson')),
      ],
      code: ExitCode.Output,
      message: /output directory \/etc\/passwd is a file, not a directory/,
    },
    {
      name: "scenario's report folder under a file (checked before connecting)",
      args: ['run', scenario('report-file.yaml', okScenario('report:\n  out: /etc/passwd/rep\n'))],
      code: ExitCode.Output,
      message: /cannot create directory \/etc\/passwd\/rep: \/etc\/passwd is a file, not a directory; .*--no-report/,
    },
    {
      name: "scenario's report folder in /proc (checked before connecting)",
      args: ['run', scenario('report-proc.yaml', okScenario('report:\n  out: /proc/downtime-rep/x\n'))],
      code: ExitCode.Output,
      message: /cannot create directory \/proc\/downtime-rep\/x: (this file system refuses it|permission denied)/,
    },
    {
      name: 'side by side: one of the two outputs exists',
      args: ['run', '--target', T, '--out', f('sbs.ndjson'), '--connection', 'pool,per-probe'],
      code: ExitCode.Output,
      message: /sbs\.per-probe\.ndjson already exists/,
    },
    {
      name: 'default output folder not made for a bad flag',
      args: ['run', '--target', T, '--table', 'x;y'],
      code: ExitCode.Usage,
      message: /--table "x;y" is not a plain identifier/,
    },
    {
      name: 'default output folder not made for a failing password command',
      args: ['run', '--target', T, '--password-command', 'exit 7'],
      code: ExitCode.Usage,
      message: /--password-command exited with status 7/,
    },
    {
      name: 'default output folder not made for a bad scenario',
      args: ['run', scenario('noout.yaml', `name: s\ntarget: ${T}\nduration: 10s\nthresholds:\n  - nope<1s\n`)],
      code: ExitCode.Usage,
      message: /thresholds\[0\]/,
    },

    // ---- thresholds
    {
      name: 'threshold with a doubled operator',
      args: run('--threshold', 'write_downtime<<1s'),
      code: ExitCode.Usage,
      message: /--threshold: threshold "write_downtime<<1s": the value "<1s" is not a duration/,
    },
    {
      name: 'threshold with an unknown metric',
      args: run('--threshold', 'write_dowtime<1s'),
      code: ExitCode.Usage,
      message: /unknown metric "write_dowtime"/,
    },
    {
      name: 'threshold with a bad value',
      args: run('--threshold', 'write_downtime<soon'),
      code: ExitCode.Usage,
      message: /--threshold: threshold "write_downtime<soon": the value "soon" is not a duration/,
    },
    {
      name: 'empty threshold',
      args: run('--threshold', ''),
      code: ExitCode.Usage,
      message: /--threshold takes an expression/,
    },
    {
      name: 'report threshold with = for ==',
      args: ['report', good, '--out', f('rep'), '--threshold', 'lost_writes=0'],
      code: ExitCode.Usage,
      message: /threshold "lost_writes=0" is not "metric op value" \(e\.g\. write_downtime<60s, lost_writes==0\)/,
    },
    {
      name: 'report with a latency SLO of nothing',
      args: ['report', good, '--out', f('rep'), '--slow', '0ms'],
      code: ExitCode.Usage,
      message: /--slow 0ms is out of range \(1 ms to 1 h\)/,
    },
    {
      name: 'report threshold with an unknown metric',
      args: ['report', good, '--out', f('rep'), '--threshold', 'write_dowtime<1s'],
      code: ExitCode.Usage,
      message: /unknown metric "write_dowtime"; metrics: /,
    },

    // ---- targets that are not MySQL (bounded by --connect-timeout)
    {
      name: 'closed port',
      args: run('--connect-timeout', '500ms'),
      code: ExitCode.Unreachable,
      message: new RegExp(`cannot connect to 127.0.0.1:${closedPort}: connection refused`),
    },
    {
      name: 'an HTTP server',
      args: [
        'run',
        '--target',
        `mysql://app@127.0.0.1:${httpPort}/probe`,
        '--out',
        f('r.ndjson'),
        '--connect-timeout',
        '500ms',
      ],
      code: ExitCode.Unreachable,
      message: /no MySQL handshake from 127\.0\.0\.1:\d+ within 500 ms/,
    },
    {
      name: 'a port that never speaks',
      args: [
        'run',
        '--target',
        `mysql://app@127.0.0.1:${silentPort}/probe`,
        '--out',
        f('r.ndjson'),
        '--connect-timeout',
        '500ms',
      ],
      code: ExitCode.Unreachable,
      message: /no MySQL handshake from 127\.0\.0\.1:\d+ within 500 ms/,
    },
    {
      name: 'a server speaking another protocol',
      args: [
        'run',
        '--target',
        `mysql://app@127.0.0.1:${garblePort}/probe`,
        '--out',
        f('r.ndjson'),
        '--connect-timeout',
        // 30 s: named at its first bytes, well inside the row's 5 s bound, not after the connect timeout
        '30s',
      ],
      code: ExitCode.Unreachable,
      message: /127\.0\.0\.1:\d+ is not a MySQL server: it greeted with something else \("SSH-2\.0-OpenSSH_9\.6"\)/,
    },

    // ---- scenario files
    {
      name: 'scenario missing',
      args: ['run', f('missing.yaml')],
      code: ExitCode.InputFile,
      message: /cannot read scenario .*missing\.yaml: no such file/,
    },
    {
      name: 'scenario is a directory',
      args: ['run', f('adir')],
      code: ExitCode.InputFile,
      message: /scenario .*adir is a directory; name a \.yaml or \.json file/,
    },
    {
      name: 'scenario bad YAML',
      args: ['run', scenario('bad.yaml', 'name: s\nduration: [10s\n')],
      code: ExitCode.Usage,
      message: /bad\.yaml:\d+:\d+: invalid YAML/,
    },
    {
      name: 'scenario bad JSON',
      args: ['run', scenario('bad.json', '{"name": "s", "duration": "10s"')],
      code: ExitCode.Usage,
      message: /bad\.json:\d+:\d+: invalid (YAML|JSON)/,
    },
    { name: 'scenario empty', args: ['run', scenario('empty.yaml', '')], code: ExitCode.Usage, message: /empty\.yaml/ },
    {
      name: 'scenario unknown key',
      args: ['run', scenario('typo.yaml', okScenario('duraton: 5s\n'))],
      code: ExitCode.Usage,
      message: /unknown key "duraton" \(did you mean "duration"\?\)/,
    },
    {
      name: 'scenario wrong type',
      args: ['run', scenario('type.yaml', okScenario('', '  reads: lots'))],
      code: ExitCode.Usage,
      message: /load\.reads: must be a number/,
    },
    {
      name: 'scenario duration without a unit',
      args: ['run', scenario('nounit.yaml', okScenario().replace('duration: 10s', 'duration: 300'))],
      code: ExitCode.Usage,
      message: /duration: "?300"? has no unit/,
    },
    {
      name: 'scenario step with an absurd time',
      args: ['run', scenario('absurd-at.yaml', okScenario('actions:\n  - at: 100000h\n    run: "true"\n'))],
      code: ExitCode.Usage,
      message: /actions\[0\]\.at: must be before the end of the run \(got 100000h; duration: 10s\)/,
    },
    {
      name: 'scenario action with a negative time',
      args: ['run', scenario('neg-at.yaml', okScenario('actions:\n  - at: -5s\n    run: "true"\n'))],
      code: ExitCode.Usage,
      message: /actions\[0\]\.at: "-5s" is negative; a duration must be positive, e.g. 5s/,
    },
    {
      name: 'scenario unknown step',
      args: [
        'run',
        scenario('step.yaml', 'name: s\nsandbox: single\nduration: 10s\nactions:\n  - at: 1s\n    step: explode\n'),
      ],
      code: ExitCode.Usage,
      message: /actions\[0\]\.step: unknown step "explode"; steps: in-place-upgrade/,
    },
    {
      name: 'scenario step with a target',
      args: ['run', scenario('step-target.yaml', okScenario('actions:\n  - at: 1s\n    step: restart\n'))],
      code: ExitCode.Usage,
      message: /actions\[0\]\.step: needs sandbox:/,
    },
    {
      name: 'scenario bad threshold',
      args: ['run', scenario('thr.yaml', okScenario('thresholds:\n  - write_downtime<<1s\n'))],
      code: ExitCode.Usage,
      message: /thresholds\[0\]: "write_downtime<<1s" is not <metric><op><value>/,
    },
    {
      name: 'scenario password inline',
      args: ['run', scenario('pw.yaml', okScenario('password: hunter2\n'))],
      code: ExitCode.Usage,
      message: /password/,
      secret: 'hunter2',
    },
    {
      name: 'scenario with SQL in the table',
      args: ['run', scenario('table.yaml', okScenario('', '  table: "x; drop table y"'))],
      code: ExitCode.Usage,
      message: /load\.table/,
    },
    {
      name: 'scenario unknown connection model',
      args: ['run', scenario('conn.yaml', okScenario('', '  connection: telepathy'))],
      code: ExitCode.Usage,
      message: /load\.connection/,
    },

    // ---- results files for report
    ...(
      [
        ['report', /report needs a results file, e\.g\. downtime report reports\/run\.ndjson/],
        ['compare', /compare needs two or more results files/],
        ['merge', /merge needs the results files of several load hosts/],
        ['sandbox', /sandbox needs an action: up, status, reset or down/],
      ] as const
    ).map(([command, message]) => ({
      name: `${command} without its argument`,
      args: [command],
      code: ExitCode.Usage,
      message,
    })),
    {
      name: 'report: file missing',
      args: ['report', f('missing.ndjson'), '--out', f('rep')],
      code: ExitCode.InputFile,
      message: /cannot read results file .*missing\.ndjson: no such file/,
    },
    {
      name: 'report: file is a directory',
      args: ['report', f('adir'), '--out', f('rep')],
      code: ExitCode.InputFile,
      message: /cannot read results file .*adir: it is a directory/,
    },
    {
      name: 'report: not NDJSON',
      args: ['report', text, '--out', f('rep')],
      code: ExitCode.InputFile,
      message: /notes\.ndjson is not a downtime results file/,
    },
    {
      name: 'report: empty file',
      args: ['report', empty, '--out', f('rep')],
      code: ExitCode.InputFile,
      message: /empty\.ndjson is empty/,
    },
    {
      name: 'report: truncated header',
      args: ['report', truncatedHeader, '--out', f('rep')],
      code: ExitCode.InputFile,
      message: /truncated\.ndjson is not a downtime results file/,
    },
    {
      name: 'report: JSON but not results',
      args: ['report', notResults, '--out', f('rep')],
      code: ExitCode.InputFile,
      message: /is not a downtime results file/,
    },
    {
      name: 'report: newer version',
      args: ['report', newer, '--out', f('rep')],
      code: ExitCode.InputFile,
      message: /written by a newer downtime .*upgrade downtime/,
    },
    {
      name: 'report: corrupt line',
      args: ['report', corrupt, '--out', f('rep')],
      code: ExitCode.InputFile,
      message: /corrupt\.ndjson is corrupt at line 4/,
    },
    ...(
      [
        [runsOk, /line 2: second\.runs must be an array of \[firstSeq, count, outcome\] runs, got "ok"/],
        [badHist, /line 2: second\.hist must be an HDR histogram .*, which does not decode/],
        [noRuns, /line 2: second\.runs is missing/],
        [okAboveDue, /line 2: second\.ok \(15\) is above second\.due \(10\)/],
        [duplicated, /line 3: second\.sec \d+ of read appears twice/],
        [noOps, /line 1: header\.ops is missing/],
        [
          versionString,
          /line 1: header\.version must be an integer from 1 to 3, got "1" \(not a valid results version\)/,
        ],
        [version0, /line 1: header\.version must be an integer from 1 to 3, got 0 \(not a valid results version\)/],
        [gzipped, /gzipped\.ndjson is gzip-compressed; decompress it first \(gunzip .*gzipped\.ndjson\)/],
      ] as const
    ).map(([file, message]) => ({
      name: `report: ${file.slice(root.length + 1)}`,
      args: ['report', file, '--out', f('rep')],
      code: ExitCode.InputFile,
      message,
    })),
    {
      name: 'report: out is a file',
      args: ['report', good, '--out', existing],
      code: ExitCode.Output,
      message: /existing\.ndjson is a file, not a directory/,
    },
    {
      name: 'report: out under a file',
      args: ['report', good, '--out', '/etc/passwd/x'],
      code: ExitCode.Output,
      message: /\/etc\/passwd is a file, not a directory/,
    },
    {
      name: 'report: out in /proc',
      args: ['report', good, '--out', '/proc/downtime-report/x'],
      code: ExitCode.Output,
      message: /cannot create directory \/proc\/downtime-report\/x/,
    },
    {
      name: 'report: a target name is a directory (atomic)',
      args: ['report', good, '--out', f('blocked')],
      code: ExitCode.Output,
      message: /summary\.json: it is a directory/,
    },
    {
      name: 'report: out is the results file',
      args: ['report', good, '--out', good],
      code: ExitCode.Output,
      message: /is the results file itself/,
    },

    // ---- compare
    { name: 'compare: one file', args: ['compare', good], code: ExitCode.Usage, message: /two or more results files/ },
    {
      name: 'compare: a missing file',
      args: ['compare', good, f('missing.ndjson'), '--out', f('cmp')],
      code: ExitCode.InputFile,
      message: /missing\.ndjson: no such file/,
    },
    {
      name: 'compare: not results',
      args: ['compare', good, text, '--out', f('cmp')],
      code: ExitCode.InputFile,
      message: /notes\.ndjson is not a downtime results file/,
    },
    {
      name: 'compare: newer version',
      args: ['compare', good, newer, '--out', f('cmp')],
      code: ExitCode.InputFile,
      message: /newer downtime/,
    },
    {
      name: 'compare: out under a file',
      args: ['compare', good, good2, '--out', '/etc/passwd/cmp'],
      code: ExitCode.Output,
      message: /\/etc\/passwd is a file, not a directory/,
    },

    // ---- merge
    {
      name: 'merge: one file',
      args: ['merge', good, '--out', f('m.ndjson')],
      code: ExitCode.Usage,
      message: /two or more results files/,
    },
    {
      name: 'merge: no --out',
      args: ['merge', good, good2],
      code: ExitCode.Usage,
      message: /^downtime: --out is required \(see downtime --help\)\n$/,
    },
    {
      name: 'merge: a missing file',
      args: ['merge', good, f('missing.ndjson'), '--out', f('m.ndjson')],
      code: ExitCode.InputFile,
      message: /missing\.ndjson: no such file/,
    },
    {
      name: 'merge: empty file',
      args: ['merge', good, empty, '--out', f('m.ndjson')],
      code: ExitCode.InputFile,
      message: /empty\.ndjson is empty/,
    },
    {
      name: 'merge: an impossible record (nothing written)',
      args: ['merge', good, okAboveDue, '--out', f('m.ndjson')],
      code: ExitCode.InputFile,
      message: /ok-above-due\.ndjson is invalid at line 2: second\.ok \(15\) is above second\.due/,
    },
    {
      name: 'merge: a bad histogram (nothing written)',
      args: ['merge', badHist, good2, '--out', f('m.ndjson')],
      code: ExitCode.InputFile,
      message: /bad-hist\.ndjson is invalid at line 2: second\.hist/,
    },
    {
      name: 'compare: a duplicated second',
      args: ['compare', good, duplicated, '--out', f('cmp')],
      code: ExitCode.InputFile,
      message: /duplicated\.ndjson is invalid at line 3: second\.sec \d+ of read appears twice/,
    },
    {
      name: 'merge: out exists',
      args: ['merge', good, good2, '--out', existing],
      code: ExitCode.Output,
      message: /existing\.ndjson already exists; .*--force/,
    },
    {
      name: 'merge: out directory missing',
      args: ['merge', good, good2, '--out', f('no/dir/m.ndjson')],
      code: ExitCode.Output,
      message: /output directory .*no\/dir does not exist/,
    },
    {
      name: 'merge: out is an input',
      args: ['merge', good, good2, '--out', good2, '--force'],
      code: ExitCode.Output,
      message: /is one of the inputs/,
    },
    {
      name: 'merge: out is a directory',
      args: ['merge', good, good2, '--out', f('adir'), '--force'],
      code: ExitCode.Output,
      message: /adir is a directory/,
    },
    {
      name: 'merge: out in /proc',
      args: ['merge', good, good2, '--out', '/proc/downtime-m.ndjson'],
      code: ExitCode.Output,
      message:
        /cannot create files in \/proc: (this file system refuses them|permission denied); choose a writable --out/,
    },
    {
      name: 'merge: negative skew bound',
      args: ['merge', good, good2, '--out', f('m.ndjson'), '--skew-bound', '-1'],
      code: ExitCode.Usage,
      message: /--skew-bound takes milliseconds/,
    },

    // ---- other commands' output folders (Node's recursive mkdir would hang under /proc)
    {
      name: 'sandbox state folder in /proc',
      args: ['sandbox', 'up', '--state-dir', '/proc/downtime-sb/x'],
      code: ExitCode.Output,
      message:
        /cannot create directory \/proc\/downtime-sb\/x: (this file system refuses it|permission denied); choose another --state-dir/,
    },
    {
      name: 'demo output folder in /proc',
      args: ['demo', '--quick', '--out', '/proc/downtime-demo/x'],
      code: ExitCode.Output,
      message:
        /cannot create directory \/proc\/downtime-demo\/x: (this file system refuses it|permission denied); choose another --out/,
    },
    {
      name: 'demo output folder under a file',
      args: ['demo', '--quick', '--out', '/etc/passwd/x'],
      code: ExitCode.Output,
      message: /cannot create directory \/etc\/passwd\/x: \/etc\/passwd is a file, not a directory/,
    },
  ];
}

test('bad input: documented exit code, one line naming the problem, no stack trace, nothing written', async (t) => {
  const table = rows();
  assert.ok(table.length >= 60, `${table.length} rows`);
  for (const row of table) {
    await t.test(row.name, async () => {
      const before = snapshot(root);
      const io = Object.assign(bufferIo(row.env ?? {}), { cwd });
      const t0 = Date.now();
      const code = await main(row.args, io);
      const ms = Date.now() - t0;
      const err = io.err.join('');
      const out = io.out.join('');
      const what = `${row.args.join(' ')} → ${code}: ${err}`;
      assert.equal(code, row.code, what);
      assert.match(err, /^downtime: [^\n]+\n$/, `exactly one line starting downtime: ${what}`);
      assert.match(err, row.message, what);
      assert.doesNotMatch(err, /\bat .*:\d+:\d+|internal error/, `no stack trace, no internal error: ${what}`);
      assert.equal(out, '', `nothing on stdout: ${what}`);
      if (row.secret !== undefined) assert.ok(!err.includes(row.secret) && !out.includes(row.secret), 'secret shown');
      assert.deepEqual(snapshot(root), before, `nothing written, created or changed: ${what}`);
      assert.ok(ms < (row.withinMs ?? 5000), `took ${ms} ms: ${what}`);
    });
  }
  // The paths outside the fixture directory that rows tried: nothing made there either.
  for (const p of [
    '/proc/downtime-x.ndjson',
    '/proc/downtime-report',
    '/proc/downtime-m.ndjson',
    '/proc/downtime-sb',
    '/proc/downtime-demo',
  ]) {
    assert.throws(() => statSync(p), 'nothing in /proc');
  }
});

test('writeFilesAtomic: a write failing half-way leaves neither the files nor a temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'downtime-atomic-'));
  try {
    writeFileSync(join(dir, 'a.txt'), 'old a\n');
    // The second file's temp cannot be created (its folder is missing): the first is written by then.
    assert.throws(
      () =>
        writeFilesAtomic(dir, [
          { name: 'a.txt', data: 'new a\n' },
          { name: 'missing/b.txt', data: 'b\n' },
        ]),
      (err: unknown) =>
        err instanceof DowntimeError &&
        err.exitCode === ExitCode.Output &&
        /missing\/b\.txt: no such file/.test(err.message),
    );
    assert.deepEqual(readdirSync(dir), ['a.txt'], 'no temp file left');
    assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'old a\n', 'the old file untouched');
    // And when all can be written, all are, with no temp file left.
    assert.deepEqual(
      writeFilesAtomic(join(dir, 'new/deeper'), [
        { name: 'x.txt', data: 'x' },
        { name: 'y.txt', data: 'y' },
      ]),
      [join(dir, 'new/deeper/x.txt'), join(dir, 'new/deeper/y.txt')],
    );
    assert.deepEqual(readdirSync(join(dir, 'new/deeper')).sort(), ['x.txt', 'y.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("makeDirs under /proc fails at once instead of looping (Node's recursive mkdir hangs there)", () => {
  const t0 = Date.now();
  assert.throws(
    () => makeDirs('/proc/downtime-bad-input/a/b'),
    /cannot create directory .*: (this file system refuses it|permission denied)/,
  );
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(existsSync('/proc/downtime-bad-input'), false);
});
