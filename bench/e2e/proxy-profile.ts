// Where wasmesh spends its time under load: one `wasmesh proxy` started under `node --cpu-prof`,
// warmed up, driven by wrk in the throughput mode, stopped (SIGTERM: Node writes the profile on
// exit), and summarised as self time per function across the whole process.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarise } from '../profile-summary.js';
import type { Contender } from './contenders.js';
import type { LoadTools } from './load-tools.js';
import { driveLoad } from './measure.js';
import type { Mode, ProxyProfile } from './report-types.js';

/**
 * `makeWasmesh(nodeArgs)` builds the wasmesh contender with extra Node flags. The profile's idle
 * samples are dropped so that the percentages are shares of the CPU time the proxy really used.
 * A sidecar pair (`wasmesh-mtls`) writes one profile per process: one summary each, named by
 * `roles` in the order of the contender's pids. `headers` go on every request (the policy mode's token).
 */
export async function profileWasmesh(
  makeWasmesh: (nodeArgs: string[]) => Contender,
  tools: LoadTools,
  mode: Mode,
  warmupS: number,
  durationS: number,
  top = 15,
  roles: readonly string[] = ['wasmesh proxy'],
  headers?: readonly string[],
): Promise<ProxyProfile[]> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-prof-'));
  try {
    const running = await makeWasmesh(['--cpu-prof', '--cpu-prof-dir', dir]).start(1);
    const pids = running.pids ?? [running.pid];
    let load;
    try {
      await driveLoad(tools, mode, running.url, warmupS, headers);
      load = await driveLoad(tools, mode, running.url, durationS, headers);
    } finally {
      await running.stop();
    }
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) throw new Error(`wasmesh wrote no .cpuprofile into ${dir} (did it exit cleanly on SIGTERM?)`);
    return pids.flatMap((pid, i) => {
      // Node names it CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile.
      const file = files.find((f) => f.split('.')[3] === String(pid)) ?? (pids.length === 1 ? files[0] : undefined);
      if (file === undefined) return [];
      const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const { functions } = summarise(profile, '(root)');
      const busy = functions.filter((f) => f.name !== '(idle)');
      const busyMs = busy.reduce((a, f) => a + f.selfMs, 0);
      return [{
        // The profile spans the process's whole life (start-up and warm-up included); start-up is
        // a fraction of a second against seconds of load, so it barely shows in the top entries.
        method: `node --cpu-prof over ${roles[i] ?? `process ${i + 1}`} (1 worker) for its whole life: start-up, ${warmupS} s warm-up and ${durationS} s of wrk at ${mode.connections} connections (idle samples excluded; req/s from the ${durationS} s run)`,
        requests: load.requests,
        rps: load.rps,
        sampledMs: busyMs,
        top: busy.slice(0, top).map((f) => ({ name: f.name, selfMs: f.selfMs, percent: busyMs ? (100 * f.selfMs) / busyMs : 0 })),
      }];
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
