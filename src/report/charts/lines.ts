import type { Summary } from '../../analyze/index.js';
import { secondsFrom } from './axes.js';
import { COLORS } from './colors.js';
import type { MarkLine } from './marks.js';

/** At most this many identity changes are drawn: a flapping endpoint would bury the chart in lines. */
const MAX_IDENTITY_LINES = 10;

/** Labelled vertical lines for the run's actions, phases, faults and changes of who answers (identity, DNS). */
export function eventLines(s: Summary, originMs: number): MarkLine[] {
  const out: MarkLine[] = [];
  let identities = 0;
  let dnsChanges = 0;
  for (const e of s.events) {
    const x = secondsFrom(originMs, e.atMs);
    if (e.kind === 'action') {
      const end = e.phase === 'end';
      // An action's end event carries its start in atMs and its end in endMs.
      const at = end && e.endMs !== undefined ? secondsFrom(originMs, e.endMs) : x;
      out.push({ x: at, label: end ? `${e.name} done` : e.name, color: COLORS.action, dashed: end });
    } else if (e.kind === 'phase') out.push({ x, label: e.name, color: COLORS.phase, dashed: false });
    else if (e.kind === 'fault') out.push({ x, label: `fault: ${e.name}`, color: COLORS.fault, dashed: false });
    else if (e.kind === 'identity') {
      // The first identity event is who answered at the start, not a change.
      identities++;
      if (identities > 1 && identities <= MAX_IDENTITY_LINES + 1) {
        // Identity events are summary.identities in the same order: a short label of who answers from here.
        const id = s.identities[identities - 1];
        const label = id
          ? `→ server_id ${id.serverId ?? '?'}${id.readOnly ? ' read-only' : ''} ${id.hostname ?? ''}${id.address ? ` at ${id.address}` : ''}`
          : e.name;
        out.push({ x, label, color: COLORS.identity, dashed: true });
      }
    } else if (e.kind === 'dns') {
      // The first is where the endpoint's name pointed at the start; then each change of its answer.
      dnsChanges++;
      if (dnsChanges > 1 && dnsChanges <= MAX_IDENTITY_LINES + 1) {
        const label = e.name.replace(/^\S+ resolves to /, 'DNS → ').replace(/^\S+ does not resolve /, 'DNS fails ');
        out.push({ x, label, color: COLORS.identity, dashed: true });
      }
    }
  }
  return out;
}
