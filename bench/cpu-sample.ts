/**
 * CPU time of a process, sampled every 200 ms: this process's own (process.cpuUsage: every thread), or a child's
 * (utime + stime from /proc/PID/stat, Linux). Counted by the kernel, not read off a clock, so it holds on a
 * shared, noisy machine where throughput does not.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface Sample {
  atMs: number;
  cpuUs: number;
}

function sampler(read: () => number | null): { stop: () => Sample[] } {
  const samples: Sample[] = [];
  const take = (): void => {
    const cpuUs = read();
    if (cpuUs !== null) samples.push({ atMs: Date.now(), cpuUs });
  };
  take();
  const timer = setInterval(take, 200);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

/** Samples this process's CPU time (user + system, µs) until stopped. */
export function sampleOwnCpu(): { stop: () => Sample[] } {
  return sampler(() => {
    const u = process.cpuUsage();
    return u.user + u.system;
  });
}

let ticksPerSecond: number | undefined;

/** Samples a child's CPU time (user + system of all its threads, µs) from /proc until stopped or it exits. */
export function sampleChildCpu(pid: number): { stop: () => Sample[] } {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const hz = ticksPerSecond;
  return sampler(() => {
    try {
      // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1e6) / hz;
    } catch {
      return null; // exited
    }
  });
}

/** CPU µs between the samples nearest to [fromMs, toMs], and the exact span they cover. */
export function cpuBetween(
  samples: Sample[],
  fromMs: number,
  toMs: number,
): { cpuUs: number; fromMs: number; toMs: number } {
  const a = samples.find((s) => s.atMs >= fromMs) ?? (samples[0] as Sample);
  const b = [...samples].reverse().find((s) => s.atMs <= toMs) ?? (samples[samples.length - 1] as Sample);
  return { cpuUs: b.cpuUs - a.cpuUs, fromMs: a.atMs, toMs: b.atMs };
}
