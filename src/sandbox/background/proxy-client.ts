import { createConnection } from 'node:net';
import { DowntimeError, ExitCode } from '../../errors.js';
import type { ControlRequest, ProxyStatus } from '../endpoint/proxy-control.js';
import type { FaultSpec, FaultTimes, ProxyTarget } from '../endpoint/proxy.js';
import type { ProxyControl } from '../topology/types.js';

/** Talks to the proxy daemon over its control socket, one JSON line each way. */
export class ProxyClient implements ProxyControl {
  constructor(
    readonly port: number,
    private readonly control: string,
  ) {}
  request<T extends object>(req: ControlRequest, timeoutMs = 5000): Promise<T> {
    return new Promise((res, rej) => {
      const sock = createConnection(this.control);
      let buf = '';
      const fail = (msg: string): void => {
        sock.destroy();
        rej(
          new DowntimeError(
            `the sandbox proxy did not answer (${msg}); is the sandbox up? (downtime sandbox status)`,
            ExitCode.Sandbox,
          ),
        );
      };
      sock.setTimeout(timeoutMs, () => fail('timeout'));
      sock.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
      sock.on('data', (d) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        sock.destroy();
        const answer = JSON.parse(buf.slice(0, nl)) as { ok: boolean; error?: string } & T;
        if (answer.ok) res(answer);
        else rej(new DowntimeError(`the sandbox proxy refused ${req.op}: ${answer.error ?? '?'}`, ExitCode.Sandbox));
      });
      sock.write(JSON.stringify(req) + '\n');
    });
  }
  async setTarget(t: ProxyTarget): Promise<void> {
    await this.request({ op: 'setTarget', port: t.port });
  }
  async refuse(): Promise<void> {
    await this.request({ op: 'refuse' });
  }
  async accept(): Promise<void> {
    await this.request({ op: 'accept' });
  }
  async dropConnections(): Promise<void> {
    await this.request({ op: 'drop' });
  }
  async fault(spec: FaultSpec): Promise<{ atMs: number }> {
    const a = await this.request<{ atMs: number }>({ op: 'fault', fault: spec });
    return { atMs: a.atMs };
  }
  async clearFault(): Promise<FaultTimes | null> {
    return (await this.request<{ times: FaultTimes | null }>({ op: 'clearFault' })).times;
  }
  status(): Promise<ProxyStatus> {
    return this.request<ProxyStatus>({ op: 'status' }, 2000);
  }
}
