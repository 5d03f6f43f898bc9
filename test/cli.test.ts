import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { main } from '../src/cli.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo(env);
  const code = await main(args, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('--version and --help work', async () => {
  const v = await cli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+/);
  const h = await cli(['run', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /--connection/);
});

test('bad input: one line naming the problem, a documented exit code, no stack trace', async () => {
  const port = await closedPort();
  const rows: [args: string[], code: ExitCode, message: RegExp][] = [
    [[], ExitCode.Usage, /name a command/],
    [['frobnicate'], ExitCode.Usage, /Unknown argument: frobnicate/],
    [['run', '--target', 'mysql://a@127.0.0.1/db', '--bogus-flag'], ExitCode.Usage, /Unknown argument/],
    [['run', '--target', 'not a url'], ExitCode.Usage, /is not a URL/],
    [['run'], ExitCode.Usage, /--target is required/],
    [
      ['run', '--target', 'mysql://a@127.0.0.1/db', '--reads', '0'],
      ExitCode.Usage,
      /--reads must be > 0 probes per second \(got 0\)/,
    ],
    [['run', '--target', 'mysql://a@127.0.0.1/db', '--writes', '-5'], ExitCode.Usage, /--writes must be > 0/],
    [['run', '--target', 'mysql://a@127.0.0.1/db', '--reads', '1e9'], ExitCode.Usage, /is absurd/],
    [['run', '--target', 'mysql://a@127.0.0.1/db', '--reads', 'lots'], ExitCode.Usage, /--reads must be a number/],
    [
      ['run', '--target', 'mysql://a@127.0.0.1/db', '--duration', '300'],
      ExitCode.Usage,
      /--duration "300" has no unit; write 300s or 300ms/,
    ],
    [
      ['run', '--target', 'mysql://a@127.0.0.1/db', '--timeout', '2 parsecs'],
      ExitCode.Usage,
      /--timeout "2 parsecs" is not a duration/,
    ],
    [['run', '--target', 'mysql://a@127.0.0.1/db', '--connection', 'telepathy'], ExitCode.Usage, /Invalid values/],
    [
      ['run', '--target', 'mysql://a@127.0.0.1/db', '--table', 'x;drop table y'],
      ExitCode.Usage,
      /--table "x;drop table y" is not a plain identifier/,
    ],
    [
      ['run', '--target', 'mysql://a@127.0.0.1/db', '--workers', '0'],
      ExitCode.Usage,
      /--workers must be a whole number from 1 to 64/,
    ],
    [
      ['run', '--target', 'mysql://a@127.0.0.1/db', '--password-file', '/nonexistent/pw'],
      ExitCode.InputFile,
      /cannot read --password-file \/nonexistent\/pw: no such file/,
    ],
    [
      ['run', '--target', 'mysql://a@127.0.0.1/db', '--out', '/nonexistent/dir/r.ndjson'],
      ExitCode.Output,
      /output directory \/nonexistent\/dir does not exist/,
    ],
    [
      [
        'run',
        '--target',
        `mysql://a@127.0.0.1:${port}/db`,
        '--out',
        '/tmp/downtime-cli-unreachable.ndjson',
        '--force',
        '--connect-timeout',
        '1s',
      ],
      ExitCode.Unreachable,
      new RegExp(`cannot connect to 127.0.0.1:${port}: connection refused`),
    ],
  ];
  for (const [args, code, message] of rows) {
    const r = await cli(args);
    assert.equal(r.code, code, `${args.join(' ')} → ${r.err}`);
    assert.match(r.err, message, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    assert.doesNotMatch(r.err, /\bat .*\(.*:\d+:\d+\)/, 'no stack trace');
  }
});

test('a server that is not MySQL (an HTTP-ish listener that never greets) is unreachable, bounded by the connect timeout', async () => {
  const server: Server = createServer((sock) => sock.on('data', () => sock.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const started = Date.now();
    const r = await cli([
      'run',
      '--target',
      `mysql://a@127.0.0.1:${port}/db`,
      '--connect-timeout',
      '500ms',
      '--out',
      '/tmp/downtime-cli-http.ndjson',
      '--force',
    ]);
    assert.equal(r.code, ExitCode.Unreachable, r.err);
    assert.match(r.err, /no MySQL handshake from 127.0.0.1:\d+ within 500 ms/);
    assert.ok(Date.now() - started < 10_000);
  } finally {
    server.close();
  }
});
