// The system calls a proxy makes over a measuring window (`bench:protocols --syscalls`): Linux
// `perf stat` on the kernel's syscall tracepoints, attached to the proxy's pid for the window and
// stopped with SIGINT at its end. A figure that does not move with the machine's load (unlike
// CPU time): syscalls, reads, writes and polls per 1000 operations tell whether a change made the
// proxy do fewer reads or writes per message, and how it compares with Envoy's (which reads with
// readv until EAGAIN and writes with sendto; Node reads once with read and writes with write or
// writev). Needs perf and the permission to read tracepoints (root, or perf_event_paranoid ≤ 1).
import { spawn } from 'node:child_process';

/** Syscalls in the window: all of them, and those that read, write, or wait for readiness. */
export interface SyscallCounts {
  total: number;
  reads: number;
  writes: number;
  polls: number;
}

/** The tracepoints counted for each figure. */
export const SYSCALL_EVENTS: Record<keyof SyscallCounts, readonly string[]> = {
  total: ['raw_syscalls:sys_enter'],
  reads: ['read', 'readv', 'recvfrom', 'recvmsg'].map((s) => `syscalls:sys_enter_${s}`),
  writes: ['write', 'writev', 'sendto', 'sendmsg'].map((s) => `syscalls:sys_enter_${s}`),
  polls: ['epoll_wait', 'epoll_pwait'].map((s) => `syscalls:sys_enter_${s}`),
};

/**
 * The counts from `perf stat -x,` output (one `value,unit,event,…` line per event); null when an
 * event was not counted (`<not counted>`, `<not supported>`) or is missing.
 */
export function parsePerfStat(text: string): SyscallCounts | null {
  const byEvent = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(',');
    if (f.length < 3) continue;
    const n = Number(f[0]);
    if (f[0] !== '' && Number.isFinite(n)) byEvent.set(f[2]!, n);
  }
  const sum = (events: readonly string[]): number | null => {
    let s = 0;
    for (const e of events) {
      const n = byEvent.get(e);
      if (n === undefined) return null;
      s += n;
    }
    return s;
  };
  const total = sum(SYSCALL_EVENTS.total);
  const reads = sum(SYSCALL_EVENTS.reads);
  const writes = sum(SYSCALL_EVENTS.writes);
  const polls = sum(SYSCALL_EVENTS.polls);
  return total === null || reads === null || writes === null || polls === null ? null : { total, reads, writes, polls };
}

/** `counts` divided by `units` (e.g. thousands of messages). */
export function syscallsPer(counts: SyscallCounts, units: number): SyscallCounts {
  return { total: counts.total / units, reads: counts.reads / units, writes: counts.writes / units, polls: counts.polls / units };
}

/** Starts counting `pid`'s syscalls (summed over the processes when several); stop() ends the window and resolves with the counts (null: perf missing or refused). */
export function startSyscallCount(pid: number | readonly number[], perf = process.env.PERF_BIN ?? 'perf'): { stop(): Promise<SyscallCounts | null> } {
  const events = Object.values(SYSCALL_EVENTS).flat().join(',');
  const child = spawn(perf, ['stat', '-x', ',', '-e', events, '-p', typeof pid === 'number' ? String(pid) : pid.join(',')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('error', () => resolve());
    child.once('close', () => resolve());
  });
  return {
    async stop() {
      // Only a perf that started: a spawn that failed (no perf) has no pid yet its handle is
      // still open until the error is emitted, and kill() on it is kill(0): SIGINT to this whole
      // process group (the benchmark, or the test runner and every worker).
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
      return parsePerfStat(out);
    },
  };
}
