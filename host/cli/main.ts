// The `wasmesh` command line: dispatches to a sub-command and maps errors to exit codes
// (0 ok, 1 runtime failure such as invalid config or a busy port, 2 bad command-line usage).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/wasm.js';
import { UsageError } from './args.js';
import { proxyCommand } from './proxy-command.js';
import type { CliIo } from './cli-io.js';
import { processIo } from './cli-io.js';

interface SubCommand {
  name: string;
  summary: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

// Each command's modules load only when it runs: `proxy` and `sidecar` must not pull in the
// config toolchain (yaml, zod) that `demo` and `envoy-config` use in-process.
const COMMANDS: SubCommand[] = [
  { name: 'proxy', summary: 'run the proxy (sidecar or ingress gateway) from Istio YAML', run: proxyCommand },
  { name: 'sidecar', summary: 'run the drop-in sidecar: outbound 15001, inbound 15006 to the app, health 15021', run: (argv, io) => import('./sidecar-command.js').then((m) => m.sidecarCommand(argv, io)) },
  { name: 'demo', summary: 'run a seed\'s mesh on loopback: seed 000 (default), istio101, bookinfo; protocols: gRPC, WebSocket, Redis', run: (argv, io) => import('./demo-command.js').then((m) => m.demoCommand(argv, io)) },
  { name: 'control-plane', summary: 'serve Istio YAML to every proxy over xDS (istiod\'s role)', run: (argv, io) => import('./control-plane-command.js').then((m) => m.controlPlaneCommand(argv, io)) },
  { name: 'proxy-status', summary: 'the sync state of every proxy connected to the control plane', run: (argv, io) => import('./proxy-status-command.js').then((m) => m.proxyStatusCommand(argv, io)) },
  { name: 'proxy-config', summary: 'what a running proxy (wasmesh or Envoy) uses, as istioctl shows it: listeners, routes, clusters, endpoints, secret, bootstrap', run: (argv, io) => import('./proxy-config-command.js').then((m) => m.proxyConfigCommand(argv, io)) },
  { name: 'envoy-bootstrap', summary: 'print a bootstrap that takes stock Envoy\'s config from the control plane', run: (argv, io) => import('./envoy-bootstrap-command.js').then((m) => m.envoyBootstrapCommand(argv, io)) },
  { name: 'grpc-bootstrap', summary: 'print the xDS bootstrap a proxyless gRPC application reads (GRPC_XDS_BOOTSTRAP)', run: (argv, io) => import('./grpc-bootstrap-command.js').then((m) => m.grpcBootstrapCommand(argv, io)) },
  { name: 'token', summary: 'sign a workload token (namespace, service account) for the control plane\'s CA', run: (argv, io) => import('./token-command.js').then((m) => m.tokenCommand(argv, io)) },
  { name: 'agent', summary: 'keep a workload certificate and serve it to a local stock Envoy over SDS (Istio\'s agent)', run: (argv, io) => import('./agent-command.js').then((m) => m.agentCommand(argv, io)) },
  { name: 'explain', summary: 'one request through the mesh: the rule that matches and why earlier ones do not, weights, endpoint, retries, mTLS, authorization', run: (argv, io) => import('./explain-command.js').then((m) => m.explainCommand(argv, io)) },
  { name: 'envoy-config', summary: 'print the equivalent Envoy v3 bootstrap for stock Envoy', run: (argv, io) => import('./envoy-config-command.js').then((m) => m.envoyConfigCommand(argv, io)) },
  { name: 'analyze', summary: 'istioctl analyze for Istio YAML files: Istio\'s IST messages with file and line', run: (argv, io) => import('./analyze-command.js').then((m) => m.analyzeCommand(argv, io)) },
  { name: 'kube-inject', summary: 'inject the wasmesh sidecar into Kubernetes manifests (as istioctl kube-inject)', run: (argv, io) => import('./kube-inject-command.js').then((m) => m.kubeInjectCommand(argv, io)) },
  { name: 'install', summary: 'install the control plane, CRDs, RBAC, mesh config and injection webhook into a Kubernetes cluster (--dry-run prints the manifests)', run: (argv, io) => import('./install-command.js').then((m) => m.installCommand(argv, io)) },
  { name: 'dashboard', summary: 'the service graph and golden signals in the browser, from Prometheus (and the control plane)', run: (argv, io) => import('./dashboard-command.js').then((m) => m.dashboardCommand(argv, io)) },
];

function usage(): string {
  const lines = ['Usage: wasmesh <command> [flags]', '', 'Commands:'];
  // Two spaces after the longest name: a fixed width ran `envoy-config` into its summary.
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(width)}${c.summary}`);
  lines.push('', 'Run `wasmesh <command> --help` for the flags of a command.', '`wasmesh --version` prints the version.');
  return lines.join('\n') + '\n';
}

function version(): string {
  try {
    return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
}

/** Runs the CLI with the words after `wasmesh`; resolves to the process exit code. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(usage());
    return 2;
  }
  if (first === '-h' || first === '--help' || first === 'help') {
    io.out(usage());
    return 0;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    io.out(`wasmesh ${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    io.err(`wasmesh: unknown command "${first}"\n\n${usage()}`);
    return 2;
  }
  try {
    const code = await command.run(rest, io);
    io.commandDone(code);
    return code;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(err.message + '\n');
      return 2;
    }
    throw err;
  }
}
