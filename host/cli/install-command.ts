// `wasmesh install --crds-only`: prints the CustomResourceDefinitions of every kind wasmesh
// reads (host/kube/istio-crds.ts), for `kubectl apply --server-side -f -`. The rest of an install
// (the control plane's Deployment, RBAC, the injection webhook) is not built yet, so the command
// refuses to run without --crds-only rather than print a partial install as if it were whole.
import { stringify } from 'yaml';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { istioCrds } from '../kube/istio-crds.js';

export const INSTALL_SPEC: CommandSpec = {
  command: 'wasmesh install',
  summary:
    'Prints Kubernetes manifests for wasmesh. Only the CustomResourceDefinitions are built yet (--crds-only): ' +
    'the Istio networking, security and telemetry kinds wasmesh reads, and its RateLimitPolicy, with Istio\'s names, ' +
    'short names, categories and versions and OpenAPI schemas generated from the schemas the file loader validates with.',
  flags: [
    { name: 'crds-only', kind: 'boolean', help: 'print only the CustomResourceDefinitions (required: nothing else is built yet)' },
    { name: 'output', short: 'o', kind: 'string', valueName: '<yaml|json>', help: 'output format', defaultText: 'yaml' },
  ],
  epilog: [
    'Example:',
    '  wasmesh install --crds-only | kubectl apply --server-side -f -',
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
  if (values['crds-only'] !== true) {
    throw new UsageError(cmd, 'only --crds-only is implemented: the control plane Deployment, RBAC and injection webhook manifests are not built yet (issue 16)');
  }
  const output = (values.output as string | undefined) ?? 'yaml';
  if (output !== 'yaml' && output !== 'json') throw new UsageError(cmd, `-o must be yaml or json, got "${output}"`);
  const crds = istioCrds().map((g) => g.crd);
  if (output === 'json') io.out(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }, null, 2)}\n`);
  // No YAML anchors: every version repeats its schema in full, as kubectl and Helm expect.
  else io.out(crds.map((c) => stringify(c, { aliasDuplicateObjects: false, lineWidth: 0 })).join('---\n'));
  return 0;
}
