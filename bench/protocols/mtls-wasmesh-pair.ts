// wasmesh as the mTLS modes' sidecar pair, configured only by the pair's Istio YAML
// (mtls-mesh-yaml.ts), each with its workload certificate from the mesh CA's files (`--cert-dir`,
// bench/e2e/mtls-pair.ts): proxy A is `wasmesh proxy --gateway` (auto mTLS out: ALPN
// istio-http/1.1, istio, http/1.1 for HTTP, istio-peer-exchange, istio for TCP), proxy B is
// `wasmesh sidecar` terminating it under the mesh-wide STRICT PeerAuthentication.
//
// HTTP reaches B on its inbound port (the HTTP connection manager). TCP inside mesh mTLS is
// terminated by a wasmesh sidecar's inbound capture (host/sidecar/inbound-capture.ts), which runs
// when the inbound socket is handed over (behind iptables, `wasmesh-listen`; here the same by
// socket activation: LISTEN_FDS, name `inbound`, a socket bound to the inbound port): mesh TLS to
// the inbound port offering Istio's TCP ALPN goes as TCP to the first app port, as on Envoy's
// virtualInbound.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { WASMESH_NODE_FLAGS } from '../../host/cli/node-flags.js';
import { APP_WORKLOAD, CLIENT_WORKLOAD, MTLS_NAMESPACE } from '../e2e/mtls-pair.js';
import { freePort, startReady, stopChild } from '../e2e/processes.js';
import { repoRoot } from '../e2e/repo-root.js';
import { GATEWAY_HTTP_PORT, GATEWAY_TCP_PORT } from './mesh-yaml.js';
import { MTLS_GATEWAY } from './mtls-mesh-yaml.js';
import type { StartedPair } from './mtls-envoy-pair.js';

/** A listening socket on `host:port`, made here to be handed to B (which accepts on it). */
function listeningSocket(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port, backlog: 4096 }, () => resolve(s));
  });
}

/**
 * Starts B (its inbound on 127.0.0.1:`inboundPort`, the YAML's WorkloadEntry; handed over as a
 * socket when `tcp`), then A.
 */
export async function startWasmeshPair(meshDir: string, certs: { clientDir: string; appDir: string }, appPort: number, inboundPort: number, tcp: boolean, nodeArgs: readonly string[]): Promise<StartedPair> {
  const bin = join(repoRoot(), 'bin', 'wasmesh.js');
  const node = [...WASMESH_NODE_FLAGS, ...nodeArgs, bin];
  const [httpPort, tcpPort, adminA, adminB, outboundB, healthB] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  // Istio's Prometheus ports off (several proxies would race for 15090 / 15020): the admin API serves the same.
  // One worker each, as Envoy's --concurrency 1 (`wasmesh sidecar` has one event loop: no --workers).
  const common = ['--access-log', 'off', '--stats', 'off'];
  let handed: Server | null = null;
  let b: Awaited<ReturnType<typeof startReady>> | null = null;
  try {
    const sidecar = ['sidecar', '-f', meshDir, '--namespace', MTLS_NAMESPACE, '--app-ports', String(appPort), '--outbound', `127.0.0.1:${outboundB}`,
      '--health', `127.0.0.1:${healthB}`, '--admin', `127.0.0.1:${adminB}`, '--merged-stats', 'off', '--labels', 'app=mtls-echo', '--workload', APP_WORKLOAD,
      '--cert-dir', certs.appDir, ...common];
    const inbound = ['--inbound', `127.0.0.1:${inboundPort}`];
    if (tcp) {
      handed = await listeningSocket('127.0.0.1', inboundPort);
      const fd = (handed as unknown as { _handle: { fd: number } })._handle.fd;
      const args = [...node, ...sidecar, ...inbound];
      b = await startReady('/bin/sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, ...args], { url: `http://127.0.0.1:${adminB}/ready` }, 'wasmesh sidecar B (inbound, STRICT, handed socket)',
        { env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'inbound' }, passFds: [fd] });
      // B holds its copy; this process's is closed so that B alone accepts.
      handed.close();
      handed = null;
    } else {
      b = await startReady(process.execPath, [...node, ...sidecar, ...inbound], { url: `http://127.0.0.1:${adminB}/ready` }, 'wasmesh sidecar B (inbound, STRICT)');
    }
    const a = await startReady(process.execPath, [...node, 'proxy', '-f', meshDir, '--gateway', `${MTLS_NAMESPACE}/${MTLS_GATEWAY}`, '--namespace', MTLS_NAMESPACE,
      '--port-map', `${GATEWAY_HTTP_PORT}=127.0.0.1:${httpPort},${GATEWAY_TCP_PORT}=127.0.0.1:${tcpPort}`, '--admin', `127.0.0.1:${adminA}`,
      '--workload', CLIENT_WORKLOAD, '--cert-dir', certs.clientDir, '--workers', '1', ...common], { url: `http://127.0.0.1:${adminA}/ready` }, 'wasmesh proxy A (gateway, auto mTLS out)');
    const inner = b;
    return {
      httpPort, tcpPort, pids: [a.child.pid!, inner.child.pid!],
      stop: async () => {
        await stopChild(a.child, 10_000);
        await stopChild(inner.child, 10_000);
      },
    };
  } catch (err) {
    handed?.close();
    if (b !== null) await stopChild(b.child, 5000);
    throw err;
  }
}
