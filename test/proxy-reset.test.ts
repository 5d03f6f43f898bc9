import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/**
 * The endpoint proxy resets its clients under a `reset` fault. Node's resetAndDestroy() on a socket whose write
 * side was just ended (the proxy passes a server's FIN on with end()) fails with EINVAL, and Node then marks the
 * handle closing without closing it: the thread can never exit (its clean-up spins at 100 % CPU; a benchmark
 * hung 20 min on the proxy's thread), and neither can the process — process.exit() waits for the thread. The
 * proxy's resetSocket() destroys those instead. Each case runs in a child process (a stuck one is killed).
 */
const MAIN = new URL('./helpers/reset-main.js', import.meta.url).pathname;

async function run(reset: 'proxy' | 'node'): Promise<{ failed: number; exited: boolean; processExited: boolean }> {
  const child = spawn(process.execPath, [MAIN, reset], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    // Printed: it now exits at once, or never (then killed a second later).
    clearTimeout(timer);
    timer = setTimeout(() => child.kill('SIGKILL'), 1000);
  });
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const r = JSON.parse(out.trim().split('\n')[0] ?? '{}') as { failed: number; exited: boolean };
  return { ...r, processExited: code === 0 };
}

test("the proxy's reset of an ended socket leaves a thread, and a process, that exit", async () => {
  const r = await run('proxy');
  assert.deepEqual(r, { failed: 0, exited: true, processExited: true });
});

test("Node's own resetAndDestroy() there leaves a thread that cannot exit (why resetSocket avoids it)", async (t) => {
  const r = await run('node');
  // If a future Node resets ended sockets cleanly, the guard in resetSocket() is no longer needed: this says so.
  if (r.failed === 0 && r.exited) return t.skip('this Node resets ended sockets and its threads exit');
  assert.ok(r.failed > 0, 'resets failed (EINVAL)');
  assert.equal(r.exited, false, 'the thread did not exit within 3 s of terminate()');
  assert.equal(r.processExited, false, 'process.exit() waited for it until the process was killed');
});
