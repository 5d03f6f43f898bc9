/**
 * Durations are written with a unit, always: `250ms`, `30s`, `5m`, `1h`, or combined `1m30s`.
 * A bare number is refused, because `--duration 300` could mean seconds or milliseconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses a duration to ms; returns an error string (what is wrong and how to write it) instead of throwing. */
export function parseDuration(text: string): { ms: number } | { error: string } {
  const s = String(text).trim();
  if (s === '') return { error: 'is empty; write a duration such as 30s, 5m or 1m30s' };
  if (/^\d+(\.\d+)?$/.test(s)) return { error: `"${s}" has no unit; write ${s}s or ${s}ms` };
  if (/^-\s*\d/.test(s)) return { error: `"${s}" is negative; a duration must be positive, e.g. ${s.slice(1).trim()}` };
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(PART)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    consumed += m[0].length;
  }
  if (consumed !== s.length || !Number.isFinite(total)) {
    return { error: `"${s}" is not a duration; write e.g. 500ms, 30s, 5m, 1h or 1m30s` };
  }
  return { ms: total };
}

/** Formats ms for people: `850 ms`, `12.3 s`, `4 min 30 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return formatSeconds(ms);
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const sec = totalS % 60;
  return h > 0 ? `${h} h ${m} min ${sec} s` : `${m} min ${sec} s`;
}

/** Formats ms in seconds, two decimals under 10 s and one above: `0.85 s`, `4.20 s`, `75.0 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A precise ms figure (clock skew, send lag): `0.4 ms`, `12.0 ms`. */
export function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

/** An offset from the start of a run: `+12.345 s` (`decimals` digits after the point). */
export function formatOffset(ms: number, decimals = 3): string {
  return `+${(ms / 1000).toFixed(decimals)} s`;
}
