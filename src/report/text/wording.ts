import type { LatencyMs, Summary } from '../../analyze/index.js';
import { formatDuration, formatMs, formatOffset } from '../../util/duration.js';
import { wallClock } from '../../util/time.js';

/** The sentences and numbers every text rendering shares (terminal, Markdown, HTML). */
export const OUTAGE_OPS = ['read', 'write', 'full'] as const;

/**
 * Availability as a percentage, truncated (never rounded up: 99.9996 % is not 100 %), with as many
 * decimals as its nines need: 99.99 %, 99.999 %.
 */
export function formatAvailability(
  a: number | null,
  nines: number | null = a === null || a === 1 ? null : -Math.log10(1 - a),
): string {
  if (a === null) return 'n/a';
  if (a === 1) return '100 %';
  const decimals = Math.min(8, Math.max(2, Math.floor((nines ?? 0) + 1e-9) - 2));
  const f = 10 ** decimals;
  return `${(Math.floor(a * 100 * f + 1e-9) / f).toFixed(decimals)} %`;
}

/** Nines truncated to one decimal ("4.0"), "∞" for no downtime. */
export function formatNines(n: number | null, a: number | null): string {
  if (a === null) return 'n/a';
  if (n === null) return '∞';
  return (Math.floor(n * 10 + 1e-9) / 10).toFixed(1);
}

/** A duration, or `n/a` when it was not measured. */
export function durationText(ms: number | null): string {
  return ms === null ? 'n/a' : formatDuration(ms);
}

/** A latency in ms with the decimals its size needs: 0.52, 32.1, 250 (unit not included). */
function latencyMs(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** "p50 / p99 / max ms", or `n/a`. */
export function latencyText(l: LatencyMs | null | undefined): string {
  if (!l) return 'n/a';
  return `${latencyMs(l.p50)} / ${latencyMs(l.p99)} / ${latencyMs(l.max)} ms`;
}

/** "read p99 32.1 ms (max 32.7 ms) in the second at +1800 s, write …". */
export function worstText(s: Summary): string {
  const parts = (['read', 'write'] as const).flatMap((op) => {
    const o = s.ops[op];
    if (!o) return [];
    const w = o.worstSecond;
    if (!w) return [`${op}: none succeeded`];
    return [
      `${op} p99 ${latencyMs(w.p99Ms)} ms (max ${latencyMs(w.maxMs)} ms) in the second at +${Math.round(w.offsetMs / 1000)} s`,
    ];
  });
  return parts.length === 0 ? 'n/a' : parts.join(', ');
}

/** Counts by class, largest first: "refused 12, timeout 3", or `none`. */
export function errorsText(e: Record<string, number> | undefined): string {
  if (e === undefined) return 'not probed';
  const entries = Object.entries(e ?? {}).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

/** Write verification in one line: lost, acknowledged, in doubt; or why it was not verified. */
export function writesText(s: Summary): string {
  const w = s.writes;
  if (!s.ops.write) return 'not probed';
  if (!w) return s.writesUnverified !== null ? `NOT VERIFIED: ${s.writesUnverified}` : 'not verified';
  const lost = w.lost === 0 ? 'none lost' : `${w.lost} LOST`;
  return `${lost} of ${w.acknowledged} acknowledged; in doubt: ${w.inDoubtCommitted} committed, ${w.inDoubtAbsent} absent`;
}

/** "label: target, start → end (duration), state": which run this is and how it ended. */
export function runLine(s: Summary): string {
  const state = s.complete ? (s.reason ?? 'completed') : 'INCOMPLETE (no trailer: crashed or still running)';
  return `${s.label}: ${s.target}, ${wallClock(s.startMs)} → ${wallClock(s.endMs)} (${formatDuration(s.durationMs)}), ${state}${s.truncated ? ', last line cut off' : ''}`;
}

/** Replication lag on green (heartbeat), or null when it was not measured. */
export function replicationLagText(s: Summary): string | null {
  const l = s.replicationLag;
  if (l === null) return null;
  const at = (ms: number): string => `+${Math.round((ms - s.startMs) / 1000)} s`;
  const parts: string[] = [];
  if (l.maxMs === null) parts.push('no sample (green never answered with a heartbeat from blue)');
  else if (l.maxMs === 0) parts.push(`0 ms in all ${l.samples} samples (green showed every acknowledged heartbeat)`);
  else {
    parts.push(`max ${formatDuration(l.maxMs)} in the second at ${at(l.maxAtMs as number)}`);
    if (l.lastMs !== null) parts.push(`last ${formatDuration(l.lastMs)}`);
    parts.push(`${l.samples} samples`);
  }
  if (l.selfWrittenFromMs !== null) {
    parts.push(
      `from ${at(l.selfWrittenFromMs)} green wrote the heartbeat itself (endpoint moved to green): not measured`,
    );
  }
  const errs = [
    ...Object.entries(l.writeErrors).map(([k, v]) => `write ${k} ${v}`),
    ...Object.entries(l.readErrors).map(([k, v]) => `read ${k} ${v}`),
  ];
  if (errs.length > 0) parts.push(`heartbeat errors: ${errs.join(', ')}`);
  return `replication lag on ${l.green}: ${parts.join('; ')}`;
}

/** The harness's own lateness: evidence that the load host was (not) the bottleneck. */
export function sendLagText(s: Summary): string | null {
  const parts = (['read', 'write'] as const).flatMap((op) => {
    const l = s.ops[op]?.sendLagMs;
    return l ? [`${op} p99 ≤ ${formatMs(l.p99)}, max ${formatMs(l.max)}`] : [];
  });
  return parts.length === 0 ? null : `harness send lag: ${parts.join('; ')}`;
}

/** Seconds missing from the file, per op with offsets (the first six), or `none`. */
export function gapsText(s: Summary): string {
  if (s.gaps.length === 0) return 'none';
  // Per op, with offsets: "2" alone read as two seconds when it meant two gaps of 10 s each.
  const parts = s.gaps.map(
    (g) =>
      `${g.op} ${formatDuration(g.durationMs)} from ${formatOffset(g.startMs - s.startMs)} (${g.missingProbes} probes)`,
  );
  const shown = parts.slice(0, 6).join(', ') + (parts.length > 6 ? `, … ${parts.length - 6} more` : '');
  return `${s.gaps.length} gap(s): ${shown}; not observed, so counted neither as up nor as down (an outage may hide there)`;
}

/** Where the harness itself stalled: shown only when it did. */
export function stallsText(s: Summary): string | null {
  if (s.stalls.length === 0) return null;
  const parts = s.stalls.map(
    (g) => `${g.op} ${formatDuration(g.durationMs)} from ${formatOffset(g.startMs - s.startMs)} (${g.probes} probes)`,
  );
  const shown = parts.slice(0, 6).join(', ') + (parts.length > 6 ? `, … ${parts.length - 6} more` : '');
  return `harness stalls: ${shown}; the harness could not send or watch these probes on time, so they count neither as up nor as down`;
}

/**
 * Where a pool's own first answer came after the database had answered a new connection (Outage.poolRecoveryMs):
 * shown only when it did. The time is the client's recovery, not downtime of the database.
 */
export function poolRecoveryText(s: Summary): string | null {
  const late = s.outages.filter((o) => (o.poolRecoveryMs ?? 0) > 0);
  if (late.length === 0) return null;
  const worst = Math.max(...late.map((o) => o.poolRecoveryMs as number));
  return `pool recovery: in ${late.length} window(s) the database answered a new connection while the pool's own connections, opened or used during the outage, still waited for their timeouts; the pool answered up to ${formatDuration(worst)} later (not counted as downtime; a shorter connect timeout recovers sooner)`;
}

/**
 * What the numbers can and cannot show: edges are exact to one probe interval, and an outage shorter than that
 * can fall between two probes. Said next to "0 ms" and "∞ nines" so no one reads them as a proof.
 */
export function resolutionText(s: Summary): string {
  const parts = (['read', 'write'] as const).flatMap((op) => {
    const rate = s.ops[op]?.ratePerSec;
    if (!rate || !(rate > 0)) return [];
    const ms = 1000 / rate;
    // Sub-10 ms intervals (fast probes) keep their decimals: "0 ms" would claim infinite resolution.
    return [`${op} ${ms < 10 ? `${Number(ms.toFixed(3))} ms` : formatDuration(ms)}`];
  });
  if (parts.length === 0) return 'n/a';
  return `one probe interval (${parts.join(', ')}): window starts are exact to it and ends are when an answer came back; a shorter outage can fall between probes`;
}

/** "10.11.18 → 11.8.9" (MariaDB's suffixes dropped), "10.11.19" when it did not change, "unknown" when not said. */
export function versionsText(s: Summary): string {
  const short = (v: string): string => /^\d+\.\d+\.\d+/.exec(v)?.[0] ?? v;
  const { before, after } = s.serverVersions;
  if (before === null || after === null) return 'unknown';
  const flavor = /mariadb/i.test(after) ? 'MariaDB ' : '';
  return short(before) === short(after) ? `${flavor}${short(after)}` : `${flavor}${short(before)} → ${short(after)}`;
}

/** The note a report carries in place of its charts when they could not be rendered. */
export function chartsMissing(reason: string): string {
  return `Charts not rendered (${reason}); every figure is in the text and in summary.json.`;
}
