/**
 * Reading files the user names without ever waiting for ever: a FIFO nobody writes to (`mkfifo p`, a process
 * substitution whose command hangs) would block open() and read() until a writer came. A FIFO is opened and
 * read without blocking; a read gives up after `silenceMs` without a byte (the writer hangs, or never came).
 * A writer that keeps it open after writing ends the text at that silence. Regular files read as usual.
 */
import { closeSync, constants, openSync, readSync, statSync } from 'node:fs';

/** How long a FIFO may stay silent: before its first byte, and between bytes. */
const FIFO_WAIT_MS = 10_000;

const SLEEP = new Int32Array(new SharedArrayBuffer(4));

/** Thrown when a FIFO gave nothing within the time (its `code` says so; callers word it). */
export class FifoSilent extends Error {
  readonly code = 'EFIFOSILENT';
  constructor(readonly waitedMs: number) {
    super(`nothing was written to the FIFO within ${waitedMs / 1000} s`);
  }
}

/** A file read chunk by chunk, synchronously; a FIFO is waited for at most `silenceMs` at a time. */
export class PatientReader {
  private readonly fd: number;
  private readonly fifo: boolean;
  private gotAny = false;

  constructor(
    path: string,
    private readonly silenceMs = FIFO_WAIT_MS,
  ) {
    this.fifo = statSync(path).isFIFO();
    this.fd = openSync(path, this.fifo ? constants.O_RDONLY | constants.O_NONBLOCK : constants.O_RDONLY);
  }

  /** Reads into `buf`; 0 at the end. */
  read(buf: Buffer): number {
    if (!this.fifo) return readSync(this.fd, buf, 0, buf.length, null);
    const deadline = Date.now() + this.silenceMs;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        n = -1; // a writer, nothing written (yet, or more)
      }
      if (n > 0) {
        this.gotAny = true;
        return n;
      }
      // 0: no writer — none yet (wait), or it wrote and closed (the end).
      if (n === 0 && this.gotAny) return 0;
      if (Date.now() >= deadline) {
        if (this.gotAny) return 0; // a writer that keeps it open: what it wrote is the text
        throw new FifoSilent(this.silenceMs);
      }
      Atomics.wait(SLEEP, 0, 0, 20);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** A small text file (a password, a CA bundle, a scenario), read whole. */
export function readSmallText(path: string, silenceMs = FIFO_WAIT_MS): string {
  const r = new PatientReader(path, silenceMs);
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (let n = r.read(buf); n > 0; n = r.read(buf)) chunks.push(Buffer.from(buf.subarray(0, n)));
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    r.close();
  }
}
