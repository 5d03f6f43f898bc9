import type { OutageOp, Summary } from '../../analyze/index.js';
import { formatDuration } from '../../util/duration.js';
import { wallClock } from '../../util/time.js';

/** A run's downtime of one op for a chart, or `not probed`. */
export function downtimeText(s: Summary, op: OutageOp): string {
  const d = s.downtimeMs[op];
  return d === null ? 'not probed' : formatDuration(d);
}

/** "label: read down 1.2 s · write down 3 s · full down 1 s": the outcome chart's title. */
export function titleOf(s: Summary): string {
  const parts = (['read', 'write', 'full'] as const).filter((op) => s.downtimeMs[op] !== null);
  return `${s.label}: ${parts.map((op) => `${op} down ${downtimeText(s, op)}`).join(' · ')}`;
}

/** What x is, the run's wall-clock span and target, and INCOMPLETE when the file has no trailer. */
export function subtitleOf(s: Summary, originMs: number, originWhat: string): string {
  const incomplete = s.complete ? '' : ' · INCOMPLETE (no trailer)';
  return `x = seconds from ${originWhat} (${wallClock(originMs)}); run ${wallClock(s.startMs)} → ${wallClock(s.endMs)} · ${s.target}${incomplete}`;
}

/** "read 1.2 s · write 3 s · full 1 s": a run's downtime, short. */
export function compactDowntime(s: Summary): string {
  return (['read', 'write', 'full'] as const)
    .filter((op) => s.downtimeMs[op] !== null)
    .map((op) => `${op} ${formatDuration(s.downtimeMs[op] as number)}`)
    .join(' · ');
}
