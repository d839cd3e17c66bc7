// `wasmesh grpc-bootstrap`: the xDS bootstrap Istio's agent writes for a proxyless gRPC
// application — the control plane's address and the node it identifies as, with GENERATOR=grpc —
// so that a gRPC client dialing xds:///<host>:<port> takes its routes from `wasmesh control-plane`.
import { hostname } from 'node:os';
import { formatHelp, parseArgs, hostPortFlag, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { parseLabels } from './proxy-command.js';
import { grpcXdsBootstrap } from '../xds/grpc-bootstrap.js';
import { nodeId } from '../xds/xds-node.js';

export const GRPC_BOOTSTRAP_SPEC: CommandSpec = {
  command: 'wasmesh grpc-bootstrap',
  summary:
    'Prints the xDS bootstrap (JSON) a proxyless gRPC application reads from GRPC_XDS_BOOTSTRAP, as Istio\'s agent writes ' +
    'one: the control plane\'s address and the node (a sidecar of its namespace and labels, GENERATOR=grpc). The client ' +
    'then dials xds:///<host>:<port> with a name and port of a mesh service (e.g. xds:///greeter.default.svc.cluster.local:50051).',
  flags: [
    { name: 'xds', kind: 'string', valueName: '<host:port>', help: 'the control plane\'s xDS address', defaultText: '127.0.0.1:15010' },
    { name: 'node-id', kind: 'string', valueName: '<id>', help: 'Istio node id; default sidecar~$INSTANCE_IP~$POD_NAME.<ns>~<ns>.svc.cluster.local' },
    { name: 'namespace', kind: 'string', valueName: '<ns>', help: 'the application\'s namespace (short names, sourceNamespace)', defaultText: 'default' },
    { name: 'labels', kind: 'string', valueName: '<k=v,…>', help: 'the application\'s labels (sourceLabels)' },
  ],
  epilog: [
    'Example:',
    '  wasmesh grpc-bootstrap --xds 127.0.0.1:15010 --labels app=client > grpc-bootstrap.json',
    '  GRPC_XDS_BOOTSTRAP=grpc-bootstrap.json node client.js   # @grpc/grpc-js-xds registered, dialing xds:///…',
  ],
};

export async function grpcBootstrapCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(GRPC_BOOTSTRAP_SPEC, argv);
  if (help) {
    io.out(formatHelp(GRPC_BOOTSTRAP_SPEC));
    return 0;
  }
  const xds = hostPortFlag(GRPC_BOOTSTRAP_SPEC.command, '--xds', (values.xds as string | undefined) ?? '127.0.0.1:15010');
  const namespace = (values.namespace as string | undefined) ?? process.env.POD_NAMESPACE ?? 'default';
  const labels = values.labels === undefined ? {} : parseLabels(values.labels as string);
  const id = (values['node-id'] as string | undefined) ?? nodeId('sidecar', process.env.INSTANCE_IP || '127.0.0.1', process.env.POD_NAME || hostname(), namespace);
  io.out(`${JSON.stringify(grpcXdsBootstrap({ xds, nodeId: id, metadata: { NAMESPACE: namespace, LABELS: labels, CLUSTER_ID: 'Kubernetes' } }), null, 2)}\n`);
  return 0;
}
