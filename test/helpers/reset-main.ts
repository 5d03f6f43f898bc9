import { Worker } from 'node:worker_threads';
import { terminateBounded } from '../../src/util/sleep.js';

/**
 * For test/proxy-reset.test.ts, run as a process of its own: reset-worker.ts in a thread with the reset named by
 * argv[2], then terminate it (bounded) and print {failed, exited}; then process.exit(0), which a thread that
 * cannot exit holds up (the test kills this process then).
 */
const reset = process.argv[2];
const w = new Worker(new URL('./reset-worker.js', import.meta.url), { workerData: { reset } });
const { failed } = await new Promise<{ failed: number }>((resolve, reject) => {
  w.once('message', resolve);
  w.once('error', reject);
});
const exited = await terminateBounded(w, 3000);
console.log(JSON.stringify({ failed, exited }));
process.exit(0);
