// The part of a demo's printout every scenario shares: one line per app with its sidecar (and
// the sidecar's admin API), the gateway and its admin API, and the run folder.
import type { RunningScenario } from './scenario-mesh.js';

/** Lines describing where the running scenario's pieces listen. */
export function whereThingsRun(run: RunningScenario, gatewayNote: string, ownDir: boolean): string[] {
  const lines: string[] = [];
  const width = Math.max(...[...run.apps.keys()].map((w) => w.length), 'gateway'.length) + 2;
  for (const [workload, app] of run.apps) {
    const sidecar = run.sidecars.get(workload);
    const tail = sidecar ? `   sidecar ${sidecar.url} (admin ${sidecar.adminUrl})` : '';
    lines.push(`  ${workload.padEnd(width)}http://127.0.0.1:${app.port}${tail}`);
  }
  lines.push(`  ${'gateway'.padEnd(width)}${run.gateway.url}/   ${gatewayNote}`);
  lines.push(`  ${'admin'.padEnd(width)}${run.gateway.adminUrl}/   (/ready /config_dump /stats /clusters)`);
  lines.push(`  ${'config folder'.padEnd(width)}${run.runDir}   (watched: changes apply live${ownDir ? '; removed on exit' : ''})`);
  return lines;
}
