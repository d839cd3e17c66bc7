// A process's CPU time and memory read from Linux /proc, the way `top` does: CPU seconds from
// /proc/<pid>/stat (utime + stime, all threads), resident memory from /proc/<pid>/status, sampled
// during a load run so each run reports its own peak rather than the process's lifetime peak.
// Two memory figures: VmRSS, everything resident, and RssAnon, only the private anonymous part
// (heaps, buffers, stacks): VmRSS also counts the file-backed pages of the executable and shared
// libraries (~41 MiB for the node binary alone), which hide what the proxy itself allocates.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on every mainstream Linux). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds the process has used so far (every thread included). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so utime (field 14) is rest[11] and stime (field 15) rest[12].
  return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond();
}

export type StatusField = 'VmRSS' | 'VmHWM' | 'RssAnon';

/** `field` of a `/proc/<pid>/status` text (a kB figure), as MiB. */
function fieldMiB(status: string, pid: number, field: StatusField): number {
  const m = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!m) throw new Error(`/proc/${pid}/status has no ${field} line`);
  return Number(m[1]) / 1024;
}

/** A `/proc/<pid>/status` field in kB (VmRSS, VmHWM, RssAnon), as MiB. */
export function statusMiB(pid: number, field: StatusField): number {
  return fieldMiB(readFileSync(`/proc/${pid}/status`, 'utf8'), pid, field);
}

/** VmRSS and RssAnon from one read of `/proc/<pid>/status`, so both describe the same instant. */
function residentMiB(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: fieldMiB(status, pid, 'VmRSS'), anon: fieldMiB(status, pid, 'RssAnon') };
}

export interface ProcessUsage {
  cpuSeconds: number;
  /** Highest VmRSS seen while sampling (every 100 ms, plus at start and stop), MiB. */
  peakRssMiB: number;
  /** Highest RssAnon seen in the same samples, MiB: VmRSS without file-backed and shared-memory pages. */
  peakAnonMiB: number;
}

/** Samples one process while a load run is under way; `stop()` returns what it used meanwhile. */
export class UsageMeter {
  readonly #pid: number;
  readonly #cpuStart: number;
  #peakRss: number;
  #peakAnon: number;
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid;
    this.#cpuStart = cpuSeconds(pid);
    const now = residentMiB(pid);
    this.#peakRss = now.rss;
    this.#peakAnon = now.anon;
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): void {
    try {
      const now = residentMiB(this.#pid);
      this.#peakRss = Math.max(this.#peakRss, now.rss);
      this.#peakAnon = Math.max(this.#peakAnon, now.anon);
    } catch {
      // The process died mid-run; stop() reports the failure.
    }
  }

  stop(): ProcessUsage {
    clearInterval(this.#timer);
    this.#sample();
    return { cpuSeconds: cpuSeconds(this.#pid) - this.#cpuStart, peakRssMiB: this.#peakRss, peakAnonMiB: this.#peakAnon };
  }
}
