import type { Worker } from 'node:worker_threads';

/** Waiting, in one place: a plain sleep, and one that does not keep the process alive. */

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after `ms`, without keeping the process alive for it (a bound on a wait, not a wait of its own). */
export function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Terminates a worker thread and waits for it at most `boundMs`: a thread that does not exit (Node's handle
 * clean-up can spin for ever on a handle it marked closing without closing it) is unref'd and false returned.
 * The bound's timer keeps the event loop alive: with nothing else alive the process would go on to exit, and
 * exiting waits for every thread — for ever, for that one.
 */
export async function terminateBounded(worker: Worker, boundMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    worker.terminate().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), boundMs);
    }),
  ]);
  clearTimeout(timer);
  if (!exited) worker.unref();
  return exited;
}
