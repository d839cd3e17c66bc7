// `wasmesh dashboard`: the service graph and golden signals in the browser, read from a
// Prometheus that scrapes the mesh's proxies (:15090/stats/prometheus), with the control
// plane's sync status and config when --control-plane is given (host/dashboard/).
import { formatHelp, hostPortFlag, parseArgs, UsageError, type CommandSpec } from './args.js';
import { logLine, untilStopped, type CliIo } from './cli-io.js';
import { ListenError } from '../common/listen-error.js';
import { prometheusApi } from '../dashboard/prometheus-api.js';
import { promRange } from '../dashboard/promql.js';
import { startDashboardServer } from '../dashboard/dashboard-server.js';

export const DASHBOARD_SPEC: CommandSpec = {
  command: 'wasmesh dashboard',
  summary:
    'Serves a live dashboard: the service graph (workloads as nodes, calls as edges with request rate, 5xx rate, ' +
    'p99 latency and mTLS) from the istio_* metrics in Prometheus, each workload\'s golden signals over time on ' +
    'click, and with --control-plane every proxy\'s sync status and the resources that apply to a workload. The ' +
    'page and its libraries (cytoscape, uPlot) are served from the package; the browser loads nothing else.',
  flags: [
    { name: 'prometheus', kind: 'string', valueName: '<url>', help: 'the Prometheus that scrapes the proxies', defaultText: 'http://127.0.0.1:9090' },
    { name: 'control-plane', kind: 'string', valueName: '<url>', help: 'the control plane\'s monitoring URL (e.g. http://127.0.0.1:15014) for sync status and config' },
    { name: 'listen', kind: 'string', valueName: '<host:port>', help: 'where to serve the dashboard', defaultText: '127.0.0.1:20001' },
    { name: 'window', kind: 'string', valueName: '<duration>', help: 'the rate() window of the graph (Prometheus duration)', defaultText: '1m' },
  ],
  epilog: [
    'Prometheus must scrape every proxy\'s /stats/prometheus on :15090 (or the merged :15020), as for Istio.',
    '',
    'Example:',
    '  wasmesh dashboard --prometheus http://127.0.0.1:9090 --control-plane http://127.0.0.1:15014',
  ],
};

export async function dashboardCommand(argv: string[], io: CliIo): Promise<number> {
  const cmd = DASHBOARD_SPEC.command;
  const { help, values } = parseArgs(DASHBOARD_SPEC, argv);
  if (help) {
    io.out(formatHelp(DASHBOARD_SPEC));
    return 0;
  }
  const listen = hostPortFlag(cmd, '--listen', (values.listen as string | undefined) ?? '127.0.0.1:20001');
  const window = (values.window as string | undefined) ?? '1m';
  try {
    promRange(window);
  } catch (err) {
    throw new UsageError(cmd, `--window: ${(err as Error).message}`);
  }
  let prometheus;
  try {
    prometheus = prometheusApi((values.prometheus as string | undefined) ?? 'http://127.0.0.1:9090');
  } catch (err) {
    throw new UsageError(cmd, (err as Error).message);
  }
  const controlPlane = values['control-plane'] as string | undefined;
  if (controlPlane !== undefined && !/^http:\/\//.test(controlPlane)) throw new UsageError(cmd, `--control-plane: expected http://host:port, got "${controlPlane}"`);
  let server;
  try {
    server = await startDashboardServer({ prometheus, controlPlane, host: listen.host, port: listen.port, window });
  } catch (err) {
    if (err instanceof ListenError) {
      io.err(`${cmd}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  io.err(logLine('info', `dashboard: open ${server.url} (Prometheus ${prometheus.url}${controlPlane ? `, control plane ${controlPlane}` : ''})`));
  await untilStopped(io, () => {});
  await server.close();
  return 0;
}
