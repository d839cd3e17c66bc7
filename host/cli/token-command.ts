// `wasmesh token`: the token a workload presents to the control plane's CA when there is no
// Kubernetes to project a service-account token — signed with the control plane's token key (in
// its --ca-dir) for a namespace and service account, and written to a file the proxy reads.
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { parseDuration } from '../common/duration.js';
import { IdentityError } from '../identity/identity-error.js';
import { spiffeId } from '../identity/spiffe-id.js';
import { openTokenKey } from '../identity/token-key.js';
import { signToken, TOKEN_AUDIENCE } from '../identity/workload-token.js';

/** Where `wasmesh token` looks for the control plane's keys without --ca-dir. */
export const DEFAULT_TOKEN_CA_DIR = '.wasmesh/ca';

export const TOKEN_SPEC: CommandSpec = {
  command: 'wasmesh token',
  summary:
    'Signs a token for a namespace and service account with the control plane\'s token key (token-key.pem in its --ca-dir, ' +
    `generated there if absent) and writes it, as Kubernetes projects a service-account token: audience ${TOKEN_AUDIENCE}, ES256. ` +
    'A proxy presents it to the CA (`authorization: Bearer`) to get the certificate of spiffe://<trust-domain>/ns/<ns>/sa/<sa>.',
  flags: [
    { name: 'namespace', kind: 'string', valueName: '<ns>', help: 'the workload\'s namespace (required)' },
    { name: 'service-account', kind: 'string', valueName: '<sa>', help: 'the workload\'s service account (required)' },
    { name: 'ca-dir', kind: 'string', valueName: '<dir>', help: 'the control plane\'s --ca-dir', defaultText: DEFAULT_TOKEN_CA_DIR },
    { name: 'ttl', kind: 'string', valueName: '<duration>', help: 'how long the token is valid', defaultText: '24h' },
    { name: 'output', short: 'o', kind: 'string', valueName: '<file>', help: 'write the token here (0600), replacing the file at once; default: standard output' },
  ],
  epilog: [
    'Example:',
    '  wasmesh control-plane -f mesh.yaml --ca-dir ./ca &',
    '  wasmesh token --namespace shop --service-account cart --ca-dir ./ca -o ./cart.token',
  ],
};

export async function tokenCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(TOKEN_SPEC, argv);
  if (help) {
    io.out(formatHelp(TOKEN_SPEC));
    return 0;
  }
  const cmd = TOKEN_SPEC.command;
  const namespace = values.namespace as string | undefined;
  const serviceAccount = values['service-account'] as string | undefined;
  if (namespace === undefined) throw new UsageError(cmd, '--namespace is required');
  if (serviceAccount === undefined) throw new UsageError(cmd, '--service-account is required');
  try {
    spiffeId(namespace, serviceAccount);
  } catch (err) {
    throw new UsageError(cmd, (err as Error).message);
  }
  const ttl = parseDuration((values.ttl as string | undefined) ?? '24h');
  if (!ttl.ok) throw new UsageError(cmd, `--ttl: ${ttl.reason}`);
  if (ttl.ms < 1000) throw new UsageError(cmd, '--ttl: at least 1s');
  const dir = (values['ca-dir'] as string | undefined) ?? DEFAULT_TOKEN_CA_DIR;
  let token: string;
  try {
    token = signToken(openTokenKey(dir), { namespace, serviceAccount, ttlMs: ttl.ms });
  } catch (err) {
    io.err(`${cmd}: ${err instanceof IdentityError ? err.message : String(err)}\n`);
    return 1;
  }
  const out = values.output as string | undefined;
  if (out === undefined) {
    io.out(`${token}\n`);
    return 0;
  }
  // Written beside and renamed over: a proxy reading the file never sees half a token.
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, token, { mode: 0o600 });
    renameSync(tmp, out);
  } catch (err) {
    io.err(`${cmd}: cannot write ${out}: ${(err as Error).message}\n`);
    return 1;
  }
  io.err(`${cmd}: token for namespace ${namespace}, service account ${serviceAccount}, valid ${ttl.ms / 1000} s, written to ${out}\n`);
  return 0;
}
