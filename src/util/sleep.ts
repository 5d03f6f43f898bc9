/** Waiting, in one place: a plain sleep, and one that does not keep the process alive. */

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after `ms`, without keeping the process alive for it (a bound on a wait, not a wait of its own). */
export function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
