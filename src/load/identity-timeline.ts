import { timeOfDay } from '../util/time.js';
import { identityKey, type EventInput, type Identity, type Op } from '../results/types.js';

/** A change of the answering server as seen on a connection: by a read, or when a connection was opened. */
export type IdentityVia = 'read' | `connect (${Op}s)`;

/**
 * Who answered: an `identity` event each time the server answering probes changes from the last one announced
 * (the first worker to see the change announces it), and a warning when a server answers again after it was
 * replaced — a stale pool or DNS still pointing at the old instance. Changes are seen by reads (every read
 * returns who answered it) and at connect time (a pooled connection asks once when it opens; connections.ts);
 * the event says which, and the address the connection reached. A sighting older than the current server's
 * (messages of different workers cross) is not a change.
 */
export class IdentityTimeline {
  private current: string | null = null;
  private currentAtMs = -Infinity;
  private readonly seenServers = new Set<string>();
  private currentServer: string | null = null;
  private events = 0;
  private static readonly MAX_EVENTS = 1000;
  /** Per op: the handshake version and address per-probe connections last reported (no identity query). */
  private readonly handshakes = new Map<Op, string>();

  constructor(
    private readonly event: (e: EventInput) => void,
    /** The run's start: a connection opened before it (the pool, warmed) is announced at the start. */
    private readonly notBeforeMs = -Infinity,
  ) {}

  /** What a worker's new connection reported (WorkerMessage `connected`). */
  connected(
    worker: number,
    m: { op: Op; identity: Identity | null; version: string | null; address: string | null; atMs: number },
  ): void {
    if (m.identity !== null) {
      this.observe(worker, m.identity, m.atMs, m.atMs, m.address, `connect (${m.op}s)`);
      return;
    }
    // Per-probe: the handshake's version and the address only (no extra round trip); reads carry identity.
    const key = `${m.version ?? ''}\u0000${m.address ?? ''}`;
    const previous = this.handshakes.get(m.op);
    if (previous === key || this.handshakes.size > 100) return;
    this.handshakes.set(m.op, key);
    this.event({
      atMs: Math.max(m.atMs, this.notBeforeMs),
      kind: 'note',
      name: `${m.op} connections ${previous === undefined ? '' : 'now '}reach ${m.version ?? '?'}${m.address ? ` at ${m.address}` : ''} from ${timeOfDay(m.atMs)}`,
      detail: { op: m.op, version: m.version, address: m.address, worker, connectedAtMs: m.atMs },
    });
  }

  observe(
    worker: number,
    id: Identity,
    intendedAtMs: number,
    atMs: number,
    address: string | null = null,
    via: IdentityVia = 'read',
  ): void {
    const key = identityKey(id);
    if (key === this.current) {
      this.currentAtMs = Math.max(this.currentAtMs, atMs);
      return;
    }
    if (atMs < this.currentAtMs) return; // older news from another worker
    // Stale means another server answering again after it was replaced; the same server flipping read_only
    // (a promotion, or two workers' sightings of it crossing by a few ms) is a change, not a stale server.
    const server = `${id.serverId ?? ''}\u0000${id.hostname ?? ''}`;
    const returning = this.seenServers.has(server) && server !== this.currentServer;
    const previous = this.current;
    this.current = key;
    this.currentServer = server;
    this.currentAtMs = atMs;
    this.seenServers.add(server);
    if (++this.events > IdentityTimeline.MAX_EVENTS) {
      if (this.events === IdentityTimeline.MAX_EVENTS + 1) {
        this.event({
          atMs,
          kind: 'warning',
          name: 'identity-flapping',
          detail: { message: 'more than 1000 changes of the answering server; no more are recorded' },
        });
      }
      return;
    }
    const fromMs = Math.max(intendedAtMs, this.notBeforeMs);
    const who = `${id.hostname ?? '?'} ${id.version ?? '?'}, server_id ${id.serverId ?? '?'}${id.readOnly ? ' (read-only)' : ''}${address ? ` at ${address}` : ''}`;
    this.event({
      atMs: fromMs,
      kind: 'identity',
      name: `${previous === null ? 'answered' : 'now answered'} by ${who} from ${timeOfDay(intendedAtMs)}`,
      detail: { ...id, address, via, worker, answeredAtMs: atMs },
    });
    if (returning && previous !== null) {
      this.event({
        atMs: fromMs,
        kind: 'warning',
        name: 'stale-server',
        detail: {
          ...id,
          address,
          via,
          worker,
          message: `${via === 'read' ? 'reads' : `new ${via.slice(9, -1)} connections`} answered again by ${who} after it had been replaced (stale pool or DNS?)`,
        },
      });
    }
  }
}
