// `wasmesh proxy-config <kind> <admin host:port>`: what a running proxy uses, as `istioctl
// proxy-config` shows it — listeners, routes, clusters and bootstrap from the proxy's
// Envoy-shaped /config_dump (a wasmesh proxy's or a stock Envoy's: both answer the same shape),
// endpoints from its /clusters?format=json (live health, as istioctl reads a pod), secret from
// its /certs (the workload certificate chain as `default`, each trust-bundle root as `ROOTCA`,
// with serial, validity and status). `-o short` prints istioctl's table with its columns and
// filters; `-o json|yaml` the filtered resources as istioctl re-marshals them (protojson).
// `--file` reads a saved config dump instead of a proxy (istioctl's -f; endpoints from its EDS part).
import { camelKeys, filteredClusterStatuses, liveEndpointsTable, type ClustersJson } from './proxy-config/live-endpoints-view.js';
import { readFileSync } from 'node:fs';
import { formatHelp, parseArgs, hostPortFlag, UsageError, type CommandSpec, type FlagValues } from './args.js';
import type { CliIo } from './cli-io.js';
import type { CertificateDetails, CertsJson } from '../admin/certs-json.js';
import { dumpBootstrap, dumpClusters, dumpEndpoints, dumpListeners, dumpRoutes, type ConfigDumpJson } from './proxy-config/config-dump-reader.js';
import { filteredListeners, listenersTable } from './proxy-config/listeners-view.js';
import { filteredRoutes, routesTable } from './proxy-config/routes-view.js';
import { clustersTable, filteredClusters } from './proxy-config/clusters-view.js';
import { endpointsTable, filteredEndpoints } from './proxy-config/endpoints-view.js';

export const PROXY_CONFIG_SPEC: CommandSpec = {
  command: 'wasmesh proxy-config',
  summary:
    'Shows what a running proxy (wasmesh or stock Envoy) uses, as `istioctl proxy-config` does, read from its admin API: ' +
    'listeners, routes, clusters, endpoints and bootstrap from /config_dump; secret (the workload certificate chain and the trust bundle\'s roots ' +
    'with serial number, validity and status) from /certs.',
  flags: [
    { name: 'output', short: 'o', kind: 'string', valueName: '<short|json|yaml>', help: 'short: istioctl\'s table; json or yaml: the resources as istioctl prints them (protojson\'s camelCase names)', defaultText: 'short (bootstrap: json)' },
    { name: 'file', short: 'f', kind: 'string', valueName: '<config_dump.json>', help: 'read an Envoy config dump saved from /config_dump (?include_eds for endpoints) instead of a proxy' },
    { name: 'port', kind: 'string', valueName: '<port>', help: 'listeners, clusters, endpoints: only this port' },
    { name: 'address', kind: 'string', valueName: '<address>', help: 'listeners: the listener address; endpoints: the endpoint IP (with --file: its `ip:port`)' },
    { name: 'type', kind: 'string', valueName: '<HTTP|TCP|…>', help: 'listeners: only this type' },
    { name: 'name', kind: 'string', valueName: '<name>', help: 'routes: only the route configuration of this name' },
    { name: 'fqdn', kind: 'string', valueName: '<fqdn>', help: 'clusters: names containing this FQDN' },
    { name: 'subset', kind: 'string', valueName: '<subset>', help: 'clusters: names containing this subset' },
    { name: 'direction', kind: 'string', valueName: '<inbound|outbound>', help: 'clusters: names containing this direction' },
    { name: 'cluster', kind: 'string', valueName: '<cluster>', help: 'endpoints: only this cluster' },
    { name: 'status', kind: 'string', valueName: '<HEALTHY|UNHEALTHY|…>', help: 'endpoints: only endpoints with this health status' },
    { name: 'verbose', kind: 'string', valueName: '<true|false>', help: 'listeners, routes: one row per filter chain or route (false: one per listener or route configuration)', defaultText: 'true' },
  ],
  epilog: [
    'Usage: wasmesh proxy-config <listeners|routes|clusters|endpoints|secret|bootstrap> <admin host:port> [flags]',
    '',
    'Examples:',
    '  wasmesh proxy-config clusters 127.0.0.1:15000 --fqdn reviews.default.svc.cluster.local',
    '  wasmesh proxy-config routes 127.0.0.1:15000 --name 9080 -o json',
    '  wasmesh proxy-config endpoints 127.0.0.1:15000 --status HEALTHY',
    '  wasmesh proxy-config secret 127.0.0.1:15000',
  ],
};

/** Each kind and the words istioctl accepts for it. */
const KINDS: Readonly<Record<string, readonly string[]>> = {
  listeners: ['listeners', 'listener', 'l'],
  routes: ['routes', 'route', 'r'],
  clusters: ['clusters', 'cluster', 'c'],
  endpoints: ['endpoints', 'endpoint', 'ep'],
  secret: ['secret', 'secrets', 's'],
  bootstrap: ['bootstrap', 'b'],
};
/** Which flags each kind takes (istioctl's). */
const KIND_FLAGS: Readonly<Record<string, readonly string[]>> = {
  listeners: ['port', 'address', 'type', 'verbose'],
  routes: ['name', 'verbose'],
  clusters: ['fqdn', 'port', 'subset', 'direction'],
  endpoints: ['address', 'port', 'cluster', 'status'],
  secret: [],
  bootstrap: [],
};
const COMMON_FLAGS = ['output', 'file'];

/** One row of istioctl's secret table. */
export interface SecretRow {
  readonly resourceName: 'default' | 'ROOTCA';
  readonly type: 'Cert Chain' | 'CA';
  readonly status: 'ACTIVE';
  readonly validCert: boolean;
  /** Decimal, as istioctl prints it. */
  readonly serialNumber: string;
  readonly notAfter: string;
  readonly notBefore: string;
}

/** The rows for /certs: the leaf of each certificate chain as `default`, each root as `ROOTCA`. */
export function secretRows(certs: CertsJson, now = new Date()): SecretRow[] {
  const row = (resourceName: SecretRow['resourceName'], type: SecretRow['type'], d: CertificateDetails): SecretRow => ({
    resourceName,
    type,
    status: 'ACTIVE',
    validCert: Date.parse(d.valid_from) <= now.getTime() && now.getTime() < Date.parse(d.expiration_time),
    serialNumber: BigInt(`0x${d.serial_number}`).toString(10),
    notAfter: d.expiration_time,
    notBefore: d.valid_from,
  });
  return certs.certificates.flatMap((c) => [
    ...c.cert_chain.slice(0, 1).map((d) => row('default', 'Cert Chain', d)),
    ...c.ca_cert.map((d) => row('ROOTCA', 'CA', d)),
  ]);
}

export function renderSecretTable(rows: readonly SecretRow[]): string {
  const table = [['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'],
    ...rows.map((r) => [r.resourceName, r.type, r.status, String(r.validCert), r.serialNumber, r.notAfter, r.notBefore])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 5))).join('') + '\n').join('');
}

type Json = Record<string, unknown>;

/** The kind a word names (istioctl's aliases), or null. */
function kindOf(word: string): string | null {
  return Object.entries(KINDS).find(([, words]) => words.includes(word))?.[0] ?? null;
}

/** The positional words (kind, address) and the flags, telling a flag's value from a positional. */
function splitArgv(argv: readonly string[]): { positional: string[]; flags: string[] } {
  const takesValue = new Set(PROXY_CONFIG_SPEC.flags.filter((f) => f.kind === 'string').flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]));
  const positional: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    // istioctl's `--verbose` alone means true.
    if (a === '--verbose' && (argv[i + 1] === undefined || !['true', 'false'].includes(argv[i + 1]!))) flags.push('--verbose=true');
    else if (a.startsWith('-') && a !== '-') {
      flags.push(a);
      if (!a.includes('=') && takesValue.has(a) && argv[i + 1] !== undefined) flags.push(argv[++i]!);
    } else positional.push(a);
  }
  return { positional, flags };
}

function portFlag(cmd: string, values: FlagValues): number | undefined {
  const text = values.port as string | undefined;
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(cmd, `--port: expected a port 1-65535, got "${text}"`);
  return n;
}

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim()}`);
  return res.json();
}

async function render(kind: string, dump: ConfigDumpJson, values: FlagValues, output: string, cmd: string): Promise<string> {
  const verbose = ((values.verbose as string | undefined) ?? 'true') === 'true';
  const port = portFlag(cmd, values);
  const opt = (name: string): string | undefined => values[name] as string | undefined;
  let resources: Json[] | Json | undefined;
  let table = '';
  if (kind === 'listeners') {
    const f = { ...(opt('address') !== undefined ? { address: opt('address')! } : {}), ...(port !== undefined ? { port } : {}), ...(opt('type') !== undefined ? { type: opt('type')! } : {}) };
    const all = dumpListeners(dump);
    if (all.length === 0) throw new Error('no listeners found');
    resources = filteredListeners(all, f);
    table = listenersTable(all, f, verbose);
  } else if (kind === 'routes') {
    const all = dumpRoutes(dump);
    if (all.length === 0) throw new Error('no routes found');
    resources = filteredRoutes(all, opt('name'));
    table = routesTable(all, opt('name'), verbose);
  } else if (kind === 'clusters') {
    const f = { ...(opt('fqdn') !== undefined ? { fqdn: opt('fqdn')! } : {}), ...(port !== undefined ? { port } : {}), ...(opt('subset') !== undefined ? { subset: opt('subset')! } : {}), ...(opt('direction') !== undefined ? { direction: opt('direction')! } : {}) };
    const all = dumpClusters(dump);
    if (all.length === 0) throw new Error('no clusters found');
    resources = filteredClusters(all, f);
    table = clustersTable(all, f);
  } else if (kind === 'endpoints') {
    const f = { ...(opt('address') !== undefined ? { address: opt('address')! } : {}), ...(port !== undefined ? { port } : {}), ...(opt('cluster') !== undefined ? { cluster: opt('cluster')! } : {}), ...(opt('status') !== undefined ? { status: opt('status')! } : {}) };
    const all = dumpEndpoints(dump);
    resources = filteredEndpoints(all, f);
    table = endpointsTable(all, f);
  } else {
    resources = dumpBootstrap(dump);
    if (resources === undefined) throw new Error('no bootstrap found');
  }
  if (output === 'short') return table;
  // istioctl prints the filtered resources re-marshalled by protojson (camelCase names), JSON
  // indented by 4 (Go's json.MarshalIndent), or that JSON as YAML.
  const { goJsonIndent, toProtoJson } = await import('./proxy-config/proto-json-names.js');
  const typeName = RESOURCE_TYPES[kind]!;
  const converted = Array.isArray(resources) ? resources.map((r) => toProtoJson(typeName, r)) : toProtoJson(typeName, resources);
  const json = goJsonIndent(converted, kind === 'bootstrap' ? 2 : 4);
  if (output === 'json') return json + '\n';
  const { stringify } = await import('yaml');
  return stringify(JSON.parse(json), { lineWidth: 0 }) + '\n';
}

/** The Envoy message type of each kind's resources (what `-o json` names its fields after). */
const RESOURCE_TYPES: Record<string, string> = {
  listeners: 'envoy.config.listener.v3.Listener',
  routes: 'envoy.config.route.v3.RouteConfiguration',
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  bootstrap: 'envoy.config.bootstrap.v3.Bootstrap',
};

export async function proxyConfigCommand(argv: string[], io: CliIo): Promise<number> {
  const cmd = PROXY_CONFIG_SPEC.command;
  const { positional, flags } = splitArgv(argv);
  const { help, values } = parseArgs(PROXY_CONFIG_SPEC, flags);
  if (help) {
    io.out(formatHelp(PROXY_CONFIG_SPEC));
    return 0;
  }
  const [word, address, extra] = positional;
  const known = Object.keys(KINDS).join(', ');
  if (word === undefined) throw new UsageError(cmd, `a kind is required: ${known}`);
  const kind = kindOf(word);
  if (kind === null) throw new UsageError(cmd, `unknown kind "${word}"; known: ${known}`);
  const file = values.file as string | undefined;
  if (file !== undefined && kind === 'secret') throw new UsageError(cmd, 'secret: --file is not supported (secret reads the proxy\'s /certs)');
  if (address === undefined && file === undefined) throw new UsageError(cmd, `${kind}: the proxy's admin address is required (<host:port>, e.g. 127.0.0.1:15000)`);
  if (address !== undefined && file !== undefined) throw new UsageError(cmd, `${kind}: give the proxy's admin address or --file, not both`);
  if (extra !== undefined) throw new UsageError(cmd, `unexpected argument "${extra}"`);
  for (const name of Object.keys(values)) {
    if (!COMMON_FLAGS.includes(name) && !KIND_FLAGS[kind]!.includes(name)) throw new UsageError(cmd, `${kind}: --${name} does not apply (it takes ${[...KIND_FLAGS[kind]!].map((f) => `--${f}`).join(', ') || 'no filter'})`);
  }
  const verbose = values.verbose as string | undefined;
  if (verbose !== undefined && verbose !== 'true' && verbose !== 'false') throw new UsageError(cmd, `--verbose: expected true or false, got "${verbose}"`);
  let output = (values.output as string | undefined) ?? (kind === 'bootstrap' ? 'json' : 'short');
  if (kind === 'secret' && output === 'table') output = 'short';
  if (!['short', 'json', 'yaml'].includes(output) || (kind === 'bootstrap' && output === 'short')) {
    throw new UsageError(cmd, `-o: expected ${kind === 'bootstrap' ? 'json or yaml' : 'short, json or yaml'}, got "${output}"`);
  }
  portFlag(cmd, values);
  let where = '';
  if (address !== undefined) {
    const at = hostPortFlag(cmd, `${kind} <admin host:port>`, address);
    if (at.port === 0) throw new UsageError(cmd, `${kind}: the admin port cannot be 0`);
    where = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
  }
  if (kind === 'secret') return secretCommand(where, output, io);

  if (kind === 'endpoints' && file === undefined) return liveEndpointsCommand(where, values, output, io);

  let dump: ConfigDumpJson;
  const source = file ?? `${where}/config_dump${kind === 'endpoints' ? '?include_eds' : ''}`;
  try {
    const raw = file !== undefined ? JSON.parse(readFileSync(file, 'utf8')) : await fetchJson(`http://${source}`);
    if (!Array.isArray((raw as ConfigDumpJson | null)?.configs)) throw new Error('the answer is not Envoy\'s config dump (no "configs" list)');
    dump = raw as ConfigDumpJson;
  } catch (err) {
    io.err(`${cmd}: cannot read the config dump at ${source}: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    io.out(await render(kind, dump, values, output, cmd));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    io.err(`${cmd}: ${(err as Error).message}\n`);
    return 1;
  }
  return 0;
}

/**
 * `endpoints` against a live proxy, as istioctl: its `/clusters?format=json` (Envoy's
 * admin.v3.Clusters, which a wasmesh proxy answers too), so the health shown is the proxy's now.
 */
async function liveEndpointsCommand(where: string, values: FlagValues, output: string, io: CliIo): Promise<number> {
  const cmd = PROXY_CONFIG_SPEC.command;
  const port = portFlag(cmd, values);
  const opt = (name: string): string | undefined => values[name] as string | undefined;
  const f = { ...(opt('address') !== undefined ? { address: opt('address')! } : {}), ...(port !== undefined ? { port } : {}), ...(opt('cluster') !== undefined ? { cluster: opt('cluster')! } : {}), ...(opt('status') !== undefined ? { status: opt('status')! } : {}) };
  let clusters: ClustersJson;
  try {
    clusters = (await fetchJson(`http://${where}/clusters?format=json`)) as ClustersJson;
    if (!Array.isArray(clusters?.cluster_statuses) && !(typeof clusters === 'object' && clusters !== null && Object.keys(clusters).length === 0)) {
      throw new Error('the answer is not Envoy\'s /clusters JSON (no "cluster_statuses" list)');
    }
  } catch (err) {
    io.err(`${cmd}: cannot read the proxy's clusters at ${where}/clusters?format=json: ${(err as Error).message}\n`);
    return 1;
  }
  if (output === 'short') {
    io.out(liveEndpointsTable(clusters, f));
    return 0;
  }
  const { goJsonIndent } = await import('./proxy-config/proto-json-names.js');
  const json = goJsonIndent(camelKeys(filteredClusterStatuses(clusters, f)), 4);
  if (output === 'json') {
    io.out(json + '\n');
    return 0;
  }
  const { stringify } = await import('yaml');
  io.out(stringify(JSON.parse(json), { lineWidth: 0 }) + '\n');
  return 0;
}

async function secretCommand(where: string, output: string, io: CliIo): Promise<number> {
  const cmd = PROXY_CONFIG_SPEC.command;
  let certs: CertsJson;
  try {
    certs = (await fetchJson(`http://${where}/certs`)) as CertsJson;
    if (!Array.isArray(certs?.certificates)) throw new Error('the answer is not Envoy\'s /certs JSON (no "certificates" list)');
  } catch (err) {
    io.err(`${cmd}: cannot read the proxy's certificates at ${where}/certs: ${(err as Error).message}\n`);
    return 1;
  }
  if (output === 'json') {
    io.out(JSON.stringify(certs, null, 2) + '\n');
    return 0;
  }
  if (output === 'yaml') {
    const { stringify } = await import('yaml');
    io.out(stringify(certs, { lineWidth: 0 }));
    return 0;
  }
  const rows = secretRows(certs);
  io.out(renderSecretTable(rows));
  if (rows.length === 0) io.err(`${cmd}: the proxy at ${where} holds no workload certificate (no identity configured, not yet issued, or expired)\n`);
  return 0;
}
