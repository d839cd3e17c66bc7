// `wasmesh control-plane --dashboard <host:port> [--prometheus <url>]`: the control plane also
// serves `wasmesh dashboard`, reading its own monitoring port for sync status and config (the
// dashboard then needs no --control-plane of its own). Validated before anything starts.
import { hostPortFlag, UsageError, type FlagSpec, type FlagValues } from './args.js';
import { prometheusApi } from '../dashboard/prometheus-api.js';
import { startDashboardServer, type DashboardServer } from '../dashboard/dashboard-server.js';
import type { HostPort } from '../common/host-port.js';

export const DASHBOARD_FLAGS: FlagSpec[] = [
  { name: 'dashboard', kind: 'string', valueName: '<host:port>', help: 'also serve `wasmesh dashboard` here (service graph, signals, sync status, config)' },
  { name: 'prometheus', kind: 'string', valueName: '<url>', help: 'with --dashboard: the Prometheus that scrapes the proxies', defaultText: 'http://127.0.0.1:9090' },
];

export interface DashboardPlan {
  readonly at: HostPort;
  readonly prometheus: ReturnType<typeof prometheusApi>;
}

/** null without --dashboard; a usage error for bad values or --prometheus alone. */
export function dashboardFromFlags(command: string, values: FlagValues): DashboardPlan | null {
  if (values.dashboard === undefined) {
    if (values.prometheus !== undefined) throw new UsageError(command, '--prometheus goes with --dashboard');
    return null;
  }
  const at = hostPortFlag(command, '--dashboard', values.dashboard as string);
  try {
    return { at, prometheus: prometheusApi((values.prometheus as string | undefined) ?? 'http://127.0.0.1:9090') };
  } catch (err) {
    throw new UsageError(command, (err as Error).message);
  }
}

/** Starts the planned dashboard against the control plane's monitoring address. */
export function startPlannedDashboard(plan: DashboardPlan, monitoring: { host: string; port: number }): Promise<DashboardServer> {
  // An unspecified bind address is reached on loopback.
  const host = monitoring.host === '0.0.0.0' ? '127.0.0.1' : monitoring.host === '::' ? '::1' : monitoring.host;
  const controlPlane = `http://${host.includes(':') ? `[${host}]` : host}:${monitoring.port}`;
  return startDashboardServer({ prometheus: plan.prometheus, controlPlane, host: plan.at.host, port: plan.at.port });
}
