/**
 * UTC times, in the three shapes the tool prints them. Every time is UTC: a run, its report and the hosts of a
 * merged run may be in different time zones, and a reader compares them with logs that are mostly in UTC.
 */

/** "20260101-120341": the start time in a default file name (sorts by time, no colons). */
export function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

/** "12:03:41.120": a time of day to the ms, for moments within one run (the caller adds " UTC" where it says so). */
export function timeOfDay(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** "2026-01-01 00:00:00 UTC": which run this is, in report headers and chart subtitles. */
export function wallClock(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}
