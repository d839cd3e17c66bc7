// One measured load run: start metering the contender's process, drive the load (wrk for the
// throughput mode, fortio for a fixed rate), stop metering, and turn it into a RunRecord with CPU
// seconds per 1,000 requests, peak RSS and peak anonymous RSS. A failure is recorded, never thrown: one bad run must
// not lose the others.
import type { ContenderName, RunningContender } from './contenders.js';
import { runFortio, runWrk, type LoadResult, type LoadTools } from './load-tools.js';
import { UsageMeter } from './proc-stats.js';
import type { Mode, RunRecord } from './report-types.js';

/** Drives `mode` against `url` for `durationS`; throws when the needed tool is missing. */
export function driveLoad(tools: LoadTools, mode: Mode, url: string, durationS: number, headers?: readonly string[]): Promise<LoadResult> {
  if (mode.kind === 'throughput') {
    if (!tools.wrk) throw new Error('wrk not found');
    return runWrk(tools.wrk, { url, connections: mode.connections, threads: mode.threads ?? 2, durationS, headers });
  }
  if (!tools.fortio) throw new Error('fortio not found');
  return runFortio(tools.fortio, { url, qps: mode.qps!, connections: mode.connections, durationS, headers });
}

export async function measure(
  tools: LoadTools,
  mode: Mode,
  running: RunningContender,
  where: { rep: number; workers: number; contender: ContenderName },
  durationS: number,
  headers?: readonly string[],
): Promise<RunRecord> {
  const base = { rep: where.rep, workers: where.workers, mode: mode.name, contender: where.contender };
  const pids = running.pids ?? [running.pid];
  const meters: UsageMeter[] = [];
  try {
    for (const pid of pids) meters.push(new UsageMeter(pid));
  } catch (err) {
    for (const m of meters) {
      try { m.stop(); } catch { /* gone as well */ }
    }
    return { ...base, ok: false, error: `process ${pids[meters.length]} is gone: ${(err as Error).message}` };
  }
  let load: LoadResult;
  try {
    load = await driveLoad(tools, mode, running.url, durationS, headers);
  } catch (err) {
    for (const m of meters) {
      try { m.stop(); } catch { /* the process may be gone too */ }
    }
    return { ...base, ok: false, error: (err as Error).message.split('\n')[0] };
  }
  const usages = [];
  for (const [i, m] of meters.entries()) {
    try {
      usages.push(m.stop());
    } catch (err) {
      return { ...base, ok: false, load, error: `process ${pids[i]} died during the run: ${(err as Error).message}` };
    }
  }
  // Per process (per sidecar for a pair): CPU shared out, the larger memory peak.
  const usage = {
    cpuSeconds: usages.reduce((s, u) => s + u.cpuSeconds, 0) / usages.length,
    peakRssMiB: Math.max(...usages.map((u) => u.peakRssMiB)),
    peakAnonMiB: Math.max(...usages.map((u) => u.peakAnonMiB)),
  };
  const record: RunRecord = {
    ...base,
    ok: load.requests > 0,
    load,
    cpuSecondsPer1k: load.requests > 0 ? (usage.cpuSeconds / load.requests) * 1000 : undefined,
    peakRssMiB: usage.peakRssMiB,
    peakAnonMiB: usage.peakAnonMiB,
  };
  if (load.requests === 0) record.error = 'no request completed';
  if (mode.qps !== undefined && load.rps < 0.95 * mode.qps) record.rateNotHeld = true;
  return record;
}
