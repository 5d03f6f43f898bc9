import { DowntimeError, ExitCode } from '../../errors.js';
import type { ControlRequest, ProxyStatus } from './proxy-control.js';
import { startRpcWorker } from './worker-rpc.js';
import { validateFault, type FaultSpec, type FaultTimes, type ProxyOptions, type ProxyTarget } from './proxy.js';

/** A worker's answer to request `id` (0: started, with its port). */
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
  const rpc = await startRpcWorker<ProxyThreadReply>(
    new URL('./proxy-worker.js', import.meta.url),
    opts,
    'the endpoint proxy',
    (r) => ({ ...(r.port !== undefined ? { started: r.port } : {}), ...(r.ok ? {} : { error: errorOf(r) }) }),
  );
  const ask = (req: ControlRequest): Promise<ProxyThreadReply> => rpc.ask(req);
  let target: ProxyTarget = { ...opts.target };
  return {
    port: rpc.started,
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
    close: () => rpc.close({ op: 'shutdown' } satisfies ControlRequest),
  };
}
