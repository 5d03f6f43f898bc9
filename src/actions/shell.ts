/**
 * Shell actions (`run:` in a scenario): a command run with /bin/sh at its time during the run, its output
 * recorded line by line as `output` events, its exit status in the action's end event.
 *
 * The command runs in a process group of its own (detached), so that a timeout or the end of the run kills
 * what it started too (`sleep 60 &`, a pipeline), not only the shell: a grandchild left holding the pipes
 * would otherwise keep the run waiting.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { ActionContext, RunAction } from '../load/options.js';
import { REDACTED, scrubSecrets } from '../scenario/redact.js';
import type { CommandAction } from '../scenario/types.js';

/** Bounds on what one action may put in the results file: a chatty command must not swamp it. */
export const MAX_OUTPUT_LINES = 1000;
export const MAX_OUTPUT_BYTES = 64 * 1024;
/** After SIGTERM, a command has this long to exit before SIGKILL. */
const KILL_GRACE_MS = 2000;
/**
 * After the shell exits, how long to wait for its output pipes to close: a background child
 * (`cmd &`) may hold them open; it is killed with the group when the run ends.
 */
const PIPE_DRAIN_MS = 1000;

export interface ShellActionOptions {
  /** Environment of the command. It is passed as is: MYSQL_PWD reaches the command only if it was already there. */
  env: Record<string, string | undefined>;
  cwd: string;
  /** Wall clock (epoch ms) for event times. */
  now: () => number;
  /** The run's password, if any: every occurrence in captured output is replaced with ***. */
  password: string | undefined;
  /** Passwords that came later (a refreshed IAM token, --password-command): replaced too. */
  laterPasswords?: () => Iterable<string>;
}

type Stream = 'stdout' | 'stderr';

/** Turns a scenario's `run:` action into a RunAction. */
export function shellAction(action: CommandAction, opts: ShellActionOptions): RunAction {
  return {
    atMs: action.atMs,
    name: action.name,
    execute: (ctx) => runShell(action, opts, ctx),
  };
}

/** What the action's end event carries (besides the engine's `phase`/`ok`). */
// A type alias (not an interface) so that it is assignable to the engine's Record<string, unknown>.
export type ShellResult = {
  ok: boolean;
  command: string;
  pid: number | null;
  /** Exit status, or null when a signal ended it. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Killed because the run ended (or was interrupted) first. */
  killedAtRunEnd: boolean;
  /** Output lines recorded as events / seen in all. */
  linesRecorded: number;
  linesSeen: number;
};

function runShell(action: CommandAction, opts: ShellActionOptions, ctx: ActionContext): Promise<ShellResult> {
  const first = makeRedactor(opts.password);
  const later = opts.laterPasswords;
  const redact =
    later === undefined
      ? first
      : (t: string): string => [...later()].reduce((text, pw) => makeRedactor(pw)(text), first(t));
  const command = scrubSecrets(redact(action.command));
  return new Promise<ShellResult>((resolve, reject) => {
    if (ctx.signal.aborted) {
      const r = { pid: null, exitCode: null, signal: null, timedOut: false, killedAtRunEnd: true };
      resolve({ ok: false, command, ...r, linesRecorded: 0, linesSeen: 0 });
      return;
    }
    const child = spawn('/bin/sh', ['-c', action.command], {
      cwd: opts.cwd,
      env: opts.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let timedOut = false;
    let killedAtRunEnd = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;

    // Output may echo credentials too (`set -x`, a tool printing its command line).
    const output = new OutputRecorder(action.name, ctx, opts.now, (t) => scrubSecrets(redact(t)));
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    child.stdout.on('data', (b: Buffer) => output.add('stdout', decoders.stdout.write(b)));
    child.stderr.on('data', (b: Buffer) => output.add('stderr', decoders.stderr.write(b)));

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // The group is gone already.
      }
    };
    const terminate = (): void => {
      if (killTimer !== undefined) return;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timeoutTimer =
      action.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            terminate();
          }, action.timeoutMs);
    const onAbort = (): void => {
      // After the shell exited, this only stops a background child still holding the pipes.
      if (exit === undefined) killedAtRunEnd = true;
      terminate();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    function result(r: Omit<ShellResult, 'ok' | 'command' | 'linesRecorded' | 'linesSeen'>): ShellResult {
      return {
        ok: r.exitCode === 0 && !r.timedOut,
        command,
        ...r,
        linesRecorded: output.recorded,
        linesSeen: output.seen,
      };
    }
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      for (const s of ['stdout', 'stderr'] as const) output.add(s, decoders[s].end());
      output.flush();
      // The group may still hold a background child; it must not outlive the action.
      if (exit !== undefined) killGroup('SIGKILL');
      clearTimeout(killTimer);
      resolve(
        result({
          pid: child.pid ?? null,
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          timedOut,
          killedAtRunEnd,
        }),
      );
    };
    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      reject(new Error(`could not run the command: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, PIPE_DRAIN_MS);
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      finish();
    });
  });
}

/** Replaces the password wherever it appears. */
function makeRedactor(password: string | undefined): (text: string) => string {
  if (password === undefined || password === '') return (t) => t;
  return (t) => t.split(password).join(REDACTED);
}

/** Splits a stream into lines and records them as `output` events, within the volume bounds. */
class OutputRecorder {
  recorded = 0;
  seen = 0;
  private bytes = 0;
  private cut = false;
  private readonly partial: Record<Stream, string> = { stdout: '', stderr: '' };

  constructor(
    private readonly name: string,
    private readonly ctx: ActionContext,
    private readonly now: () => number,
    private readonly redact: (t: string) => string,
  ) {}

  add(stream: Stream, text: string): void {
    if (text === '') return;
    let buf = this.partial[stream] + text;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      this.line(stream, buf.slice(0, nl).replace(/\r$/, ''));
      buf = buf.slice(nl + 1);
    }
    // A line without an end is cut into pieces rather than held in memory without bound.
    while (buf.length > MAX_OUTPUT_BYTES) {
      this.line(stream, buf.slice(0, MAX_OUTPUT_BYTES));
      buf = buf.slice(MAX_OUTPUT_BYTES);
    }
    this.partial[stream] = buf;
  }

  flush(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s] !== '') this.line(s, this.partial[s]);
      this.partial[s] = '';
    }
  }

  private line(stream: Stream, raw: string): void {
    this.seen++;
    if (this.cut) return;
    // Redact before measuring, so the bound applies to what is stored.
    let line = this.redact(raw);
    let size = Buffer.byteLength(line) + 1;
    const roomBytes = MAX_OUTPUT_BYTES - this.bytes - 1;
    if (this.recorded < MAX_OUTPUT_LINES && size - 1 > roomBytes && roomBytes > 0) {
      // The line that crosses the bound is kept up to it, so one huge line still shows its start.
      line = Buffer.from(line).subarray(0, roomBytes).toString('utf8');
      size = Buffer.byteLength(line) + 1;
      this.record(stream, line, size);
      this.cutHere();
      return;
    }
    if (this.recorded >= MAX_OUTPUT_LINES || size > MAX_OUTPUT_BYTES - this.bytes) {
      this.cutHere();
      return;
    }
    this.record(stream, line, size);
  }

  private record(stream: Stream, line: string, size: number): void {
    this.recorded++;
    this.bytes += size;
    this.ctx.event({ atMs: this.now(), kind: 'output', name: this.name, detail: { stream, line } });
  }

  private cutHere(): void {
    this.cut = true;
    this.ctx.event({
      atMs: this.now(),
      kind: 'warning',
      name: 'output-cut',
      detail: {
        action: this.name,
        message: `output of "${this.name}" cut after ${this.recorded} lines (${this.bytes} bytes); at most ${MAX_OUTPUT_LINES} lines or ${MAX_OUTPUT_BYTES} bytes are recorded per action`,
      },
    });
  }
}
