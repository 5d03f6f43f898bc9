import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DowntimeError, ExitCode } from '../errors.js';
import { errnoWords } from './errno.js';

/**
 * Outputs (reports, merged files) are written to a temporary name in their own directory and renamed into
 * place at the end: a failure or a kill leaves the old file or none, never a half-written one. The run's
 * results file is the exception: it is a journal written in place (results/writer.ts).
 */

/**
 * `mkdir -p` that returns the directories it created (outermost first). Not Node's `{ recursive: true }`:
 * under /proc, where mkdir fails with ENOENT although the parent exists, that loops forever.
 */
export function makeDirs(dir: string, hint = 'pass a writable --out'): string[] {
  const missing: string[] = [];
  let d = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(d).isDirectory();
    } catch (err) {
      // ENOTDIR: a part of the path is a file; walking up finds which, and says so.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new DowntimeError(`cannot create directory ${dir}: ${errnoWords(err)}; ${hint}`, ExitCode.Output);
      }
      missing.push(d);
      const parent = dirname(d);
      if (parent === d) break;
      d = parent;
      continue;
    }
    if (!isDir) {
      throw new DowntimeError(
        `cannot create directory ${dir}: ${d} is a file, not a directory; ${hint}`,
        ExitCode.Output,
      );
    }
    break;
  }
  const created: string[] = [];
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (err) {
      removeDirs(created);
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'this file system refuses it' : errnoWords(err);
      throw new DowntimeError(`cannot create directory ${dir}: ${why}; ${hint}`, ExitCode.Output);
    }
    created.push(m);
  }
  return created;
}

/** Removes directories made by makeDirs (innermost first), if still empty; never throws. */
function removeDirs(created: string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // not empty or gone: left as it is
    }
  }
}

function tmpName(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Whether a process of this host is alive (EPERM: alive, someone else's). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Temp files of these targets left by a writer that was killed (kill -9, a crash, a full disk it could not clean
 * up after): `<name>.tmp-<pid>-<random>` whose pid is no longer alive. A live pid's are left: another `report`
 * may be writing the same directory right now. Only names this call writes are considered; never throws.
 */
function sweepStaleTemps(dir: string, targets: readonly string[]): void {
  const names = new Set(targets.filter((t) => dirname(t) === dir).map((t) => basename(t)));
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const m = /^(.+)\.tmp-(\d+)-[a-z0-9]{1,8}$/.exec(e);
    if (m === null || !names.has(m[1] as string)) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      rmSync(join(dir, e), { force: true });
    } catch {
      // left as it is: the write below says what is wrong with the directory, if anything
    }
  }
}

/** Writes one file atomically (temp name in the same directory, then rename). Throws a one-line Output error. */
export function writeFileAtomic(
  path: string,
  data: string | Buffer,
  opts: { mode?: number; hint?: string } = {},
): void {
  writeFilesAtomic(dirname(path), [{ name: path, data }], opts);
}

/**
 * Writes a set of files atomically as far as a file system allows: every file goes to a temp name first, and
 * only once all were written are they renamed into place. A target that is a directory is refused before anything
 * is written; on any failure the temp files (and directories this call created) are removed. `name` is
 * relative to `dir` (or absolute). Temp files of these names that a killed writer left are removed first;
 * `stale` names files of the same set that this write does not have: they are removed once it is in place.
 * Returns the final paths.
 */
export function writeFilesAtomic(
  dir: string,
  files: { name: string; data: string | Buffer }[],
  opts: { mode?: number; hint?: string; stale?: string[] } = {},
): string[] {
  const hint = opts.hint ?? 'pass a writable --out';
  const targets = files.map((f) => resolve(dir, f.name));
  for (const t of targets) {
    let isDir = false;
    try {
      isDir = lstatSync(t).isDirectory();
    } catch {
      // absent: the usual case
    }
    if (isDir) throw new DowntimeError(`cannot write ${t}: it is a directory; remove it or ${hint}`, ExitCode.Output);
  }
  const created = makeDirs(dir, hint);
  const stale = (opts.stale ?? []).map((n) => resolve(dir, n)).filter((s) => !targets.includes(s));
  sweepStaleTemps(resolve(dir), [...targets, ...stale]);
  const temps: string[] = [];
  let renamed = 0;
  let at = 0;
  try {
    for (; at < files.length; at++) {
      const tmp = tmpName(targets[at] as string);
      temps.push(tmp);
      writeFileSync(tmp, (files[at] as { data: string | Buffer }).data, { mode: opts.mode ?? 0o644, flag: 'wx' });
    }
    for (at = 0; at < targets.length; at++, renamed++) renameSync(temps[at] as string, targets[at] as string);
  } catch (err) {
    for (const t of temps.slice(renamed)) rmSync(t, { force: true });
    if (renamed === 0) removeDirs(created);
    throw new DowntimeError(`cannot write ${targets[at] ?? dir}: ${errnoWords(err)}; ${hint}`, ExitCode.Output);
  }
  // Files of an earlier set that this one does not have (a report's lag.png when lag was not measured this
  // time): removed, so that the directory never mixes two sets.
  for (const s of stale) {
    try {
      rmSync(s, { force: true });
    } catch {
      // a directory or not ours to remove: left
    }
  }
  return targets;
}

/**
 * Checks, without creating it, that directory `dir` exists or could be made: its nearest existing ancestor is a
 * directory that takes new entries (tried with a probe file, removed at once — as root, permission bits say
 * nothing, and /proc or a read-only mount refuse only when asked). For outputs written at the end of a long run.
 */
export function assertCanMakeDir(dir: string, hint: string): void {
  let d = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(d).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = dirname(d);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === d) {
        throw new DowntimeError(`cannot create directory ${dir}: ${errnoWords(err)}; ${hint}`, ExitCode.Output);
      }
      d = parent;
      continue;
    }
    if (!isDir) {
      throw new DowntimeError(
        `cannot create directory ${dir}: ${d} is a file, not a directory; ${hint}`,
        ExitCode.Output,
      );
    }
    break;
  }
  const probe = join(d, `.downtime-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'this file system refuses it' : errnoWords(err);
    throw new DowntimeError(`cannot create directory ${dir}: ${why}; ${hint}`, ExitCode.Output);
  }
  rmSync(probe, { force: true });
}
