/**
 * Reads a small text file (a password) without ever waiting for ever: a FIFO nobody writes to (`mkfifo p`, a
 * process substitution whose command hangs) would block readFileSync until a writer came. A FIFO is read
 * without blocking, for at most `timeoutMs`: what a writer wrote and closed, or — a writer that keeps it open —
 * what it wrote by then. Regular files are read as usual.
 */
import { closeSync, constants, openSync, readFileSync, readSync, statSync } from 'node:fs';

/** How long a password FIFO is waited for. */
const FIFO_WAIT_MS = 10_000;

const SLEEP = new Int32Array(new SharedArrayBuffer(4));

/** Thrown when a FIFO gave nothing within the time (its `code` says so; callers word it). */
export class FifoSilent extends Error {
  readonly code = 'EFIFOSILENT';
  constructor(readonly waitedMs: number) {
    super(`nothing was written to the FIFO within ${waitedMs / 1000} s`);
  }
}

export function readSmallText(path: string, timeoutMs = FIFO_WAIT_MS): string {
  if (!statSync(path).isFIFO()) return readFileSync(path, 'utf8');
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(4096);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        n = -1; // a writer, nothing written yet
      }
      if (n > 0) {
        chunks.push(Buffer.from(buf.subarray(0, n)));
        continue;
      }
      // 0: no writer (none yet, or it wrote and closed); -1: a writer that has not written (more).
      if (n === 0 && chunks.length > 0) break;
      if (Date.now() >= deadline) {
        if (chunks.length > 0) break;
        throw new FifoSilent(timeoutMs);
      }
      Atomics.wait(SLEEP, 0, 0, 20);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
