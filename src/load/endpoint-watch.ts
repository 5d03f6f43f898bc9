import { isIP } from 'node:net';
import { oneLine } from '../errors.js';
import { timeOfDay } from '../util/time.js';
import type { Op } from '../results/types.js';
import { resolveNow, resolverFor } from './resolve.js';
import type { EventInput } from '../results/types.js';

/** How often the endpoint's name is resolved during a run. */
const WATCH_EVERY_MS = 250;
/** Caps: a name that keeps changing its answer (a rotating endpoint) must not flood the results file. */
const MAX_EVENTS = 1000;
const MAX_STALE_WARNINGS = 20;
/** TTL assumed for the system resolver, which does not report one (RDS endpoints' TTL is 5 s). */
const SYSTEM_TTL_S = 5;

/**
 * Where the endpoint's name points, and where the probes actually go. During the run the name is
 * resolved every 250 ms (through --dns-server, or the system resolver) and every change of its answer is a
 * `dns` event. Workers report the address their acknowledged probes reached (on a change, and every
 * 250 ms per op). When an op's probes are still acknowledged by an address the name stopped resolving to
 * more than TTL + 0.5 s ago (by then a client honouring the TTL has moved: the watcher's poll and a
 * connect fit in the half second) — a pool holding connections to the old instance, or a DNS cache that
 * ignores the TTL — a `stale-endpoint` warning is written, once per op and address for each change of the
 * name's answer. The TTL is the DNS server's with --dns-server, else taken as 5 s (RDS endpoints' TTL; the
 * system resolver does not report one). Nothing is watched when the target host is an IP address.
 */
export class EndpointWatcher {
  private current: { addresses: string[]; sinceMs: number; generation: number } | null = null;
  private failing: string | null = null;
  private generation = 0;
  private ttlS = SYSTEM_TTL_S;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private readonly warned = new Set<string>();
  /** Per worker and op: the address its acknowledged probes last reached. */
  private readonly lastAddress = new Map<string, string>();
  private events = 0;
  private staleWarnings = 0;
  private closed = false;

  private constructor(
    private readonly host: string,
    private readonly dnsServer: string | undefined,
    private readonly timeoutMs: number,
    private readonly event: (e: EventInput) => void,
    private readonly now: () => number,
    private readonly say: (message: string) => void,
  ) {}

  /** Resolves once (so the run starts knowing the answer), then every WATCH_EVERY_MS; null for an IP target. */
  static async start(
    host: string,
    dnsServer: string | undefined,
    timeoutMs: number,
    event: (e: EventInput) => void,
    now: () => number,
    /** Warnings for the user as they happen (stderr). */
    say: (message: string) => void = () => undefined,
  ): Promise<EndpointWatcher | null> {
    if (isIP(host) !== 0) return null;
    const w = new EndpointWatcher(host, dnsServer, timeoutMs, event, now, say);
    await w.poll();
    w.timer = setInterval(() => {
      if (w.polling === null) w.polling = w.poll().finally(() => (w.polling = null));
    }, WATCH_EVERY_MS);
    w.timer.unref();
    return w;
  }

  /** Writes `dns` events and address notes up to MAX_EVENTS, then says once that it stopped. */
  private record(e: EventInput): void {
    if (++this.events <= MAX_EVENTS) this.event(e);
    else if (this.events === MAX_EVENTS + 1) {
      this.event({
        atMs: e.atMs,
        kind: 'warning',
        name: 'endpoint-flapping',
        detail: { message: `more than ${MAX_EVENTS} changes of the endpoint's name or address; no more are recorded` },
      });
    }
  }

  private via(): string {
    return this.dnsServer !== undefined ? `DNS server ${this.dnsServer}` : 'the system resolver';
  }

  private async poll(): Promise<void> {
    const atMs = this.now();
    let addresses: string[];
    try {
      if (this.dnsServer !== undefined) {
        const r = await resolverFor(this.dnsServer).query(this.host);
        addresses = [r.address];
        this.ttlS = r.ttlS;
      } else addresses = [...new Set(await withTimeout(resolveNow(this.host, undefined), this.timeoutMs))].sort();
    } catch (err) {
      if (this.closed) return;
      const code = String((err as { code?: unknown }).code ?? oneLine((err as Error).message ?? String(err)));
      if (this.failing !== code) {
        this.failing = code;
        this.record({
          atMs,
          kind: 'dns',
          name: `${this.host} does not resolve (${code})`,
          detail: { host: this.host, via: this.via(), error: code },
        });
      }
      return;
    }
    if (this.closed) return;
    const key = addresses.join(',');
    const changed = this.current === null || this.current.addresses.join(',') !== key;
    if (changed || this.failing !== null) {
      this.record({
        atMs,
        kind: 'dns',
        name: `${this.host} resolves to ${key}`,
        detail: {
          host: this.host,
          via: this.via(),
          addresses,
          ...(this.dnsServer !== undefined ? { ttlS: this.ttlS } : {}),
          ...(this.failing !== null ? { recoveredFrom: this.failing } : {}),
        },
      });
    }
    this.failing = null;
    if (changed) this.current = { addresses, sinceMs: atMs, generation: ++this.generation };
  }

  /**
   * A worker's `op` probes were acknowledged by `address` (intended at `intendedMs`). Writes a note when
   * the op's address changes, and a `stale-endpoint` warning as described above.
   */
  observe(worker: number, op: Op, address: string, intendedMs: number, atMs: number): void {
    const who = `${worker}\u0000${op}`;
    if (this.lastAddress.get(who) !== address) {
      const first = !this.lastAddress.has(who);
      this.lastAddress.set(who, address);
      this.record({
        atMs: intendedMs,
        kind: 'note',
        name: `${op}s ${first ? '' : 'now '}reach ${address}`,
        detail: { op, address, worker, answeredAtMs: atMs },
      });
    }
    const cur = this.current;
    if (cur === null || cur.generation < 2 || cur.addresses.includes(address)) return;
    const graceMs = this.ttlS * 1000 + 500;
    if (intendedMs < cur.sinceMs + graceMs) return;
    const key = `${cur.generation}\u0000${op}\u0000${address}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    const warn = (detail: Record<string, unknown>): void =>
      this.event({
        atMs: intendedMs,
        kind: 'warning',
        name: 'stale-endpoint',
        detail: { op, address, worker, host: this.host, ...detail },
      });
    if (++this.staleWarnings > MAX_STALE_WARNINGS) {
      if (this.staleWarnings === MAX_STALE_WARNINGS + 1) {
        warn({
          message: `more than ${MAX_STALE_WARNINGS} stale-endpoint warnings (does ${this.host} rotate among addresses, as a reader endpoint does? then this check does not apply); no more are recorded`,
        });
      }
      return;
    }
    const since = timeOfDay(cur.sinceMs);
    const message = `${op}s acknowledged by ${address} though ${this.host} has resolved to ${cur.addresses.join(', ')} since ${since} UTC (a stale pool or DNS cache: the old instance is still in use)`;
    this.say(message);
    warn({ resolvesTo: cur.addresses, resolvedAtMs: cur.sinceMs, message });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.polling;
  }
}

/** `p`, or a rejection (code ETIMEOUT) after `ms`: a system lookup can hang for seconds. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('lookup timed out'), { code: 'ETIMEOUT' })), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
