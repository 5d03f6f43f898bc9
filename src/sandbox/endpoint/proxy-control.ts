/**
 * The endpoint proxy's control requests, shared by the two places a proxy runs apart from the code that
 * drives it: the detached sandbox's proxy process (proxy-daemon.ts, over a unix socket) and an in-process
 * sandbox's proxy thread (proxy-thread.ts, over worker messages).
 */
import type { EndpointProxy, FaultSpec, FaultTimes } from './proxy.js';

export interface ControlRequest {
  op: 'setTarget' | 'refuse' | 'accept' | 'drop' | 'status' | 'shutdown' | 'fault' | 'clearFault';
  port?: number;
  /** setTarget: a loopback address (default 127.0.0.1). */
  host?: string;
  fault?: FaultSpec;
}

export interface ProxyStatus {
  port: number;
  targetPort: number;
  accepting: boolean;
  connections: number;
  pid: number;
  /** The fault in force, if any. */
  fault: FaultTimes | null;
}

/** Carries out one request; throws on a bad one (the caller answers {ok: false, error}). */
export async function handle(
  proxy: EndpointProxy,
  req: ControlRequest,
  shutdown: () => void,
  pid: number = process.pid,
): Promise<object> {
  switch (req.op) {
    case 'setTarget':
      if (!Number.isInteger(req.port)) throw new Error('setTarget needs an integer port');
      if (req.host !== undefined && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(req.host)) {
        throw new Error(`setTarget host must be a loopback address (got ${req.host})`);
      }
      proxy.setTarget({ host: req.host ?? '127.0.0.1', port: req.port as number });
      return {};
    case 'refuse':
      await proxy.refuse();
      return {};
    case 'accept':
      await proxy.accept();
      return {};
    case 'drop':
      proxy.dropConnections();
      return {};
    case 'status': {
      const s: ProxyStatus = {
        port: proxy.port,
        targetPort: proxy.target.port,
        accepting: proxy.isAccepting(),
        connections: proxy.connectionCount(),
        pid,
        fault: proxy.activeFault(),
      };
      return s;
    }
    case 'fault': {
      if (typeof req.fault !== 'object' || req.fault === null) throw new Error('fault needs a fault object');
      const h = await proxy.fault(req.fault);
      return { atMs: h.atMs };
    }
    case 'clearFault':
      return { times: await proxy.clearFault() };
    case 'shutdown':
      setImmediate(shutdown);
      return {};
    default:
      throw new Error(`unknown op ${String((req as { op: unknown }).op)}`);
  }
}
