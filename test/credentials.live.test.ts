/**
 * Password sources against a real server: a password command re-run during the run (an IAM token that
 * rotates), its failures, an interactive prompt on a real pseudo-terminal, and the password's absence
 * from the process's command line and from every artifact.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { readResults } from '../src/results/reader.js';
import { sleep } from '../src/util/sleep.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';
import { CLI_PATH, spawnCli } from './helpers/cli.js';
import { assertInvariants } from './helpers/invariants.js';

let srv: TestServer;
let dir: string;
const USER = 'iam';
const TOKEN_A = 'tokA-' + Math.random().toString(36).slice(2, 14);
const TOKEN_B = 'tokB-' + Math.random().toString(36).slice(2, 14);

before(async () => ({ srv, dir } = await serverAndDir('downtime-creds-')));

after(() => removeServerAndDir(srv, dir));

/** The user accepts exactly these passwords (MariaDB: one authentication method per password, OR-ed). */
async function accept(...passwords: string[]): Promise<void> {
  const via = passwords.map(() => 'mysql_native_password USING PASSWORD(?)').join(' OR ');
  await srv.server.rootQuery(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY 'x'`, [USER]);
  await srv.server.rootQuery(`GRANT ALL PRIVILEGES ON \`probe\`.* TO ?@'%'`, [USER]);
  await srv.server.rootQuery(`ALTER USER ?@'%' IDENTIFIED VIA ${via}`, [USER, ...passwords]);
}

const url = (): string => `mysql://${USER}@127.0.0.1:${srv.server.port}/probe`;

function allText(path: string): string {
  if (!existsSync(path)) return '';
  if (statSync(path).isDirectory())
    return readdirSync(path)
      .map((f) => allText(join(path, f)))
      .join('\n');
  return readFileSync(path).toString('latin1');
}

function assertAbsent(texts: string[], ...secrets: string[]): void {
  for (const t of texts) for (const s of secrets) assert.ok(!t.includes(s), `a secret (${s.slice(0, 5)}…) leaked`);
}

/** Waits until the results file has its header (the run has started), bounded. */
async function started(out: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(existsSync(out) && readFileSync(out, 'utf8').includes('"type":"header"'))) {
    if (Date.now() > deadline) throw new Error('the run did not start');
    await sleep(50);
  }
}

test('--password-command re-run every 1s: the token rotates on the server mid-run and per-probe connections stay ok', async () => {
  await accept(TOKEN_A);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN_A + '\n');
  const out = join(dir, 'rotate.ndjson');
  const io = bufferIo({});
  const running = main(
    ['run', '--target', url(), '--password-command', `cat '${tokenFile}'`, '--password-refresh', '1s']
      .concat(['--connection', 'per-probe', '--workers', '1', '--reads', '20', '--writes', '10'])
      .concat(['--duration', '7s', '--no-progress', '--out', out]),
    io,
  );
  await started(out);
  await sleep(1500);
  // As with RDS: a new token is issued while the old one is still valid...
  await accept(TOKEN_A, TOKEN_B);
  writeFileSync(tokenFile, TOKEN_B + '\n');
  await sleep(2500);
  // ...and later the old one stops working: from here on only a refreshed password connects.
  await accept(TOKEN_B);
  const code = await running;
  const err = io.err.join('');
  assert.equal(code, ExitCode.Ok, err);
  const r = readResults(out);
  assertInvariants(r);
  for (const op of ['read', 'write'] as const) {
    assert.ok(r.seconds[op].length >= 7);
    for (const s of r.seconds[op]) assert.equal(s.ok, s.due, `${op} second ${s.sec}: ${JSON.stringify(s.failed)}`);
  }
  assert.ok(r.events.filter((e) => e.name === 'password-refreshed').length >= 4, 'refreshed about every second');
  assert.equal(r.events.filter((e) => e.name === 'password-refresh-failed').length, 0);
  // The verification after the run connected with the newest token.
  assert.equal(r.trailer?.writes?.lost, 0);
  assert.ok((r.trailer?.writes?.acknowledged ?? 0) >= 60);
  assert.equal(r.header.scenario, undefined);
  assertAbsent([io.out.join(''), err, allText(out), allText(out.replace(/\.ndjson$/, ''))], TOKEN_A, TOKEN_B);
});

test('a refresh that fails mid-run is a warning event; the run goes on with the last good token', async () => {
  await accept(TOKEN_A);
  const tokenFile = join(dir, 'token2');
  writeFileSync(tokenFile, TOKEN_A);
  const out = join(dir, 'refresh-fails.ndjson');
  const io = bufferIo({});
  const running = main(
    ['run', '--target', url(), '--password-command', `cat '${tokenFile}'`, '--password-refresh', '1s']
      .concat(['--connection', 'per-probe', '--workers', '1', '--reads', '10', '--writes', '5'])
      .concat(['--duration', '3s', '--no-progress', '--no-report', '--out', out]),
    io,
  );
  await started(out);
  unlinkSync(tokenFile);
  const code = await running;
  const err = io.err.join('');
  assert.equal(code, ExitCode.Ok, err);
  const r = readResults(out);
  for (const s of r.seconds.read) assert.equal(s.ok, s.due);
  const warnings = r.events.filter((e) => e.name === 'password-refresh-failed');
  assert.ok(warnings.length >= 1, 'a warning event per failed refresh');
  assert.match(String(warnings[0]?.detail?.message), /^--password-command exited with status 1: cat: .*No such file/);
  assert.match(err, /downtime: warning: could not refresh the password: --password-command exited with status 1/);
  assertAbsent([err, allText(out)], TOKEN_A);
});

test('a password command that fails at start: one line, exit 2, no results file', async () => {
  const out = join(dir, 'never.ndjson');
  const io = bufferIo({});
  const code = await main(
    ['run', '--target', url(), '--password-command', 'echo "token service down" >&2; exit 3', '--out', out],
    io,
  );
  assert.equal(code, ExitCode.Usage);
  assert.equal(
    io.err.join(''),
    'downtime: --password-command exited with status 3: token service down; run it by hand to check it prints the password\n',
  );
  assert.equal(existsSync(out), false);
  const both = await main(
    ['run', '--target', url(), '--password-command', 'true', '--password-file', '/x', '--out', out],
    bufferIo({}),
  );
  assert.equal(both, ExitCode.Usage);
  const refreshAlone = bufferIo({});
  assert.equal(
    await main(['run', '--target', url(), '--password-refresh', '1m', '--out', out], refreshAlone),
    ExitCode.Usage,
  );
  assert.match(refreshAlone.err.join(''), /--password-refresh applies only to --password-command/);
});

test('a password in --target is refused (it would be in ps and /proc/PID/cmdline)', async () => {
  const io = bufferIo({});
  const secret = 'in-url-' + TOKEN_A;
  const code = await main(['run', '--target', `mysql://${USER}:${secret}@127.0.0.1:${srv.server.port}/probe`], io);
  assert.equal(code, ExitCode.Usage);
  assert.match(io.err.join(''), /^downtime: --target must not hold a password: .*MYSQL_PWD, --password-file/);
  assertAbsent([io.err.join(''), io.out.join('')], secret);
});

test('--password-prompt without a terminal is a usage error', async () => {
  const io = bufferIo({});
  const code = await main(['run', '--target', url(), '--password-prompt', '--out', join(dir, 'np.ndjson')], io);
  assert.equal(code, ExitCode.Usage);
  assert.equal(io.err.join('').trim().split('\n').length, 1);
  assert.match(io.err.join(''), /--password-prompt needs a terminal, but stdin is not one/);
});

/**
 * Runs the CLI on a pseudo-terminal (python3's pty module: stdin, stdout and stderr are the terminal),
 * types `typed` once the prompt shows, and returns everything the terminal showed and the exit code.
 */
function onPty(args: string[], typed: string): Promise<{ code: number; screen: string }> {
  const driver = `
import os, pty, sys, select, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
screen = b''
sent = False
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    if not sent and b'Password' in screen:
        os.write(fd, sys.stdin.buffer.read() + b'\\r')
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(screen)
sys.exit(os.waitstatus_to_exitcode(status))
`;
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', driver, process.execPath, CLI_PATH, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString('latin1')));
    child.stdin.end(typed);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, screen }));
  });
}

test('--password-prompt on a real terminal: reads the password without echoing it', async () => {
  await accept(TOKEN_B);
  const out = join(dir, 'prompt.ndjson');
  const { code, screen } = await onPty(
    ['run', '--target', url(), '--password-prompt', '--duration', '1s', '--reads', '10', '--writes', '5'].concat([
      '--workers',
      '1',
      '--no-progress',
      '--no-report',
      '--out',
      out,
    ]),
    TOKEN_B,
  );
  assert.equal(code, ExitCode.Ok, screen);
  assert.match(screen, /Password \(not shown\): /);
  assert.ok(!screen.includes(TOKEN_B), 'the typed password was echoed');
  const r = readResults(out);
  for (const s of r.seconds.read) assert.equal(s.ok, s.due);
  assertAbsent([allText(out)], TOKEN_B);
});

test("the password is in no process's command line: the harness, its threads and its children", async () => {
  await accept(TOKEN_A);
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, TOKEN_A + '\n');
  const out = join(dir, 'proc.ndjson');
  // A password command (re-run every second, so a child shell is often alive) and MYSQL_PWD unset.
  const { child, exited, output } = spawnCli(
    ['run', '--target', url(), '--password-command', `sleep 0.2; cat '${pwFile}'`, '--password-refresh', '1s'].concat([
      '--duration',
      '4s',
      '--workers',
      '2',
      '--reads',
      '20',
      '--writes',
      '10',
      '--no-report',
      '--out',
      out,
    ]),
    { env: { MYSQL_PWD: '' } },
  );
  const pid = child.pid as number;
  await started(out);
  const seen = new Set<string>();
  let samples = 0;
  let threads = 0;
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    // The harness, every thread of it (workers share the process's command line, but read each), and
    // every descendant process (the password command's shell and cat).
    const pids = [pid, ...descendants(pid)];
    for (const p of pids) {
      try {
        const tasks = readdirSync(`/proc/${p}/task`);
        if (p === pid) threads = Math.max(threads, tasks.length);
        for (const t of tasks) {
          const cmdline = readFileSync(`/proc/${p}/task/${t}/cmdline`).toString('latin1');
          const comm = readFileSync(`/proc/${p}/task/${t}/comm`).toString('latin1');
          seen.add(cmdline.replace(/\0/g, ' ').trim());
          assert.ok(!cmdline.includes(TOKEN_A) && !comm.includes(TOKEN_A), `password in /proc/${p}/task/${t}`);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH')
          throw err;
      }
    }
    samples++;
    await sleep(20);
  }
  const code = await exited;
  const { stdout, stderr } = output();
  assert.equal(code, ExitCode.Ok, stderr);
  assert.ok(samples > 20 && threads >= 3, `${samples} samples, ${threads} threads`);
  assert.ok(
    [...seen].some((c) => c.includes('sleep 0.2; cat')),
    'a password command child was seen',
  );
  assertAbsent([stdout, stderr, allText(out)], TOKEN_A);
});

function descendants(pid: number): number[] {
  const out: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const p of frontier) {
      let kids = '';
      try {
        for (const t of readdirSync(`/proc/${p}/task`))
          kids += ' ' + readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.trim().split(/\s+/).filter(Boolean)) next.push(Number(k));
    }
    out.push(...next);
    frontier = next;
  }
  return out;
}

test('a scenario password.command with refresh: a refreshed token printed by a shell action is scrubbed too', async () => {
  await accept(TOKEN_A, TOKEN_B);
  const tokenFile = join(dir, 'token3');
  writeFileSync(tokenFile, TOKEN_A);
  const scenario = join(dir, 'iam.yaml');
  writeFileSync(
    scenario,
    [
      'name: iam',
      `target: ${url()}`,
      `password: { command: "cat '${tokenFile}'", refresh: 1s }`,
      'duration: 4s',
      'load: { reads: 10, writes: 5, workers: 1, connection: per-probe }',
      'actions:',
      `  - { at: 2500ms, name: echo-token, run: "cat '${tokenFile}'; echo; echo done" }`,
      'report: { enabled: false }',
      '',
    ].join('\n'),
  );
  const out = join(dir, 'iam.ndjson');
  const io = bufferIo({});
  const running = main(['run', scenario, '--no-progress', '--out', out], io);
  await started(out);
  writeFileSync(tokenFile, TOKEN_B);
  const code = await running;
  assert.equal(code, ExitCode.Ok, io.err.join(''));
  const r = readResults(out);
  const lines = r.events.filter((e) => e.kind === 'output').map((e) => String(e.detail?.line));
  assert.deepEqual(lines, ['***', 'done']);
  assert.ok(r.events.some((e) => e.name === 'password-refreshed'));
  assertAbsent([io.out.join(''), io.err.join(''), allText(out)], TOKEN_A, TOKEN_B);
});
