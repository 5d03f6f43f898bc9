/**
 * Where the probes go. Parsed from a URL by src/scenario/target-url.ts; the password is kept apart from
 * everything that gets printed or stored (src/scenario/password.ts finds it).
 */
export interface Target {
  host: string;
  port: number;
  user: string;
  database: string;
  /** mysql://user@host:port/db — never contains a password. */
  url: string;
}
