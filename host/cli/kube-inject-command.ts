// `wasmesh kube-inject -f <file|-> [-o <file>]`: istioctl kube-inject for wasmesh's image — reads
// Kubernetes manifests and prints them with the sidecar injected into every workload's pod
// (host/kube/kube-inject.ts), for `kubectl apply -f -`. Workloads left alone are reported on
// stderr; a bad document stops the command with its location, and nothing is printed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { packageRoot } from '../core/wasm.js';
import { kubeInject, KubeInjectError } from '../kube/kube-inject.js';
import { kubeVersionOf, nativeSidecarMode, nativeSidecarsFor, type NativeSidecarMode } from '../kube/native-sidecars.js';
import { DEFAULT_DISCOVERY_ADDRESS, defaultInjectDefaults, InjectSettingError, meshConfigDefaults } from '../kube/injection-settings.js';

export const KUBE_INJECT_SPEC: CommandSpec = {
  command: 'wasmesh kube-inject',
  summary:
    'Injects the wasmesh sidecar into Kubernetes manifests, as istioctl kube-inject does: an istio-init init container ' +
    '(the image\'s init mode, istio-iptables flags) and an istio-proxy container (the image\'s sidecar mode) in the pod of every ' +
    'Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and CronJob; other documents pass through. ' +
    'Honours sidecar.istio.io/inject, sidecar.istio.io/nativeSidecar, sidecar.istio.io/interceptionMode, the traffic.sidecar.istio.io/* capture annotations, proxy.istio.io/config and sidecar.istio.io/rewriteAppHTTPProbers.',
  flags: [
    { name: 'filename', short: 'f', kind: 'string', valueName: '<file|->', help: 'the manifest to inject (- for stdin)' },
    { name: 'output', short: 'o', kind: 'string', valueName: '<file>', help: 'write the result here instead of stdout' },
    { name: 'meshConfig', kind: 'string', valueName: '<file>', help: 'Istio MeshConfig YAML: defaultConfig (discoveryAddress, holdApplicationUntilProxyStarts, interceptionMode, proxyMetadata) and trustDomain' },
    { name: 'image', kind: 'string', valueName: '<image>', help: 'the sidecar image (init and proxy)', defaultText: 'wasmesh/proxy:<version>' },
    { name: 'native-sidecars', kind: 'string', valueName: '<true|false|auto>', help: 'istio-proxy as a Kubernetes native sidecar (an init container with restartPolicy: Always; Kubernetes >= 1.29), as istiod\'s ENABLE_NATIVE_SIDECARS; auto: on for --kube-version >= 1.33, as Istio 1.27+', defaultText: '$ENABLE_NATIVE_SIDECARS, else auto' },
    { name: 'kube-version', kind: 'string', valueName: '<1.N>', help: 'the cluster\'s Kubernetes version, for --native-sidecars auto (unknown: off)' },
    { name: 'discoveryAddress', kind: 'string', valueName: '<host:port>', help: 'the control plane address (CA_ADDR, PROXY_CONFIG)', defaultText: DEFAULT_DISCOVERY_ADDRESS },
  ],
  epilog: [
    'Example:',
    '  wasmesh kube-inject -f deployment.yaml | kubectl apply -f -',
    'httpGet/tcpSocket probes are rewritten to the sidecar\'s 15020/app-health/<container>/<readyz|livez|startupz>, as Istio does',
    '(sidecar.istio.io/rewriteAppHTTPProbers: "false" keeps them).',
    'Native sidecars (Kubernetes >= 1.29): wasmesh kube-inject --native-sidecars true -f job.yaml — the app starts once the',
    'proxy is ready and a Job completes when its app exits (docs/kubernetes.md, Pod lifecycle).',
  ],
};

export async function kubeInjectCommand(argv: string[], io: CliIo, readStdin: () => string = () => readFileSync(0, 'utf8')): Promise<number> {
  const { help, values } = parseArgs(KUBE_INJECT_SPEC, argv);
  if (help) {
    io.out(formatHelp(KUBE_INJECT_SPEC));
    return 0;
  }
  const cmd = KUBE_INJECT_SPEC.command;
  const file = values.filename as string | undefined;
  if (file === undefined) throw new UsageError(cmd, '-f <file|-> is required');
  const read = (path: string, what: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(cmd, `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  let defaults = defaultInjectDefaults((values.image as string | undefined) ?? `wasmesh/proxy:${packageVersion()}`);
  const meshFile = values.meshConfig as string | undefined;
  if (meshFile !== undefined) {
    try {
      defaults = meshConfigDefaults(read(meshFile, 'mesh config'), defaults);
    } catch (err) {
      if (err instanceof InjectSettingError) throw new UsageError(cmd, `${meshFile}: ${err.where}: ${err.message}`);
      throw err;
    }
  }
  const discovery = values.discoveryAddress as string | undefined;
  if (discovery !== undefined) {
    if (!/^[^\s:]+:\d{1,5}$/.test(discovery)) throw new UsageError(cmd, `--discoveryAddress must be host:port, got "${discovery}"`);
    defaults = { ...defaults, discoveryAddress: discovery };
  }
  let mode: NativeSidecarMode;
  try {
    mode = nativeSidecarMode((values['native-sidecars'] as string | undefined) ?? process.env.ENABLE_NATIVE_SIDECARS ?? 'auto', values['native-sidecars'] !== undefined ? '--native-sidecars' : 'ENABLE_NATIVE_SIDECARS');
  } catch (err) {
    throw new UsageError(cmd, (err as Error).message);
  }
  const kubeVersionText = values['kube-version'] as string | undefined;
  const kubeVersion = kubeVersionText === undefined ? null : kubeVersionOf(kubeVersionText);
  if (kubeVersionText !== undefined && kubeVersion === null) throw new UsageError(cmd, `--kube-version must be a Kubernetes version such as 1.33, got "${kubeVersionText}"`);
  defaults = { ...defaults, nativeSidecars: nativeSidecarsFor(mode, kubeVersion) };
  const text = file === '-' ? readStdin() : read(file, 'manifest');
  let result;
  try {
    result = kubeInject(text, file === '-' ? '<stdin>' : file, defaults);
  } catch (err) {
    if (err instanceof KubeInjectError) {
      io.err(`wasmesh kube-inject: error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  for (const note of result.notes) io.err(`wasmesh kube-inject: ${note}\n`);
  const out = values.output as string | undefined;
  if (out === undefined) io.out(result.yaml);
  else {
    try {
      writeFileSync(out, result.yaml);
    } catch (err) {
      throw new UsageError(cmd, `cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return 0;
}

export function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
  } catch {
    return 'latest';
  }
}
