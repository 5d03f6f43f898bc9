import { oneLine } from '../errors.js';
import type { EventInput } from '../results/types.js';
import type { PasswordRefresh } from './options.js';

/**
 * Re-fetches the password every `everyMs` (--password-command, e.g. an RDS IAM token) and hands the new one
 * on; a failed fetch is a warning: connections keep the last good password (an RDS token stays valid 15
 * minutes).
 */
export function startPasswordRefresh(
  refresh: PasswordRefresh,
  use: (password: string) => void,
  event: (e: EventInput) => void,
  warn: (line: string) => void,
  now: () => number,
): () => void {
  let refreshing = false;
  const timer = setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    refresh
      .fetch()
      .then(
        (password) => {
          use(password);
          event({ atMs: now(), kind: 'note', name: 'password-refreshed', detail: {} });
        },
        (err: unknown) => {
          const message = oneLine(err instanceof Error ? err.message : String(err));
          event({ atMs: now(), kind: 'warning', name: 'password-refresh-failed', detail: { message } });
          warn(`downtime: warning: could not refresh the password: ${message}\n`);
        },
      )
      .finally(() => (refreshing = false));
  }, refresh.everyMs);
  return () => clearInterval(timer);
}
