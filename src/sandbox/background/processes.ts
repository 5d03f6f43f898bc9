/** The background sandbox's processes, found again by pid and checked against their command line. */
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { sleep } from '../../util/sleep.js';

/** True if `pid` is a live (not zombie) process whose command line contains `mark`. */
export function processAlive(pid: number | null, mark: string): boolean {
  if (pid === null || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised name: Z = zombie, X = dead.
    const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (st === 'Z' || st === 'X') return false;
    // The pid may have been reused by an unrelated process since the state file was written.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mark);
  } catch {
    if (process.platform === 'linux') return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

export async function waitGone(pid: number, mark: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid, mark)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function terminate(pid: number | null, mark: string, graceMs: number): Promise<void> {
  if (pid === null || !processAlive(pid, mark)) return;
  try {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitGone(pid, mark, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitGone(pid, mark, 5000);
}

/** True if something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host: '127.0.0.1', port });
    const done = (v: boolean): void => {
      s.destroy();
      res(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** The proxy daemon's argument that names its sandbox: `--sandbox-dir DIR/` (processesUnder finds it by it). */
export const SANDBOX_DIR_ARG = '--sandbox-dir';

/**
 * Live processes (not this one) of the sandbox in `dir`: servers whose data directory is under it (and their
 * install-db), and its proxy daemon (`--sandbox-dir DIR/`). How the processes of a `sandbox up` killed before it
 * wrote its state file are found again. Linux only (/proc); elsewhere none are found.
 */
export function processesUnder(dir: string): number[] {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const ours = args.some(
      (a, i) => a.startsWith(`--datadir=${prefix}`) || (a === prefix && args[i - 1] === SANDBOX_DIR_ARG),
    );
    if (ours && processAlive(pid, prefix)) found.push(pid);
  }
  return found;
}
