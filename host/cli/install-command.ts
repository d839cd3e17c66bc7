// `wasmesh install`: istioctl install's role. Builds every object of an install
// (host/kube/install-manifests.ts: the CRDs, istio-system, the control plane's ServiceAccount,
// ClusterRole and binding, the mesh config, the Deployment and Service `istiod`, the injection
// webhook's configuration) and applies them to the cluster of the kubeconfig by server-side apply,
// reporting each object; `--dry-run` prints them instead (istioctl manifest generate), and
// `--server-dry-run` has the API server check and admit them without storing anything.
// `--crds-only` and `--webhook-only` print one part, as before, for `kubectl apply`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { istioCrds } from '../kube/istio-crds.js';
import { injectionWebhookConfiguration } from '../kube/injection-webhook-config.js';
import { CA_SECRET_FILES, installManifests } from '../kube/install-manifests.js';
import { buildMeshConfig, MeshConfigError } from '../kube/mesh-config.js';
import { kubeAccess } from '../kube/kube-access.js';
import { KubeApi } from '../kube/kube-api.js';
import { objectPath, serverSideApply, type ApplyOutcome } from '../kube/kube-apply.js';
import { waitForRollout } from '../kube/rollout-status.js';
import { parseDuration } from '../common/duration.js';
import { objectRef, type KubeObject } from '../kube/kube-object.js';
import { packageVersion } from './kube-inject-command.js';

export const INSTALL_SPEC: CommandSpec = {
  command: 'wasmesh install',
  summary:
    'Installs wasmesh in a Kubernetes cluster as istioctl install does: the CustomResourceDefinitions of the Istio kinds wasmesh reads, ' +
    'namespace istio-system, the control plane\'s ServiceAccount and least-privilege ClusterRole, the mesh config ConfigMap `istio`, ' +
    'the control plane Deployment and Service `istiod` (ports 15010, 15012, 443→15017, 15014) and the sidecar injection webhook\'s ' +
    'MutatingWebhookConfiguration, applied server-side to the cluster of the kubeconfig with one line per object. ' +
    '--dry-run prints the manifests instead; --crds-only and --webhook-only print one part.',
  flags: [
    { name: 'dry-run', kind: 'boolean', help: 'print the manifests that would be applied, contact no cluster' },
    { name: 'server-dry-run', kind: 'boolean', help: 'send every object as a dry run: the API server validates and admits it, stores nothing' },
    { name: 'wait', kind: 'boolean', help: 'after applying, wait until the control plane Deployment has rolled out (as kubectl rollout status)' },
    { name: 'readiness-timeout', kind: 'string', valueName: '<duration>', help: 'with --wait: how long to wait', defaultText: '5m' },
    { name: 'kubeconfig', kind: 'string', valueName: '<file>', help: 'the cluster to install into', defaultText: '$KUBECONFIG, in-cluster, ~/.kube/config' },
    { name: 'image', kind: 'string', valueName: '<image>', help: 'the wasmesh image: the control plane runs it, the webhook injects it', defaultText: 'wasmesh/proxy:<version>' },
    { name: 'mesh-config', kind: 'string', valueName: '<file>', help: 'Istio MeshConfig YAML merged over the defaults into ConfigMap istio (key mesh)' },
    { name: 'set', kind: 'string', repeat: true, valueName: '<meshConfig.path=value>', help: 'one mesh config field, after --mesh-config (e.g. meshConfig.trustDomain=example.org)' },
    { name: 'crds-only', kind: 'boolean', help: 'print only the CustomResourceDefinitions' },
    { name: 'webhook-only', kind: 'boolean', help: 'print only the MutatingWebhookConfiguration of `wasmesh control-plane --webhook-listen`' },
    { name: 'webhook-url', kind: 'string', valueName: '<https://host:port/inject>', help: 'with --webhook-only: the webhook\'s URL (a control plane outside the cluster)', defaultText: 'Service istio-system/istiod:443 path /inject' },
    { name: 'ca-dir', kind: 'string', valueName: '<dir>', help: 'the control plane\'s CA directory: its root-cert.pem is the webhook\'s caBundle; in a full install its files become Secret istio-system/cacerts, the CA of the Deployment (an empty directory gets a new root, kept for the next install)' },
    { name: 'ca-bundle', kind: 'string', valueName: '<file>', help: 'with --webhook-only: the caBundle as a PEM file (a webhook served with --webhook-cert)' },
    { name: 'failure-policy', kind: 'string', valueName: '<Fail|Ignore>', help: 'what the API server does when the webhook cannot answer', defaultText: 'Fail' },
    { name: 'ip-families', kind: 'string', valueName: '<IPv4|IPv6|IPv4,IPv6|IPv6,IPv4>', help: 'the cluster\'s IP families, the primary first (Istio\'s values.global.ipFamilies): with IPv6 the control plane listens on [::] and Service istiod asks for them', defaultText: 'IPv4' },
    { name: 'output', short: 'o', kind: 'string', valueName: '<yaml|json>', help: 'with --dry-run, --crds-only or --webhook-only: output format', defaultText: 'yaml' },
  ],
  epilog: [
    'Example:',
    '  wasmesh install                                  # into the current kubeconfig context',
    '  wasmesh install --dry-run > wasmesh.yaml && kubectl apply --server-side -f wasmesh.yaml',
    '  wasmesh install --ca-dir ./ca --set meshConfig.trustDomain=example.org',
    '  wasmesh install --crds-only | kubectl apply --server-side -f -',
    '  wasmesh install --webhook-only --ca-dir ./ca | kubectl apply -f -',
    'Without --ca-dir the control plane generates its root at start into an emptyDir (lost when the pod is replaced) and',
    'the webhook\'s caBundle is left out, for the control plane to patch in. The CRDs are too large for client-side apply:',
    'use --server-side (or kubectl create).',
  ],
};

export async function installCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(INSTALL_SPEC, argv);
  if (help) {
    io.out(formatHelp(INSTALL_SPEC));
    return 0;
  }
  const cmd = INSTALL_SPEC.command;
  const output = (values.output as string | undefined) ?? 'yaml';
  if (output !== 'yaml' && output !== 'json') throw new UsageError(cmd, `-o must be yaml or json, got "${output}"`);
  if (values['crds-only'] === true && values['webhook-only'] === true) throw new UsageError(cmd, '--crds-only and --webhook-only: choose one');
  const printOnly = values['crds-only'] === true || values['webhook-only'] === true;
  if (printOnly) {
    const stray = ['dry-run', 'server-dry-run', 'wait', 'readiness-timeout', 'kubeconfig', 'image', 'mesh-config', 'set', 'ip-families'].find((f) => values[f] !== undefined);
    if (stray) throw new UsageError(cmd, `--${stray} goes with a full install, not --${values['crds-only'] === true ? 'crds' : 'webhook'}-only (which only prints)`);
  }
  if (values['webhook-only'] === true) return webhookOnly(cmd, values, output, io);
  if (values['crds-only'] === true) {
    const stray = ['webhook-url', 'ca-dir', 'ca-bundle', 'failure-policy'].find((f) => values[f] !== undefined);
    if (stray) throw new UsageError(cmd, `--${stray} goes with --webhook-only or a full install`);
    printObjects(istioCrds().map((g) => g.crd as unknown as KubeObject), output, io);
    return 0;
  }
  return fullInstall(cmd, values, output, io);
}

/** --ip-families: IPv4, IPv6, or both in either order (the primary first), as a Service's ipFamilies. */
export function ipFamiliesFlag(cmd: string, text: string | undefined): Array<'IPv4' | 'IPv6'> | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((s) => s.trim());
  const ok = list.length >= 1 && list.length <= 2 && list.every((f) => f === 'IPv4' || f === 'IPv6') && new Set(list).size === list.length;
  if (!ok) throw new UsageError(cmd, `--ip-families: expected IPv4, IPv6, IPv4,IPv6 or IPv6,IPv4 (a Service's ipFamilies), got "${text}"`);
  return list as Array<'IPv4' | 'IPv6'>;
}

async function fullInstall(cmd: string, values: Record<string, unknown>, output: string, io: CliIo): Promise<number> {
  const stray = ['webhook-url', 'ca-bundle'].find((f) => values[f] !== undefined);
  if (stray) throw new UsageError(cmd, `--${stray} goes with --webhook-only (a full install's webhook is served by the Deployment, its certificate issued by the CA)`);
  const dryRun = values['dry-run'] === true;
  const serverDryRun = values['server-dry-run'] === true;
  if (dryRun && serverDryRun) throw new UsageError(cmd, '--dry-run (print, no cluster) and --server-dry-run (the API server checks): choose one');
  if (!dryRun && values.output !== undefined) throw new UsageError(cmd, '-o goes with --dry-run (an install reports one line per object)');
  const wait = values.wait === true;
  if (!wait && values['readiness-timeout'] !== undefined) throw new UsageError(cmd, '--readiness-timeout goes with --wait');
  if (wait && (dryRun || serverDryRun)) throw new UsageError(cmd, '--wait waits for what was applied: not with --dry-run or --server-dry-run');
  let readinessMs = 300_000;
  if (values['readiness-timeout'] !== undefined) {
    const d = parseDuration(values['readiness-timeout'] as string);
    if (!d.ok) throw new UsageError(cmd, `--readiness-timeout: ${d.reason}`);
    readinessMs = d.ms;
  }
  const policy = (values['failure-policy'] as string | undefined) ?? 'Fail';
  if (policy !== 'Fail' && policy !== 'Ignore') throw new UsageError(cmd, `--failure-policy must be Fail or Ignore, got "${policy}"`);
  const image = (values.image as string | undefined) ?? `wasmesh/proxy:${packageVersion()}`;
  const meshFile = values['mesh-config'] as string | undefined;
  let mesh;
  try {
    mesh = buildMeshConfig({
      ...(meshFile !== undefined ? { file: { name: `--mesh-config ${meshFile}`, text: readText(cmd, '--mesh-config', meshFile) } } : {}),
      sets: (values.set as string[] | undefined) ?? [],
    }, image);
  } catch (err) {
    if (err instanceof MeshConfigError) throw new UsageError(cmd, err.message);
    throw err;
  }
  const dir = values['ca-dir'] as string | undefined;
  const caFiles = dir !== undefined ? await prepareCaDir(cmd, dir, mesh.injectDefaults.trustDomain, io) : undefined;
  const ipFamilies = ipFamiliesFlag(cmd, values['ip-families'] as string | undefined);
  const objects = installManifests({ image, mesh, failurePolicy: policy, ...(caFiles !== undefined ? { caFiles } : {}), ...(ipFamilies !== undefined ? { ipFamilies } : {}) });
  if (dryRun) {
    printObjects(objects, output, io);
    return 0;
  }
  let api: KubeApi;
  try {
    const access = kubeAccess(values.kubeconfig as string | undefined);
    api = new KubeApi(access);
    io.err(`${cmd}: ${serverDryRun ? 'server dry run against' : 'applying to'} ${access.origin}\n`);
  } catch (err) {
    io.err(`${cmd}: ${(err as Error).message} (--dry-run prints the manifests without a cluster)\n`);
    return 1;
  }
  const counts: Record<ApplyOutcome | 'not checked', number> = { created: 0, configured: 0, unchanged: 0, 'not checked': 0 };
  // A server dry run stores nothing: a namespace it would create is still absent for the objects in it.
  const absentNamespaces = new Set<string>();
  try {
    for (const o of objects) {
      const ns = o.metadata.namespace;
      if (ns !== undefined && absentNamespaces.has(ns)) {
        counts['not checked']++;
        io.out(`- ${objectRef(o)} not checked (server dry run: namespace ${ns} does not exist yet)\n`);
        continue;
      }
      let r;
      try {
        r = await serverSideApply(api, o, { dryRun: serverDryRun });
      } catch (err) {
        io.err(`✘ ${objectRef(o)}: ${(err as Error).message}\n`);
        io.err(`${cmd}: stopped at ${objectRef(o)}; ${counts.created + counts.configured + counts.unchanged} of ${objects.length} object(s) applied before it\n`);
        return 1;
      }
      counts[r.outcome]++;
      if (serverDryRun && o.kind === 'Namespace' && r.outcome === 'created') absentNamespaces.add(o.metadata.name);
      io.out(`✔ ${r.ref} ${r.outcome}${serverDryRun ? ' (server dry run)' : ''}\n`);
    }
    io.out(`${serverDryRun ? 'server dry run: ' : ''}${objects.length} object(s): ${counts.created} created, ${counts.configured} configured, ${counts.unchanged} unchanged${counts['not checked'] > 0 ? `, ${counts['not checked']} not checked` : ''}\n`);
    if (wait) {
      const deployment = objects.find((o) => o.kind === 'Deployment')!;
      io.err(`${cmd}: waiting up to ${readinessMs / 1000} s for ${objectRef(deployment)} to roll out\n`);
      try {
        await waitForRollout(api, objectPath(deployment), readinessMs);
      } catch (err) {
        io.err(`✘ ${objectRef(deployment)}: ${(err as Error).message} (its pods: kubectl -n ${deployment.metadata.namespace} describe pods -l app=${deployment.metadata.name})\n`);
        return 1;
      }
      io.out(`✔ ${objectRef(deployment)} rolled out\n`);
    }
  } finally {
    api.close();
  }
  if (!serverDryRun) {
    io.out('next: kubectl label namespace <ns> istio-injection=enabled, then (re)create its pods; with `kubectl -n istio-system port-forward svc/istiod 15014`, `wasmesh proxy-status` lists their sidecars\n');
  }
  return 0;
}

function readText(cmd: string, flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(cmd, `${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The CA directory's files for Secret cacerts. As `control-plane --ca-dir`: an empty or absent
 * directory gets a new self-signed root (kept there, so the next install uses the same one), a
 * plug-in CA's four files are checked and kept, and token-key.pem is made when missing — the
 * Deployment mounts the Secret read-only, so every file must exist before it starts.
 */
async function prepareCaDir(cmd: string, dir: string, trustDomain: string, io: CliIo): Promise<Record<string, string>> {
  // Loaded only with --ca-dir: the X.509 library costs ~0.3 s at start.
  const { openCaFiles } = await import('../identity/ca-files.js');
  const { openTokenKey, TOKEN_KEY_FILE } = await import('../identity/token-key.js');
  const hadTokenKey = existsSync(join(dir, TOKEN_KEY_FILE));
  try {
    const material = await openCaFiles({ dir, keyAlgorithm: 'ecdsa-p256', trustDomain });
    if (material.generated) io.err(`${cmd}: --ca-dir ${dir}: generated a new self-signed root (trust domain ${trustDomain}); keep the directory, the next install reuses it\n`);
    openTokenKey(dir);
    if (!hadTokenKey) io.err(`${cmd}: --ca-dir ${dir}: wrote ${TOKEN_KEY_FILE} (the key of the control plane's own tokens)\n`);
  } catch (err) {
    throw new UsageError(cmd, (err as Error).message.startsWith('--ca-dir') ? (err as Error).message : `--ca-dir ${dir}: ${(err as Error).message}`);
  }
  const out: Record<string, string> = {};
  for (const name of CA_SECRET_FILES) out[name] = readFileSync(join(dir, name), 'utf8');
  // Istio's own istio-ca-secret layout leaves root-cert.pem empty; the webhook needs the root itself.
  if (!out['root-cert.pem']!.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(cmd, `--ca-dir ${dir}: root-cert.pem: no PEM certificate in it (the webhook's caBundle and the mesh's trust bundle come from it)`);
  return out;
}

function printObjects(objects: KubeObject[], output: string, io: CliIo): void {
  if (output === 'json') io.out(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`);
  // No YAML anchors: every CRD version repeats its schema in full, as kubectl and Helm expect.
  else io.out(objects.map((o) => stringify(o, { aliasDuplicateObjects: false, lineWidth: 0 })).join('---\n'));
}

function webhookOnly(cmd: string, values: Record<string, unknown>, output: string, io: CliIo): number {
  const url = values['webhook-url'] as string | undefined;
  if (url !== undefined) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new UsageError(cmd, `--webhook-url: not a URL: "${url}"`);
    }
    // The API server calls webhooks over HTTPS only, without user:password, query or fragment.
    if (u.protocol !== 'https:' || u.username !== '' || u.search !== '' || u.hash !== '') throw new UsageError(cmd, `--webhook-url must be https://host[:port]/path without credentials, query or fragment, got "${url}"`);
  }
  const policy = (values['failure-policy'] as string | undefined) ?? 'Fail';
  if (policy !== 'Fail' && policy !== 'Ignore') throw new UsageError(cmd, `--failure-policy must be Fail or Ignore, got "${policy}"`);
  const dir = values['ca-dir'] as string | undefined;
  const bundleFile = values['ca-bundle'] as string | undefined;
  if ((dir === undefined) === (bundleFile === undefined)) throw new UsageError(cmd, '--webhook-only needs the caBundle: --ca-dir <the control plane\'s CA directory> or --ca-bundle <PEM file>');
  const file = dir !== undefined ? join(dir, 'root-cert.pem') : bundleFile!;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(cmd, `cannot read the CA bundle ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}${dir !== undefined ? ' (start `wasmesh control-plane --ca-dir` once to generate it)' : ''}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(cmd, `${file}: no PEM certificate in it`);
  const config = injectionWebhookConfiguration({ ...(url !== undefined ? { url } : {}), caBundlePem: pem, failurePolicy: policy });
  io.out(output === 'json' ? `${JSON.stringify(config, null, 2)}\n` : stringify(config, { aliasDuplicateObjects: false, lineWidth: 0 }));
  return 0;
}
