import { Worker } from 'node:worker_threads';
import { terminateBounded } from '../../util/sleep.js';

/**
 * A sandbox service running in a worker thread of its own (the DNS server, the endpoint proxy), driven by
 * numbered requests. Its worker answers request `id` with a reply carrying the same id; id 0 is its start-up
 * reply, id -1 a failure it reports on its own (a socket error).
 */
export interface RpcWorker<Rep> {
  /** What the start-up reply carried (the port the service listens on). */
  readonly started: number;
  /** Sends a request and resolves with its reply, or rejects with the error the reply carried. */
  ask(req: object): Promise<Rep>;
  /** Sends `req` (the service's own close request), then waits for the thread to exit; bounded. */
  close(req: object): Promise<void>;
}

/** How to read a reply: the start-up value, or the error it carries. */
export type ReadReply<Rep> = (r: Rep) => { started?: number; error?: Error };

/** A thread that does not exit this long after its close request is stopped. */
const CLOSE_BOUND_MS = 5000;

/** Starts the worker at `url` and resolves once it has started (rejects with its start-up error). */
export async function startRpcWorker<Rep extends { id: number }>(
  url: URL,
  workerData: unknown,
  what: string,
  read: ReadReply<Rep>,
): Promise<RpcWorker<Rep>> {
  const worker = new Worker(url, { workerData });
  const pending = new Map<number, { resolve: (r: Rep) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failure: Error | null = null;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const rejectAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const started = await new Promise<number>((resolve, reject) => {
    worker.on('message', (r: Rep) => {
      const { started: value, error } = read(r);
      if (r.id === 0) {
        if (error === undefined && value !== undefined) resolve(value);
        else reject((failure = error ?? new Error(`${what} did not start`)));
      } else if (r.id === -1) {
        failure = error ?? new Error(`${what} failed`);
        reject(failure);
      } else {
        const p = pending.get(r.id);
        pending.delete(r.id);
        if (error === undefined) p?.resolve(r);
        else p?.reject(error);
      }
    });
    worker.once('error', (err) => {
      failure = err;
      reject(err);
      rejectAll(err);
    });
    worker.once('exit', () => {
      const err = failure ?? new Error(`${what} thread exited`);
      reject(err);
      rejectAll(err);
    });
  });
  let closed = false;
  const ask = (req: object): Promise<Rep> => {
    if (closed) return Promise.reject(new Error(`${what} is closed`));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id });
    });
  };
  return {
    started,
    ask,
    async close(req) {
      if (closed) return;
      await ask(req).catch(() => undefined);
      closed = true;
      // Stopped after the bound, and waited for at most as long again: a thread that cannot exit is left behind
      // unref'd (terminateBounded) rather than holding up the caller for ever.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exited,
        new Promise<void>((resolve) => {
          timer = setTimeout(() => void terminateBounded(worker, CLOSE_BOUND_MS).then(() => resolve()), CLOSE_BOUND_MS);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
