import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DowntimeError, ExitCode } from '../errors.js';
import { errnoWords } from '../util/errno.js';
import type { ResultsLine } from './types.js';

/**
 * Lines the writer keeps in memory while the file refuses them (a full disk): enough for minutes of a busy
 * run, so that space freed meanwhile loses nothing; past it, the oldest unwritten lines are given up.
 */
const MAX_UNWRITTEN_BYTES = 64 * 1024 * 1024;

/**
 * Appends results lines to a file as the run goes. The file is a journal: it must survive a kill -9, so it
 * is written in place (not to a temp name); lines reach the OS as soon as they are final (flush), and the
 * disk once a second (syncInBackground), which also covers a power cut; close() syncs.
 *
 * The file is claimed before the run connects anywhere (reserve): a lock next to it keeps a second run off
 * the same path, and without --force the path itself is created at once, so a file that appears there while
 * the run connects is never overwritten. With --force the old file stays until the run really starts
 * (commit): a run that fails to start leaves it as it was.
 *
 * Writing never throws: a refused write (ENOSPC, EIO) keeps the lines in memory, is retried at every flush,
 * and is reported once through `onError`; the run decides what to do (stop, and say so).
 */
export class ResultsWriter {
  private fd: number | null;
  private pending: string[] = [];
  /** Bytes handed to write() but refused by the file, oldest first. */
  private unwritten: Buffer[] = [];
  private unwrittenBytes = 0;
  private droppedBytes = 0;
  private failure: NodeJS.ErrnoException | undefined;
  private syncing = false;
  private committed: boolean;
  private wroteAny = false;
  /** Called once, on the first write or sync the file refuses. */
  onError: (err: NodeJS.ErrnoException) => void = () => undefined;
  readonly path: string;

  private constructor(
    path: string,
    fd: number,
    /** Where the fd's file is until commit() (a temp name with --force), or path itself. */
    private readonly openedAt: string,
    private readonly lock: OutputLock,
    /** A character device (/dev/null): written as it is, never removed. */
    private readonly device = false,
  ) {
    this.path = path;
    this.fd = fd;
    this.committed = openedAt === path;
  }

  /** Opens `path` for writing at once (reserve + commit): tests, and callers that write immediately. */
  static open(path: string, options: { overwrite?: boolean } = {}): ResultsWriter {
    const w = ResultsWriter.reserve(path, options);
    w.commit();
    return w;
  }

  /**
   * Claims `path` before anything is connected: takes its lock, and without overwrite creates the file
   * (exclusively); with overwrite, opens a temp name beside it that commit() renames into place. Refuses a
   * path another running downtime is writing, and an existing file unless overwrite.
   */
  static reserve(path: string, options: { overwrite?: boolean } = {}): ResultsWriter {
    const full = resolve(path);
    const overwrite = options.overwrite ?? false;
    assertWritableOutput(full, overwrite);
    // A device (/dev/null) is written as it is: never renamed over, and nothing to lock.
    const device = overwrite && existsSync(full) && statSync(full).isCharacterDevice();
    const lock = device ? OutputLock.none() : OutputLock.take(full);
    const openedAt = overwrite && !device ? join(dirname(full), `.${basename(full)}.tmp-${process.pid}`) : full;
    try {
      return new ResultsWriter(full, openSync(openedAt, device ? 'w' : 'wx', 0o644), openedAt, lock, device);
    } catch (err) {
      lock.release();
      const code = (err as NodeJS.ErrnoException).code;
      throw new DowntimeError(
        code === 'EEXIST'
          ? `${path} already exists (it appeared while the run was starting); choose another --out or pass --force to overwrite it`
          : `cannot create results file ${path}: ${errnoWords(err)}; choose another --out`,
        ExitCode.Output,
      );
    }
  }

  /** With --force, moves the new file over the old one: from here on the old file is gone. */
  commit(): void {
    if (this.committed || this.fd === null) return;
    try {
      renameSync(this.openedAt, this.path);
      this.committed = true;
    } catch (err) {
      this.abandon();
      throw new DowntimeError(`cannot replace ${this.path}: ${errnoWords(err)}; choose another --out`, ExitCode.Output);
    }
  }

  /**
   * A run that failed: if it never wrote a line, the file it claimed is removed (an existing one, with
   * --force, stays as it was); otherwise what it wrote is kept, as after a crash.
   */
  abandon(): void {
    if (this.fd !== null && this.wroteAny) {
      this.close();
      return;
    }
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
      if (!this.device) rmSync(this.openedAt, { force: true });
    }
    this.lock.release();
  }

  /** Queues a line; it reaches the file at the next flush(). */
  write(line: ResultsLine): void {
    this.wroteAny = true;
    this.pending.push(JSON.stringify(line) + '\n');
  }

  /** The first error the file gave, if any (the run stops on it). */
  get error(): NodeJS.ErrnoException | undefined {
    return this.failure;
  }

  /** True when every line written so far is in the file. */
  get complete(): boolean {
    return this.unwrittenBytes === 0 && this.pending.length === 0 && this.droppedBytes === 0;
  }

  /** Hands queued lines to the OS: after this, a kill -9 of the process cannot lose them. */
  flush(): void {
    if (this.fd === null) return;
    if (this.pending.length > 0) {
      const buf = Buffer.from(this.pending.join(''));
      this.pending = [];
      this.unwritten.push(buf);
      this.unwrittenBytes += buf.length;
    }
    while (this.unwritten.length > 0) {
      const buf = this.unwritten[0] as Buffer;
      let off = 0;
      try {
        // writeSync may write less than asked (a nearly full disk): the rest is written next, or kept.
        while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
      } catch (err) {
        this.unwritten[0] = buf.subarray(off);
        this.unwrittenBytes -= off;
        this.trim();
        this.fail(err as NodeJS.ErrnoException);
        return;
      }
      this.unwritten.shift();
      this.unwrittenBytes -= buf.length;
    }
  }

  /** Past the memory bound, the oldest unwritten lines are given up (counted: the file is then incomplete). */
  private trim(): void {
    while (this.unwrittenBytes > MAX_UNWRITTEN_BYTES && this.unwritten.length > 1) {
      const b = this.unwritten.shift() as Buffer;
      this.unwrittenBytes -= b.length;
      this.droppedBytes += b.length;
    }
  }

  private fail(err: NodeJS.ErrnoException): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.onError(err);
  }

  /**
   * Flushes, then has the data put on disk off the main thread (libuv's pool): a slow disk must not stall
   * the timers and sockets that share this thread (actions, the sandbox's proxy). One at a time.
   */
  syncInBackground(): void {
    if (this.fd === null) return;
    this.flush();
    if (this.syncing) return;
    this.syncing = true;
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err && !syncUnsupported(err)) this.fail(err);
    });
  }

  /** Flushes, then waits until the data is on disk. */
  sync(): void {
    if (this.fd === null) return;
    this.flush();
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      if (!syncUnsupported(err as NodeJS.ErrnoException)) this.fail(err as NodeJS.ErrnoException);
    }
  }

  /** Syncs and closes; lines the file still refuses are lost then (see `complete`). */
  close(): void {
    if (this.fd === null) return;
    this.sync();
    closeSync(this.fd);
    this.fd = null;
    this.lock.release();
  }
}

/** /dev/null, a pipe or a terminal cannot be synced (EINVAL, ENOTSUP): there is nothing to put on disk. */
function syncUnsupported(err: NodeJS.ErrnoException): boolean {
  return err.code === 'EINVAL' || err.code === 'ENOTSUP' || err.code === 'EOPNOTSUPP';
}

/**
 * `.NAME.lock` beside an output, holding `pid@hostname` of the run writing it: two runs given the same --out
 * (even with --force) would interleave their lines and spoil both files. A lock left by a process that no
 * longer runs on this host (kill -9) is taken over, with that process's temp file.
 */
export class OutputLock {
  private held = true;
  private constructor(private readonly file: string | null) {}

  /** No lock (a device such as /dev/null). */
  static none(): OutputLock {
    return new OutputLock(null);
  }

  static take(output: string): OutputLock {
    const file = lockFileOf(output);
    const me = `${process.pid}@${hostname()}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, me + '\n', { flag: 'wx', mode: 0o644 });
        return new OutputLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new DowntimeError(
            `cannot create files beside ${output}: ${errnoWords(err)}; choose a writable --out`,
            ExitCode.Output,
          );
        }
      }
      const holder = OutputLock.assertFree(output);
      // Left by a process that is gone: its temp file too.
      if (holder !== undefined)
        rmSync(join(dirname(output), `.${basename(output)}.tmp-${holder.pid}`), { force: true });
      rmSync(file, { force: true });
    }
    throw new DowntimeError(
      `${output} is being claimed by another downtime run; choose another --out`,
      ExitCode.Output,
    );
  }

  /** Refuses an output a running downtime holds; returns a stale holder (gone), if any. */
  static assertFree(output: string): { pid: number; host: string } | undefined {
    const holder = readHolder(lockFileOf(output));
    if (holder !== undefined && (holder.host !== hostname() || processRuns(holder.pid))) {
      throw new DowntimeError(
        `${output} is being written by another downtime run (pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''}); choose another --out`,
        ExitCode.Output,
      );
    }
    return holder;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.file !== null) rmSync(this.file, { force: true });
  }
}

function lockFileOf(output: string): string {
  return join(dirname(output), `.${basename(output)}.lock`);
}

function readHolder(file: string): { pid: number; host: string } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^(\d+)@(\S+)/.exec(text);
  return m ? { pid: Number(m[1]), host: m[2] as string } : undefined;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
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
  if (existsSync(path)) {
    const st = statSync(path);
    if (st.isFIFO() || st.isSocket()) {
      throw new DowntimeError(
        `${path} is a ${st.isFIFO() ? 'FIFO' : 'socket'}; --out names a regular file (written in place as the run goes)`,
        ExitCode.Output,
      );
    }
  }
  OutputLock.assertFree(path);
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
