import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli.js';
import { bufferIo, type Io } from '../../src/io.js';
import type { TestServer } from './server.js';

/** The compiled CLI, for child processes. */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface CliOutput {
  code: number;
  out: string;
  err: string;
}

/** The CLI in-process against a buffer Io (by default one with an empty environment): exit code and output. */
export async function runMain(
  args: string[],
  io: Io & { out: string[]; err: string[] } = bufferIo(),
): Promise<CliOutput> {
  const code = await main(args, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

export interface CliChild {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** The exit code, or -1 when a signal ended it. */
  exited: Promise<number>;
  /** Resolves once `n` progress lines (`[ …s ]`) were printed on stderr. */
  progressed: (n: number) => Promise<void>;
  output: () => { stdout: string; stderr: string };
}

/**
 * The real CLI as a child process (for signals, exits, what other processes see), with `env` over this
 * process's environment. With `boundMs` it is killed if it outlives that (the test then fails: nothing may
 * wait forever).
 */
export function spawnCli(args: string[], opts: { env?: Record<string, string>; boundMs?: number } = {}): CliChild {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { n: number; resolve: () => void }[] = [];
  const progressLines = (): number => (stderr.match(/^\[/gm) ?? []).length;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters.splice(0)) {
      if (progressLines() >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code, sig) => resolve(sig ? -1 : (code ?? -1))));
  if (opts.boundMs !== undefined) {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.boundMs);
    void exited.finally(() => clearTimeout(timer));
  }
  return {
    child,
    exited,
    progressed: (n) =>
      progressLines() >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    output: () => ({ stdout, stderr }),
  };
}

/**
 * A short `downtime run` in-process against a test's server (2 s, 20 reads/s, 10 writes/s, no report) into
 * `out`, with `args` after these; `url` and `password` for another user. Gives the CLI output and `out`.
 */
export function shortRun(
  srv: TestServer,
  out: string,
  args: string[],
  opts: { url?: string; password?: string } = {},
): Promise<CliOutput> & { out: string } {
  const p = runMain(
    [
      'run',
      '--target',
      opts.url ?? srv.url,
      '--no-report',
      '--duration',
      '2s',
      '--reads',
      '20',
      '--writes',
      '10',
      '--out',
      out,
      ...args,
    ],
    bufferIo({ MYSQL_PWD: opts.password ?? srv.password }),
  );
  return Object.assign(p, { out });
}
