// The control shell's own stats, in the `control.` scope of /stats: ConfigManager's reload
// counters, the serving config version, whether the last reload failed, and the data-path
// threads where there are several. Shared by `wasmesh proxy` and `wasmesh sidecar`.
import type { ProxyConfigSource } from './config-source.js';
import { computedRecords, type StatKind, type StatRecord } from '../telemetry/stats.js';

/** The gauges; ConfigManager's counters and worker_crashes are counters. */
const KINDS: Record<string, StatKind> = {
  'control.config_version': 'gauge',
  'control.last_reload_failed': 'gauge',
  'control.workers_live': 'gauge',
};

/** `workers`: the data-path threads (the main thread counts as one), for `--workers`. */
export function controlStats(manager: ProxyConfigSource, workers?: { live: number; crashes: number }): StatRecord[] {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(manager.counters)) out[`control.${name}`] = value;
  out['control.config_version'] = manager.version;
  out['control.last_reload_failed'] = manager.lastError ? 1 : 0;
  if (workers) {
    out['control.workers_live'] = workers.live;
    out['control.worker_crashes'] = workers.crashes;
  }
  return computedRecords(out, KINDS);
}
