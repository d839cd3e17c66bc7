// `wasmesh explain <url>`: one request through the mesh, every decision taken by the proxy's
// own compiled tables (host/explain/explain-request.ts).
import { formatHelp, hostPortFlag, parseArgs, UsageError, type CommandSpec } from './args.js';
import { parseLabels } from './proxy-command.js';
import type { CliIo } from './cli-io.js';
import { ConfigError } from '../config/index.js';
import { explainRequest } from '../explain/explain-request.js';
import { explainOverXds } from '../explain/xds-views.js';
import { ExplainError } from '../explain/explain-error.js';
import { renderExplainText } from '../explain/explain-text.js';

export const EXPLAIN_SPEC: CommandSpec = {
  command: 'wasmesh explain',
  summary:
    'Explains one request: which VirtualService rule matches and why each earlier rule does not, the destinations and ' +
    'their weights, the endpoint the balancer picks, timeout, retries, fault injection, the mTLS mode and the ' +
    'authorization decision, all computed by the tables and core the proxy runs.',
  flags: [
    { name: 'file', short: 'f', kind: 'string', repeat: true, valueName: '<file|dir>', help: 'Istio YAML file or folder of them (as `wasmesh proxy -f`)' },
    { name: 'from', kind: 'string', valueName: '<workload|ns/workload>', help: 'the WorkloadEntry whose sidecar sends the request (its namespace, labels and service account)' },
    { name: 'gateway', kind: 'string', valueName: '<name|ns/name>', help: 'explain the request as it enters this ingress Gateway' },
    { name: 'header', short: 'H', kind: 'string', repeat: true, valueName: '<name: value>', help: 'a request header (repeatable)' },
    { name: 'request', short: 'X', kind: 'string', valueName: '<method>', help: 'the request method', defaultText: 'GET' },
    { name: 'namespace', kind: 'string', valueName: '<ns>', help: 'namespace of resources that name none, and of the default sidecar', defaultText: 'default' },
    { name: 'principal', kind: 'string', valueName: '<spiffe id>', help: 'the source identity authorization sees (default: the --from workload\'s service account under mesh mTLS)' },
    { name: 'xds', kind: 'string', valueName: '<host:port>', help: 'ask this control plane for the views (instead of -f); the sidecar is then given by --namespace and --labels' },
    { name: 'labels', kind: 'string', valueName: '<k=v,…>', help: 'with --xds: the sidecar\'s workload labels' },
    { name: 'output', short: 'o', kind: 'string', valueName: '<text|json>', help: 'text, or json', defaultText: 'text' },
  ],
  epilog: [
    'Without --from or --gateway the request leaves a sidecar in the default namespace with no labels',
    '(what `wasmesh proxy -f` without --gateway serves), so VirtualService rules with sourceLabels do not apply.',
    'The server side (PeerAuthentication, AuthorizationPolicy) is the picked endpoint\'s workload.',
    'Runtime state the files do not hold (outlier ejections, requests in flight) is that of a fresh proxy.',
    '',
    'Example:',
    '  wasmesh explain http://reviews:9080/reviews/1 --from productpage-v1 -H "end-user: jason" \\',
    '    -H "user-agent: Chrome/120" -f examples/002-bookinfo-rules',
  ],
};

/** argv split into the URL and the flags (a string flag's value is never the URL). */
function splitUrl(argv: readonly string[]): { url: string | undefined; flags: string[]; extra: string | undefined } {
  const valued = new Set(EXPLAIN_SPEC.flags.filter((f) => f.kind === 'string').flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]));
  const flags: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w.startsWith('-') && w !== '-') {
      flags.push(w);
      if (valued.has(w) && i + 1 < argv.length) flags.push(argv[++i]!);
    } else positional.push(w);
  }
  return { url: positional[0], flags, extra: positional[1] };
}

export async function explainCommand(argv: string[], io: CliIo): Promise<number> {
  const cmd = EXPLAIN_SPEC.command;
  const { url, flags, extra } = splitUrl(argv);
  const { help, values } = parseArgs(EXPLAIN_SPEC, flags);
  if (help) {
    io.out(formatHelp(EXPLAIN_SPEC));
    return 0;
  }
  if (url === undefined) throw new UsageError(cmd, 'the request URL is required (e.g. http://reviews:9080/reviews/1)');
  if (extra !== undefined) throw new UsageError(cmd, `unexpected argument "${extra}"`);
  const files = (values.file as string[] | undefined) ?? [];
  const xds = values.xds === undefined ? null : hostPortFlag(cmd, '--xds', values.xds as string);
  if (files.length === 0 && xds === null) throw new UsageError(cmd, 'at least one -f <file|dir> is required (or --xds <host:port>)');
  if (files.length > 0 && xds !== null) throw new UsageError(cmd, '-f and --xds exclude each other: the config comes either from files or from the control plane');
  if (values.labels !== undefined && xds === null) throw new UsageError(cmd, '--labels goes with --xds (with -f, --from names the workload)');
  const output = (values.output as string | undefined) ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(cmd, `-o: expected text or json, got "${output}"`);
  const headers = ((values.header as string[] | undefined) ?? []).map((h): [string, string] => {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(cmd, `-H "${h}": expected "name: value"`);
    return [h.slice(0, colon), h.slice(colon + 1)];
  });
  try {
    const input = {
      files, url, headers,
      method: values.request as string | undefined,
      from: values.from as string | undefined,
      gateway: values.gateway as string | undefined,
      namespace: values.namespace as string | undefined,
      principal: values.principal as string | undefined,
    };
    const report = xds === null
      ? explainRequest(input)
      : await explainOverXds(input, { xds, labels: values.labels === undefined ? {} : parseLabels(values.labels as string) });
    io.out(output === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderExplainText(report));
    return 0;
  } catch (err) {
    if (err instanceof ExplainError || err instanceof ConfigError) {
      io.err(`${cmd}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
