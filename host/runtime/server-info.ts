// Envoy's /server_info (admin.v3.ServerInfo) for a wasmesh proxy: its version in Envoy's
// `<revision>/<version>/<status>/<build type>/<TLS library>` form, the server state (LIVE,
// PRE_INITIALIZING, DRAINING), uptimes as proto Durations, the command-line options that have an
// Envoy counterpart, and the node it reports as. wasmesh has no hot restart: one epoch, and
// hot_restart_version `disabled`, as Envoy says when started with --disable-hot-restart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/wasm.js';

type Json = Record<string, unknown>;

let cachedVersion: string | null = null;

/** wasmesh's package version (`unknown` when package.json cannot be read). */
export function wasmeshVersion(): string {
  if (cachedVersion !== null) return cachedVersion;
  try {
    cachedVersion = String(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version);
  } catch {
    cachedVersion = 'unknown';
  }
  return cachedVersion;
}

export interface ServerInfoInput {
  /** null: serving; else why not (draining reads `draining …`). */
  notReadyReason: string | null;
  startedAt: number;
  now: number;
  /** Data-path threads (Envoy's --concurrency). */
  concurrency: number;
  /** The operational log's level (Envoy's --log-level). */
  logLevel: string;
  /** Config files (Envoy's --config-path), or the xDS address. */
  configPath: string;
  node: Json;
}

/** Envoy's server state for a runtime's readiness. */
export function serverState(notReadyReason: string | null): 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' {
  if (notReadyReason === null) return 'LIVE';
  return notReadyReason.startsWith('draining') ? 'DRAINING' : 'PRE_INITIALIZING';
}

/** The node as Envoy's bootstrap carries it, with wasmesh as its user agent and build version. */
export function envoyNode(id: string, cluster: string, metadata: Json): Json {
  const [major, minor, patch] = wasmeshVersion().split(/[.-]/).map((x) => Number.parseInt(x, 10));
  return {
    id,
    cluster,
    metadata,
    user_agent_name: 'wasmesh',
    user_agent_build_version: { version: { major_number: major || 0, minor_number: minor || 0, patch: patch || 0 } },
  };
}

export function serverInfo(i: ServerInfoInput): Json {
  const uptime = `${Math.max(0, Math.floor((i.now - i.startedAt) / 1000))}s`;
  return {
    version: `wasmesh/${wasmeshVersion()}/Clean/RELEASE/OpenSSL`,
    state: serverState(i.notReadyReason),
    uptime_current_epoch: uptime,
    uptime_all_epochs: uptime,
    hot_restart_version: 'disabled',
    command_line_options: {
      concurrency: i.concurrency,
      config_path: i.configPath,
      log_level: i.logLevel,
      mode: 'Serve',
      restart_epoch: 0,
      disable_hot_restart: true,
      service_cluster: String(i.node.cluster ?? ''),
      service_node: String(i.node.id ?? ''),
    },
    node: i.node,
  };
}
