/**
 * All I/O with the outside world goes through one object, so commands can run in-process
 * in tests against buffers (k6's cmd/state). Nothing deep in the code calls console.* or process.exit.
 */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Wall clock, epoch ms (fractional). */
  now: () => number;
  cwd: string;
  /** Registers a handler for SIGINT/SIGTERM; returns an unregister function. */
  onSignal: (handler: (signal: 'SIGINT' | 'SIGTERM') => void) => () => void;
  /** Whether stdin is an interactive terminal (for password prompts). */
  isInteractive: boolean;
  /** The terminal's width when stdout is one (help wraps to it); undefined for a pipe or a file. */
  columns?: number;
}

/** When this thread began (epoch ms): fixed, and its getter builds a new number for every call. */
const TIME_ORIGIN_MS = performance.timeOrigin;

/** Epoch milliseconds from the monotonic clock (a worker thread has its own origin, read in its own copy). */
export function wallClockMs(): number {
  return TIME_ORIGIN_MS + performance.now();
}

export function processIo(): Io {
  // `downtime report x | head`: a reader that goes away is not an error worth a crash.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    now: wallClockMs,
    cwd: process.cwd(),
    onSignal: (handler) => {
      const onInt = (): void => handler('SIGINT');
      const onTerm = (): void => handler('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      return () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      };
    },
    isInteractive: Boolean(process.stdin.isTTY),
    ...(process.stdout.isTTY ? { columns: process.stdout.columns } : {}),
  };
}

/** An Io that records output, for tests. */
export function bufferIo(env: Record<string, string | undefined> = {}): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env,
    now: wallClockMs,
    cwd: process.cwd(),
    onSignal: () => () => undefined,
    isInteractive: false,
  };
}
