import { closeSync, existsSync, fdatasync, fdatasyncSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DowntimeError, ExitCode } from '../errors.js';
import { errnoWords } from '../util/fs-atomic.js';
import type { ResultsLine } from './types.js';

/**
 * Appends results lines to a file as the run goes. The file is a journal: it must survive a
 * kill -9, so it is written in place (not to a temp name); lines reach the OS as soon as they are
 * final (flush), and the disk once a second (syncInBackground), which also covers a power cut; close() syncs.
 */
export class ResultsWriter {
  private fd: number | null;
  private pending: string[] = [];
  readonly path: string;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }

  /** Opens `path` for writing. Refuses to overwrite an existing file unless `overwrite`. */
  static open(path: string, options: { overwrite?: boolean } = {}): ResultsWriter {
    const full = resolve(path);
    assertWritableOutput(full, options.overwrite ?? false);
    try {
      return new ResultsWriter(full, openSync(full, options.overwrite ? 'w' : 'wx', 0o644));
    } catch (err) {
      throw new DowntimeError(
        `cannot create results file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; choose another --out`,
        ExitCode.Output,
      );
    }
  }

  /** Queues a line; it reaches the file at the next flush(). */
  write(line: ResultsLine): void {
    this.pending.push(JSON.stringify(line) + '\n');
  }

  /** Hands queued lines to the OS: after this, a kill -9 of the process cannot lose them. */
  flush(): void {
    if (this.fd === null || this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    writeSync(this.fd, text);
  }

  private syncing = false;

  /**
   * Flushes, then has the data put on disk off the main thread (libuv's pool): a slow disk must not stall
   * the timers and sockets that share this thread (actions, the sandbox's proxy). One at a time.
   */
  syncInBackground(): void {
    if (this.fd === null) return;
    this.flush();
    if (this.syncing) return;
    this.syncing = true;
    fdatasync(this.fd, () => (this.syncing = false));
  }

  /** Flushes, then waits until the data is on disk. */
  sync(): void {
    if (this.fd === null) return;
    this.flush();
    fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    this.sync();
    closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Checks, before anything is connected or written, that `path` can be created: its directory exists and takes
 * new files (tried with a probe file, removed at once: as root, permission bits say nothing, and /proc or a
 * read-only mount refuse files only when asked), and `path` is not a directory, nor an existing file (unless
 * overwrite).
 */
export function assertWritableOutput(path: string, overwrite: boolean): void {
  const dir = dirname(path);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch (err) {
    const notDir = (err as NodeJS.ErrnoException).code === 'ENOTDIR';
    throw new DowntimeError(
      notDir
        ? `output directory ${dir} is not a directory (a part of it is a file); choose another --out`
        : `output directory ${dir} does not exist; create it or choose another --out`,
      ExitCode.Output,
    );
  }
  if (!dirStat.isDirectory()) {
    throw new DowntimeError(
      `output directory ${dir} is a file, not a directory; choose another --out`,
      ExitCode.Output,
    );
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new DowntimeError(
      `${path} is a directory; --out names a file, e.g. ${join(path, 'run.ndjson')}`,
      ExitCode.Output,
    );
  }
  if (!overwrite && existsSync(path)) {
    throw new DowntimeError(
      `${path} already exists; choose another --out or pass --force to overwrite it`,
      ExitCode.Output,
    );
  }
  const probe = join(dir, `.downtime-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
  } catch (err) {
    throw new DowntimeError(
      `cannot create files in ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'this file system refuses them' : errnoWords(err)}; choose a writable --out`,
      ExitCode.Output,
    );
  }
  rmSync(probe, { force: true });
}
