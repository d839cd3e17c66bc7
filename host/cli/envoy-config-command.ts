// `wasmesh envoy-config`: loads Istio YAML exactly as `wasmesh proxy` does and prints the
// equivalent Envoy v3 bootstrap on stdout (warnings on stderr), so stock Envoy can serve it.
import { formatHelp, parseArgs, hostPortFlag, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { ALLOW_UNENFORCED_SECURITY } from './unenforced-security-flag.js';
import { CREDENTIALS_DIR_FLAG, credentialsDirFromFlags } from './credentials-dir-flag.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { envoyBootstrap } from '../envoy/bootstrap.js';
import { EnvoyConfigError } from '../envoy/envoy-config-error.js';
import { defaultFiltersWasmPath, envoyFiltersBootstrap } from '../envoy/filters-bootstrap.js';
import { FiltersConfigError } from '../envoy/filters-config-error.js';
import { existsSync } from 'node:fs';
import { LIMIT_FLAG, limitsFromFlags } from './limit-flag.js';
import { resolveLimits } from '../common/limits.js';
import { parseGatewayPorts, type GatewayPort } from '../runtime/gateway-ports.js';

export const ENVOY_CONFIG_SPEC: CommandSpec = {
  command: 'wasmesh envoy-config',
  summary:
    'Prints an Envoy v3 bootstrap (YAML) equivalent to what `wasmesh proxy` with the same flags serves: ' +
    'listener, routes (uri, method, authority, scheme, header, query and port matches), weighted clusters, ' +
    'header operations, rewrites, redirects, direct responses, CORS, fault injection, mirrors, timeouts and retries, ' +
    'one cluster per service subset with its load balancer (consistent hash as ring hash or Maglev plus the ' +
    "routes' hash policy, PASSTHROUGH as ORIGINAL_DST), connection pool, circuit breakers and outlier detection. " +
    'What Envoy cannot do as wasmesh does is listed as warnings on stderr.',
  flags: [
    { name: 'file', short: 'f', kind: 'string', repeat: true, valueName: '<file|dir>', help: 'Istio YAML file or folder of them' },
    { name: 'listen', kind: 'string', valueName: '<host:port>', help: 'where Envoy accepts downstream requests' },
    { name: 'gateway', kind: 'string', valueName: '<name|ns/name>', help: 'serve as this Gateway (ingress mode)' },
    { name: 'port-map', kind: 'string', valueName: '<gw port=host:port,…>', help: "with --gateway: where Envoy serves the Gateway's TCP ports (tcp_proxy listeners) and TLS passthrough ports (tls_inspector + tcp_proxy), as `wasmesh proxy --port-map` maps them, e.g. 31400=127.0.0.1:9400,443=127.0.0.1:8443; a TCP port not listed listens on --listen's host at its own number, an HTTP port's entry is not used (every HTTP server is on --listen)" },
    { name: 'tcp-ports', kind: 'string', valueName: '<gw port=host:port,…>', help: 'deprecated: use --port-map, which maps TCP ports too (still read: TCP ports only, taken before --port-map for the same port)' },
    { name: 'admin', kind: 'string', valueName: '<host:port>', help: "Envoy's admin address", defaultText: '127.0.0.1:15000' },
    { name: 'namespace', kind: 'string', valueName: '<ns>', help: 'namespace of resources that name none', defaultText: 'default' },
    ALLOW_UNENFORCED_SECURITY,
    CREDENTIALS_DIR_FLAG,
    { ...LIMIT_FLAG, help: 'a proxy limit as `wasmesh proxy --limit` takes it; the HTTP/2 flood limits (http2Max…) and keepalive (downstreamHttp2Keepalive…, upstreamHttp2Keepalive…, upstreamHttp2ConnectionIdleIntervalMs) go into http2_protocol_options of the listener and the HTTP/2 clusters; others are warned about' },
    { name: 'filters', kind: 'boolean', help: 'route inside Envoy with the wasmesh proxy-wasm filters (build/filters/wasmesh-filters.wasm, npm run build:filters) on the compiled route table, instead of native routes' },
  ],
  epilog: [
    'Example:',
    '  wasmesh envoy-config -f examples/000-web-demo --listen 127.0.0.1:8081 --gateway web-gateway --admin 127.0.0.1:15001 > envoy.yaml',
    '  envoy -c envoy.yaml --concurrency 1',
    '  wasmesh envoy-config -f examples/000-web-demo --listen 127.0.0.1:8081 --gateway web-gateway --filters > envoy-filters.yaml',
  ],
};

export async function envoyConfigCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(ENVOY_CONFIG_SPEC, argv);
  if (help) {
    io.out(formatHelp(ENVOY_CONFIG_SPEC));
    return 0;
  }
  const cmd = ENVOY_CONFIG_SPEC.command;
  const files = (values.file as string[] | undefined) ?? [];
  if (files.length === 0) throw new UsageError(cmd, 'at least one -f <file|dir> is required');
  if (values.listen === undefined) throw new UsageError(cmd, '--listen <host:port> is required');
  const listen = hostPortFlag(cmd, '--listen', values.listen as string);
  const admin = hostPortFlag(cmd, '--admin', (values.admin as string | undefined) ?? '127.0.0.1:15000');
  const gateway = values.gateway as string | undefined;
  const namespace = values.namespace as string | undefined;
  const limits = limitsFromFlags(cmd, values.limit as string[] | undefined);
  try {
    resolveLimits(limits); // the proxy's checks (0 where not allowed, caps): the same flags fail the same way
  } catch (err) {
    throw new UsageError(cmd, `--limit: ${(err as Error).message}`);
  }
  let gatewayPorts: GatewayPort[] = [];
  if (values['port-map'] !== undefined) {
    if (gateway === undefined) throw new UsageError(cmd, '--port-map needs --gateway');
    try {
      gatewayPorts = parseGatewayPorts(values['port-map'] as string);
    } catch (err) {
      throw new UsageError(cmd, `--port-map: ${(err as Error).message}`);
    }
  }
  let tcpPorts: GatewayPort[] | undefined;
  if (values['tcp-ports'] !== undefined) {
    if (gateway === undefined) throw new UsageError(cmd, '--tcp-ports needs --gateway');
    io.err(`${cmd}: warning: --tcp-ports is deprecated: --port-map maps TCP ports too\n`);
    try {
      tcpPorts = parseGatewayPorts(values['tcp-ports'] as string);
    } catch (err) {
      throw new UsageError(cmd, `--tcp-ports: ${(err as Error).message}`);
    }
  }
  try {
    // Without the flag, config asking for protection wasmesh cannot enforce is refused here as in
    // `wasmesh proxy`; the bootstrap would not carry it either (Envoy would serve it open).
    const allowUnenforcedSecurity = values['allow-unenforced-security'] === true;
    const credentialsDir = credentialsDirFromFlags(cmd, values);
    const loaded = loadConfig(files, { gateway, namespace, ...(allowUnenforcedSecurity ? { allowUnenforcedSecurity } : {}), ...(credentialsDir !== undefined ? { credentialsDir } : {}) });
    const opts = { listen, admin, gateway, namespace, gatewayPorts, ...(Object.keys(limits).length > 0 ? { limits } : {}), ...(tcpPorts !== undefined ? { tcpPorts } : {}) };
    let bootstrap;
    if (values.filters === true) {
      const wasmPath = defaultFiltersWasmPath();
      if (!existsSync(wasmPath)) throw new FiltersConfigError('filters_config_not_built', wasmPath, 'the filters module is not built (run npm run build:filters)');
      bootstrap = envoyFiltersBootstrap(loaded, { ...opts, wasmPath });
    } else {
      bootstrap = envoyBootstrap(loaded, opts);
    }
    const { yaml, warnings } = bootstrap;
    for (const w of warnings) io.err(`${cmd}: warning: ${w}\n`);
    io.out(yaml);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof EnvoyConfigError || err instanceof FiltersConfigError) {
      io.err(`${cmd}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
