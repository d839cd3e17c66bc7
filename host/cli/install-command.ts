// `wasmesh install --crds-only`: prints the CustomResourceDefinitions of every kind wasmesh
// reads (host/kube/istio-crds.ts), for `kubectl apply --server-side -f -`.
// `wasmesh install --webhook-only`: prints the injection webhook's MutatingWebhookConfiguration
// (host/kube/injection-webhook-config.ts) with the caBundle from the control plane's CA directory
// or a PEM file. The rest of an install (the control plane's Deployment, RBAC) is not built yet,
// so the command refuses to run without one of the two rather than print a partial install as if
// it were whole.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { istioCrds } from '../kube/istio-crds.js';
import { injectionWebhookConfiguration } from '../kube/injection-webhook-config.js';

export const INSTALL_SPEC: CommandSpec = {
  command: 'wasmesh install',
  summary:
    'Prints Kubernetes manifests for wasmesh. Built yet: the CustomResourceDefinitions (--crds-only): ' +
    'the Istio networking, security and telemetry kinds wasmesh reads, and its RateLimitPolicy, with Istio\'s names, ' +
    'short names, categories and versions and OpenAPI schemas generated from the schemas the file loader validates with; ' +
    'and the sidecar injection webhook\'s MutatingWebhookConfiguration (--webhook-only), as Istio\'s istio-sidecar-injector.',
  flags: [
    { name: 'crds-only', kind: 'boolean', help: 'print only the CustomResourceDefinitions' },
    { name: 'webhook-only', kind: 'boolean', help: 'print only the MutatingWebhookConfiguration of `wasmesh control-plane --webhook-listen`' },
    { name: 'webhook-url', kind: 'string', valueName: '<https://host:port/inject>', help: 'with --webhook-only: the webhook\'s URL (a control plane outside the cluster)', defaultText: 'Service istio-system/istiod:443 path /inject' },
    { name: 'ca-dir', kind: 'string', valueName: '<dir>', help: 'with --webhook-only: the control plane\'s --ca-dir; its root-cert.pem is the caBundle' },
    { name: 'ca-bundle', kind: 'string', valueName: '<file>', help: 'with --webhook-only: the caBundle as a PEM file (a webhook served with --webhook-cert)' },
    { name: 'failure-policy', kind: 'string', valueName: '<Fail|Ignore>', help: 'with --webhook-only: what the API server does when the webhook cannot answer', defaultText: 'Fail' },
    { name: 'output', short: 'o', kind: 'string', valueName: '<yaml|json>', help: 'output format', defaultText: 'yaml' },
  ],
  epilog: [
    'Example:',
    '  wasmesh install --crds-only | kubectl apply --server-side -f -',
    '  wasmesh install --webhook-only --ca-dir ./ca | kubectl apply -f -',
    'The CRDs are too large for client-side apply\'s last-applied annotation; use --server-side (or kubectl create).',
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
  if (values['webhook-only'] === true) return webhookOnly(cmd, values, output, io);
  const stray = ['webhook-url', 'ca-dir', 'ca-bundle', 'failure-policy'].find((f) => values[f] !== undefined);
  if (stray) throw new UsageError(cmd, `--${stray} goes with --webhook-only`);
  if (values['crds-only'] !== true) {
    throw new UsageError(cmd, 'only --crds-only and --webhook-only are implemented: the control plane Deployment and RBAC manifests are not built yet (issue 16)');
  }
  const crds = istioCrds().map((g) => g.crd);
  if (output === 'json') io.out(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }, null, 2)}\n`);
  // No YAML anchors: every version repeats its schema in full, as kubectl and Helm expect.
  else io.out(crds.map((c) => stringify(c, { aliasDuplicateObjects: false, lineWidth: 0 })).join('---\n'));
  return 0;
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
