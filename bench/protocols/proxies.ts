// The two proxies of the protocol benchmark, started from the same YAML folder: `wasmesh proxy
// --gateway proto-gw --port-map 80=…,31400=…` (one worker, access log off: Envoy's translated
// (and, as `wasmesh-core`, the same with the core codec's downstream HTTP/2 listener; as
// `wasmesh-core-up`, with the core codec on both sides: listener and upstream connections)
// config has none) and stock Envoy on the bootstrap `wasmesh envoy-config --tcp-ports 31400=…`
// prints for it (--concurrency 1). Each reports where its HTTP and TCP listeners are.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASMESH_NODE_FLAGS } from '../../host/cli/node-flags.js';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { findEnvoy } from '../../host/envoy/find-envoy.js';
import { freePort, startReady, stopChild } from '../e2e/processes.js';
import { repoRoot } from '../e2e/repo-root.js';
import { GATEWAY_HTTP_PORT, GATEWAY_TCP_PORT, PROTO_GATEWAY } from './mesh-yaml.js';

/**
 * `wasmesh`: the defaults (the core codec on both HTTP/2 sides since 2026-12-07);
 * `wasmesh-nghttp2`: node:http2 on both sides (WASMESH_HTTP2_CODEC=nghttp2, WASMESH_HTTP2_UPSTREAM_CODEC=nghttp2);
 * `wasmesh-core`: the core codec's HTTP/2 listener with node:http2 upstream connections;
 * `wasmesh-core-up`: the core codec on both sides, named explicitly;
 * `direct`: no proxy — the load sent straight to the upstream (run.ts), the ceiling of the load
 * tool and the upstream together, as bench:e2e's `direct` (not started here: there is nothing to start).
 */
/** wasmesh-socket: wasmesh with its TCP byte proxy on net.Socket (--tcp-transport socket) instead of raw handles. */
export type ProxyName = 'wasmesh' | 'wasmesh-nghttp2' | 'wasmesh-core' | 'wasmesh-core-up' | 'wasmesh-socket' | 'envoy' | 'direct';
/** What runs by default. */
export const PROXIES: readonly ProxyName[] = ['wasmesh', 'envoy'];
/** What --proxies accepts. */
export const KNOWN_PROXIES: readonly ProxyName[] = ['wasmesh', 'wasmesh-nghttp2', 'wasmesh-core', 'wasmesh-core-up', 'wasmesh-socket', 'envoy', 'direct'];

export interface RunningProxy {
  name: ProxyName;
  httpPort: number;
  tcpPort: number;
  /** The process the load reaches (a pair's proxy A). */
  pid: number;
  /** Every process of it whose CPU a measurement counts (a pair: A and B); absent: `pid` alone. */
  pids?: readonly number[];
  stop(): Promise<void>;
}

export function envoyMissing(): string | null {
  return findEnvoy() === null ? 'Envoy not installed (run scripts/install-envoy.sh or set ENVOY_BIN)' : null;
}

export async function startProxy(name: ProxyName, meshDir: string, wasmeshNodeArgs: readonly string[] = []): Promise<RunningProxy> {
  if (name === 'direct') throw new Error('startProxy: `direct` is no proxy (the runner sends the load to the upstream itself)');
  const [httpPort, tcpPort, admin] = [await freePort(), await freePort(), await freePort()];
  if (name !== 'envoy') {
    const args = [...WASMESH_NODE_FLAGS, ...wasmeshNodeArgs, join(repoRoot(), 'bin', 'wasmesh.js'), 'proxy', '-f', meshDir, '--gateway', PROTO_GATEWAY,
      '--port-map', `${GATEWAY_HTTP_PORT}=127.0.0.1:${httpPort},${GATEWAY_TCP_PORT}=127.0.0.1:${tcpPort}`,
      '--admin', `127.0.0.1:${admin}`, '--workers', '1', '--access-log', 'off', ...(name === 'wasmesh-socket' ? ['--tcp-transport', 'socket'] : [])];
    const env = name === 'wasmesh-nghttp2' ? { ...process.env, WASMESH_HTTP2_CODEC: 'nghttp2', WASMESH_HTTP2_UPSTREAM_CODEC: 'nghttp2' }
      : name === 'wasmesh-core' ? { ...process.env, WASMESH_HTTP2_CODEC: 'core', WASMESH_HTTP2_UPSTREAM_CODEC: 'nghttp2' }
        : name === 'wasmesh-core-up' ? { ...process.env, WASMESH_HTTP2_CODEC: 'core', WASMESH_HTTP2_UPSTREAM_CODEC: 'core' }
          : process.env;
    const { child } = await startReady(process.execPath, args, { url: `http://127.0.0.1:${admin}/ready` }, `${name} proxy`, { env });
    return { name, httpPort, tcpPort, pid: child.pid!, stop: () => stopChild(child, 10_000) };
  }
  const bin = findEnvoy();
  if (bin === null) throw new Error(envoyMissing()!);
  const loaded = loadConfig([meshDir], { gateway: PROTO_GATEWAY });
  // Exactly what `wasmesh envoy-config -f <dir> --gateway proto-gw --listen … --tcp-ports 31400=…` prints.
  const { yaml } = envoyBootstrap(loaded, {
    listen: { host: '127.0.0.1', port: httpPort },
    admin: { host: '127.0.0.1', port: admin },
    gateway: PROTO_GATEWAY,
    tcpPorts: [{ port: GATEWAY_TCP_PORT, at: { host: '127.0.0.1', port: tcpPort } }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-proto-envoy-'));
  const file = join(dir, 'envoy.yaml');
  writeFileSync(file, yaml);
  try {
    const { child } = await startReady(bin, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], { url: `http://127.0.0.1:${admin}/ready` }, 'envoy');
    return { name, httpPort, tcpPort, pid: child.pid!, stop: async () => { await stopChild(child, 5000); rmSync(dir, { recursive: true, force: true }); } };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
