import { closeSync, existsSync, fdatasyncSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DowntimeError, ExitCode } from '../errors.js';
import type { ResultsLine } from './types.js';

/**
 * Appends results lines to a file as the run goes. The file is a journal: it must survive a
 * kill -9, so it is written in place (not to a temp name); lines reach the OS as soon as they are
 * final (flush), and the disk once a second (sync), which also covers a power cut.
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

/** Checks that `path`'s directory exists and that `path` is not an existing file (unless overwrite). */
export function assertWritableOutput(path: string, overwrite: boolean): void {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DowntimeError(
      `output directory ${dir} does not exist; create it or choose another --out`,
      ExitCode.Output,
    );
  }
  if (!overwrite && existsSync(path)) {
    throw new DowntimeError(
      `${path} already exists; choose another --out or pass --force to overwrite it`,
      ExitCode.Output,
    );
  }
}
