import { Worker } from 'node:worker_threads';
import { DowntimeError, ExitCode } from '../errors.js';
import type { ControlRequest, ProxyStatus } from './proxy-control.js';
import { validateFault, type FaultSpec, type FaultTimes, type ProxyOptions, type ProxyTarget } from './proxy.js';

/** A worker's answer to request `id` (0: started, with its port; -1: closed). */
export interface ProxyThreadReply {
  id: number;
  ok: boolean;
  error?: string;
  exitCode?: ExitCode;
  port?: number;
  atMs?: number;
  times?: FaultTimes | null;
  [key: string]: unknown;
}

/** The endpoint proxy running in a thread of its own (proxy-worker.ts), driven by messages. */
export interface ThreadedProxy {
  readonly port: number;
  readonly target: ProxyTarget;
  setTarget(t: ProxyTarget): Promise<void>;
  refuse(): Promise<void>;
  accept(): Promise<void>;
  dropConnections(): Promise<void>;
  fault(spec: FaultSpec): Promise<{ atMs: number }>;
  clearFault(): Promise<FaultTimes | null>;
  status(): Promise<ProxyStatus>;
  close(): Promise<void>;
}

type Pending = Map<number, { resolve: (r: ProxyThreadReply) => void; reject: (e: Error) => void }>;

function errorOf(r: ProxyThreadReply): Error {
  const message = r.error ?? 'the endpoint proxy failed';
  return r.exitCode !== undefined ? new DowntimeError(message, r.exitCode) : new Error(message);
}

/**
 * Starts the sandbox's endpoint proxy in its own thread, as a real endpoint is independent of its clients:
 * the harness's main thread (results file, actions, reports) can be busy without delaying the bytes the
 * proxy carries or the faults it applies. A fault's true start and end are taken in that thread.
 */
export async function startProxyThread(opts: ProxyOptions): Promise<ThreadedProxy> {
  const worker = new Worker(new URL('./proxy-worker.js', import.meta.url), { workerData: opts });
  const pending: Pending = new Map();
  let nextId = 1;
  let failure: Error | null = null;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const rejectAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const port = await new Promise<number>((resolve, reject) => {
    worker.on('message', (r: ProxyThreadReply) => {
      if (r.id === 0) {
        if (r.ok && r.port !== undefined) resolve(r.port);
        else reject((failure = errorOf(r)));
        return;
      }
      const p = pending.get(r.id);
      pending.delete(r.id);
      if (r.ok) p?.resolve(r);
      else p?.reject(errorOf(r));
    });
    worker.once('error', (err) => {
      failure = err;
      reject(err);
      rejectAll(err);
    });
    worker.once('exit', () => {
      const err = failure ?? new Error('the endpoint proxy thread exited');
      reject(err);
      rejectAll(err);
    });
  });
  let closed = false;
  const ask = (req: ControlRequest): Promise<ProxyThreadReply> => {
    if (closed) return Promise.reject(new Error('the endpoint proxy is closed'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id });
    });
  };
  let target: ProxyTarget = { ...opts.target };
  return {
    port,
    get target() {
      return target;
    },
    async setTarget(t) {
      await ask({ op: 'setTarget', host: t.host, port: t.port });
      target = { ...t };
    },
    refuse: () => ask({ op: 'refuse' }).then(() => undefined),
    accept: () => ask({ op: 'accept' }).then(() => undefined),
    dropConnections: () => ask({ op: 'drop' }).then(() => undefined),
    async fault(spec) {
      validateFault(spec); // a bad spec is the caller's mistake: thrown here, as startProxy's proxy does
      const r = await ask({ op: 'fault', fault: spec });
      return { atMs: r.atMs as number };
    },
    clearFault: () => ask({ op: 'clearFault' }).then((r) => r.times ?? null),
    status: () => ask({ op: 'status' }).then((r) => r as unknown as ProxyStatus),
    async close() {
      if (closed) return;
      await ask({ op: 'shutdown' }).catch(() => undefined);
      closed = true;
      // Bounded: a thread that does not finish closing its sockets is stopped.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exited,
        new Promise<void>((resolve) => {
          timer = setTimeout(() => void worker.terminate().then(() => resolve()), 5000);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
