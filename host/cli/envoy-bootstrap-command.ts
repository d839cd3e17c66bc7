// `wasmesh envoy-bootstrap`: the small bootstrap Istio's agent writes for Envoy — the admin
// address, one cluster for the control plane, ADS for everything else — so that stock Envoy
// takes its listeners, routes, clusters and endpoints from `wasmesh control-plane`.
import { hostname } from 'node:os';
import { stringify } from 'yaml';
import { formatHelp, parseArgs, hostPortFlag, portFlag, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { parseLabels } from './proxy-command.js';
import { adsBootstrap } from '../envoy/xds-resources.js';
import { sdsCluster } from '../envoy/sds-config.js';
import { nodeId } from '../xds/xds-node.js';
import { istioStatsTags } from '../envoy/stats-tags.js';
import { formatHostPort } from '../common/host-port.js';

export const ENVOY_BOOTSTRAP_SPEC: CommandSpec = {
  command: 'wasmesh envoy-bootstrap',
  summary:
    'Prints an Envoy v3 bootstrap (YAML) that takes all of Envoy\'s configuration from `wasmesh control-plane` over ADS, ' +
    'as Istio\'s agent writes one: admin, the control plane\'s cluster (HTTP/2), and the node Envoy identifies itself as.',
  flags: [
    { name: 'xds', kind: 'string', valueName: '<host:port>', help: 'the control plane\'s xDS address', defaultText: '127.0.0.1:15010' },
    { name: 'admin', kind: 'string', valueName: '<host:port>', help: "Envoy's admin address", defaultText: '127.0.0.1:15000' },
    { name: 'listen', kind: 'string', valueName: '<host:port>', help: 'one listener here instead of on the Gateway\'s server ports (a sidecar: instead of 0.0.0.0:15001)' },
    { name: 'node-id', kind: 'string', valueName: '<id>', help: 'Istio node id; default <type>~$INSTANCE_IP~$POD_NAME.<ns>~<ns>.svc.cluster.local' },
    { name: 'proxy-type', kind: 'string', valueName: '<router|sidecar>', help: 'a gateway (router: serves the Gateway its labels select) or a sidecar', defaultText: 'router' },
    { name: 'namespace', kind: 'string', valueName: '<ns>', help: 'the proxy\'s namespace', defaultText: 'default' },
    { name: 'labels', kind: 'string', valueName: '<k=v,…>', help: 'the proxy\'s labels (a gateway\'s select its Gateway, e.g. istio=ingressgateway)' },
    { name: 'gateway', kind: 'string', valueName: '<name|ns/name>', help: 'serve this Gateway by name whatever the labels' },
    { name: 'filters', kind: 'boolean', help: 'route with the wasmesh proxy-wasm filters; the filters\' configuration arrives over xDS too' },
    { name: 'delta', kind: 'boolean', help: 'incremental xDS (DELTA_GRPC) instead of state of the world' },
    { name: 'app-ports', kind: 'string', valueName: '<p[,p…]>', help: 'a sidecar\'s app ports: adds the inbound listener (Istio\'s virtualInbound) that hands requests to 127.0.0.1:<port> under the PeerAuthentication mode' },
    { name: 'inbound', kind: 'string', valueName: '<host:port>', help: 'where the sidecar\'s inbound listener binds (with --app-ports)', defaultText: '0.0.0.0:15006' },
    { name: 'istio-metrics', kind: 'string', valueName: '<on|off>', help: 'with --filters: Istio\'s standard metrics (istio_requests_total, …) by the wasmesh_stats filter, and the stats tags that name their labels', defaultText: 'on' },
    { name: 'interception-mode', kind: 'string', valueName: '<REDIRECT|TPROXY>', help: 'a sidecar\'s iptables capture (Istio\'s INTERCEPTION_MODE): TPROXY makes its capture listener (virtualOutbound, 0.0.0.0:15001) transparent, which needs CAP_NET_ADMIN', defaultText: 'REDIRECT' },
    { name: 'sds', kind: 'string', valueName: '<socket>', help: 'the `wasmesh agent`\'s SDS socket: adds the sds-grpc cluster that TLS contexts take secrets default/ROOTCA from' },
  ],
  epilog: [
    'Example:',
    '  wasmesh envoy-bootstrap --xds 127.0.0.1:15010 --labels istio=ingressgateway > envoy.yaml',
    '  envoy -c envoy.yaml',
  ],
};

export async function envoyBootstrapCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(ENVOY_BOOTSTRAP_SPEC, argv);
  if (help) {
    io.out(formatHelp(ENVOY_BOOTSTRAP_SPEC));
    return 0;
  }
  const cmd = ENVOY_BOOTSTRAP_SPEC.command;
  const xds = hostPortFlag(cmd, '--xds', (values.xds as string | undefined) ?? '127.0.0.1:15010');
  const admin = hostPortFlag(cmd, '--admin', (values.admin as string | undefined) ?? '127.0.0.1:15000');
  const type = (values['proxy-type'] as string | undefined) ?? 'router';
  if (type !== 'router' && type !== 'sidecar') throw new UsageError(cmd, `--proxy-type: expected router or sidecar, got "${type}"`);
  const namespace = (values.namespace as string | undefined) ?? process.env.POD_NAMESPACE ?? 'default';
  const labels = values.labels === undefined ? {} : parseLabels(values.labels as string);
  const id = (values['node-id'] as string | undefined) ?? nodeId(type, process.env.INSTANCE_IP || '127.0.0.1', process.env.POD_NAME || hostname(), namespace);
  const metadata: Record<string, unknown> = { NAMESPACE: namespace, LABELS: labels, CLUSTER_ID: 'Kubernetes' };
  // pilot-agent's INSTANCE_IPS (the pod's addresses, status.podIPs): the control plane reads the
  // pod's IP families from it (an IPv6-only pod's listeners on `::`, its app on ::1).
  if (process.env.INSTANCE_IPS) metadata.INSTANCE_IPS = process.env.INSTANCE_IPS;
  if (values.gateway !== undefined) metadata.WASMESH_GATEWAY = values.gateway;
  if (values.listen !== undefined) {
    const listen = hostPortFlag(cmd, '--listen', values.listen as string);
    metadata.WASMESH_LISTEN = formatHostPort(listen.host, listen.port);
  }
  if (values['app-ports'] !== undefined) {
    if (type !== 'sidecar') throw new UsageError(cmd, '--app-ports: only a sidecar (--proxy-type sidecar) has an inbound listener');
    const ports: number[] = [];
    for (const part of (values['app-ports'] as string).split(',')) {
      const port = portFlag(cmd, '--app-ports', part.trim());
      if (port === 0) throw new UsageError(cmd, '--app-ports: port 0 is not a port an app listens on');
      if (ports.includes(port)) throw new UsageError(cmd, `--app-ports: ${port} is given twice`);
      ports.push(port);
    }
    metadata.WASMESH_APP_PORTS = ports.join(',');
  }
  if (values.inbound !== undefined) {
    if (values['app-ports'] === undefined) throw new UsageError(cmd, '--inbound needs --app-ports (the ports the inbound listener hands requests to)');
    const inbound = hostPortFlag(cmd, '--inbound', values.inbound as string);
    metadata.WASMESH_INBOUND = formatHostPort(inbound.host, inbound.port);
  }
  if (values.filters === true) metadata.WASMESH_FILTERS = '1';
  if (values['interception-mode'] !== undefined) {
    const mode = values['interception-mode'] as string;
    if (mode !== 'REDIRECT' && mode !== 'TPROXY') throw new UsageError(cmd, `--interception-mode: expected REDIRECT or TPROXY, got "${mode}"`);
    if (type !== 'sidecar') throw new UsageError(cmd, '--interception-mode: only a sidecar (--proxy-type sidecar) is behind iptables capture');
    metadata.INTERCEPTION_MODE = mode;
  }
  const istioMetrics = (values['istio-metrics'] as string | undefined) ?? 'on';
  if (istioMetrics !== 'on' && istioMetrics !== 'off') throw new UsageError(cmd, `--istio-metrics: expected on or off, got "${istioMetrics}"`);
  if (istioMetrics === 'off') metadata.WASMESH_ISTIO_METRICS = 'off';
  const bootstrap = adsBootstrap({ xds, admin, nodeId: id, metadata, delta: values.delta === true });
  // The control plane sends the wasmesh_stats filter over LDS; the tag extractors that turn its
  // metric names into labelled series can only come from the bootstrap (stats_config).
  if (values.filters === true && istioMetrics === 'on') (bootstrap as Record<string, unknown>).stats_config = { stats_tags: istioStatsTags() };
  if (values.sds !== undefined) {
    (bootstrap.static_resources as { clusters: unknown[] }).clusters.push(sdsCluster(values.sds as string));
  }
  io.out(stringify(bootstrap));
  return 0;
}
