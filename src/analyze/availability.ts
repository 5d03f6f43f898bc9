import type { Availability } from './types.js';

/** "If this happened once a month": a month is 30.44 days (365.25 / 12). */
export const MONTH_MS = 30.44 * 24 * 3_600_000;

/** Availability over `observedMs`; nines are -log10(1 - a), null when there was no downtime (infinitely many). */
export function availabilityOf(downtimeMs: number, observedMs: number): Availability {
  if (!(observedMs > 0)) return { availability: null, nines: null };
  const unavailable = Math.min(1, Math.max(0, downtimeMs / observedMs));
  return { availability: 1 - unavailable, nines: unavailable === 0 ? null : -Math.log10(unavailable) };
}

/** The same downtime once in a month; null when nothing was observed (that says nothing about a month either). */
export function oncePerMonthOf(downtimeMs: number | null, observedMs: number): Availability {
  return downtimeMs === null || !(observedMs > 0)
    ? { availability: null, nines: null }
    : availabilityOf(downtimeMs, MONTH_MS);
}
