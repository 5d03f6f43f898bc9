/**
 * CPU time of a process, sampled every 200 ms: this process's own (process.cpuUsage: every thread), or a child's
 * (utime + stime from /proc/PID/stat, Linux). Counted by the kernel, not read off a clock, so it holds on a
 * shared, noisy machine where throughput does not.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { ResultsFile } from '../src/results/types.js';

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

/** A process's CPU time (user + system of all its threads, µs) from /proc/PID/stat; null once it has exited. */
function procCpuUs(pid: number): number | null {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / ticksPerSecond;
  } catch {
    return null; // exited
  }
}

/** Samples a child's CPU time (user + system of all its threads, µs) from /proc until stopped or it exits. */
export function sampleChildCpu(pid: number): { stop: () => Sample[] } {
  return sampler(() => procCpuUs(pid));
}

/**
 * The steady part of a run's reads: the whole seconds from `settleS` after its first probe to 0.5 s before its last
 * (`seconds` long), and the probes answered in them per second.
 */
export function steadyReads(file: ResultsFile, seconds: number, settleS: number): Steady {
  const schedule = file.header.ops.read;
  if (schedule === undefined) throw new Error('no read schedule');
  const firstSec = Math.ceil((schedule.t0Ms + settleS * 1000) / 1000);
  const lastSec = Math.floor((schedule.t0Ms + seconds * 1000 - 500) / 1000) - 1;
  const secs = file.seconds.read.filter((s) => s.source === undefined && s.sec >= firstSec && s.sec <= lastSec);
  const ok = secs.reduce((a, s) => a + s.ok, 0);
  return { fromMs: firstSec * 1000, toMs: (lastSec + 1) * 1000, okPerSec: ok / Math.max(1, lastSec - firstSec + 1) };
}

export interface Steady {
  fromMs: number;
  toMs: number;
  okPerSec: number;
}

/** CPU µs per answered probe over a steady span: CPU per second of the sampled span (within 200 ms of it). */
export function steadyCpuUs(samples: Sample[], steady: Steady): number {
  const span = cpuBetween(samples, steady.fromMs, steady.toMs);
  return span.cpuUs / ((span.toMs - span.fromMs) / 1000) / Math.max(1, steady.okPerSec);
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
