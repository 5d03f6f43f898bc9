import type { EventRecord, Op } from '../results/types.js';
import type { IdentityChange, Summary } from './types.js';

/** The event kinds a summary lists for reading the windows against. */
const EVENT_KINDS = new Set(['action', 'phase', 'fault', 'identity', 'dns']);

/** Actions, phases, faults, identity and DNS changes, in file order. */
export function eventsOf(events: readonly EventRecord[]): Summary['events'] {
  return events.filter((e) => EVENT_KINDS.has(e.kind)).map(eventOf);
}

function eventOf(e: EventRecord): Summary['events'][number] {
  const out: Summary['events'][number] = { atMs: e.atMs, kind: e.kind, name: e.name };
  if (e.endMs !== undefined) out.endMs = e.endMs;
  const phase = e.detail?.phase;
  if (typeof phase === 'string') out.phase = phase;
  return out;
}

/** Who answered: each `identity` event, its detail read defensively (older files lack fields). */
export function identitiesOf(events: readonly EventRecord[]): IdentityChange[] {
  return events.filter((e) => e.kind === 'identity').map(identityOf);
}

function identityOf(e: EventRecord): IdentityChange {
  const d = e.detail ?? {};
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    atMs: e.atMs,
    serverId: num(d.serverId),
    hostname: str(d.hostname),
    version: str(d.version),
    readOnly: typeof d.readOnly === 'boolean' ? d.readOnly : null,
    address: str(d.address),
    via: str(d.via),
  };
}

/**
 * The server version that answered first and last (from the identity changes), e.g. "10.11.18-MariaDB-…-log"
 * and "11.8.9-MariaDB-…": an upgrade rehearsal's before and after. Null when nothing said.
 */
export function serverVersionsOf(identities: readonly IdentityChange[]): {
  before: string | null;
  after: string | null;
} {
  const versions = identities.map((i) => i.version).filter((v): v is string => v !== null);
  return { before: versions[0] ?? null, after: versions[versions.length - 1] ?? null };
}

/** The run's `warning` events; the message is the detail's, else the warning's name. */
export function warningsOf(events: readonly EventRecord[]): Summary['warnings'] {
  return events
    .filter((e) => e.kind === 'warning')
    .map((e) => ({
      atMs: e.atMs,
      name: e.name,
      message: typeof e.detail?.message === 'string' ? e.detail.message : e.name,
    }));
}

/** When each op's pool scouts were answered (`pool-reach` notes: load/pool-scout.ts), sorted. */
export function reachesOf(events: readonly EventRecord[]): Record<Op, number[]> {
  const out: Record<Op, number[]> = { read: [], write: [] };
  for (const e of events) {
    const op = e.detail?.op;
    if (e.kind === 'note' && e.name === 'pool-reach' && (op === 'read' || op === 'write')) out[op].push(e.atMs);
  }
  for (const list of Object.values(out)) list.sort((a, b) => a - b);
  return out;
}
