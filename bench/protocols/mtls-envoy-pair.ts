// Stock Envoy as the mTLS modes' sidecar pair, configured by the repo's Envoy-plane translation of
// the pair's YAML (mtls-mesh-yaml.ts), never by hand: proxy A is `envoyBootstrap` of the Gateway
// (what `wasmesh envoy-config --gateway` prints), whose cluster to B carries Istio's
// UpstreamTlsContext from auto mTLS (host/envoy/upstream-tls-context.ts: SDS `default` and
// `ROOTCA`, the bench-app SPIFFE ID as a URI SAN matcher, SNI outbound_.<port>_._.<host>, ALPN
// istio-http/1.1, istio, http/1.1 — or `istio` alone for TCP); proxy B is Istio's virtualInbound
// (`envoyInbound`, host/envoy/inbound-listener.ts, as the control plane serves an Envoy sidecar)
// under the mode PeerAuthentication composes (STRICT): client certificate required, HTTP chains
// by ALPN, the TCP chain for `istio`. Each gets its certificate as Istio's Envoys do, over SDS
// from `sds-grpc` on a Unix socket (host/envoy/sds-config.ts), served here by the agent's SDS
// server (host/xds/sds-server.ts) with the mesh CA's certificates (bench/e2e/mtls-pair.ts). Both
// bootstraps pass `envoy --mode validate` before they start.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { sdsCluster } from '../../host/envoy/sds-config.js';
import { SdsServer } from '../../host/xds/sds-server.js';
import { sdsSecrets } from '../../host/xds/sds-secrets.js';
import { APP_SA, CLIENT_SA, MTLS_NAMESPACE } from '../e2e/mtls-pair.js';
import { freePort, startReady, stopChild } from '../e2e/processes.js';
import { GATEWAY_TCP_PORT } from './mesh-yaml.js';
import { MTLS_GATEWAY } from './mtls-mesh-yaml.js';

type Json = Record<string, unknown>;

/** The SDS server of one identity, on a socket in `dir`, serving the certificate files of `certDir` (Istio's /etc/certs layout). */
async function serveSds(dir: string, name: string, certDir: string): Promise<SdsServer> {
  const sds = new SdsServer();
  sds.setSecrets(sdsSecrets({
    certChainPem: readFileSync(join(certDir, 'cert-chain.pem'), 'utf8'),
    keyPem: readFileSync(join(certDir, 'key.pem'), 'utf8'),
    rootsPem: [readFileSync(join(certDir, 'root-cert.pem'), 'utf8')],
  }));
  await sds.listen(join(dir, `${name}.sock`));
  return sds;
}

/** Envoy's node for an identity: the SDS server keys streams by it, as Istio's agent does. */
const node = (sa: string, type: 'router' | 'sidecar'): Json => ({ id: `${type}~127.0.0.1~${sa}.${MTLS_NAMESPACE}~${MTLS_NAMESPACE}.svc.cluster.local`, cluster: `${sa}.${MTLS_NAMESPACE}` });

/** `envoy --mode validate` on `file`: resolves, or rejects with what Envoy said. */
export function validateEnvoyConfig(bin: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, ['--mode', 'validate', '-c', file, '-l', 'warning'], { timeout: 60_000 }, (err, stdout, stderr) =>
      (err ? reject(new Error(`envoy --mode validate refused ${file}: ${err.message}\n${stdout}${stderr}`)) : resolve()));
  });
}

/** Proxy A: the Gateway's translation (HTTP on `httpPort`, the TCP server on `tcpPort`), its cluster to B with Istio's TLS over SDS. */
export function envoyPairOutbound(meshDir: string, o: { httpPort: number; tcpPort: number; admin: number; sdsSocket: string }): Json {
  const loaded = loadConfig([meshDir], { gateway: `${MTLS_NAMESPACE}/${MTLS_GATEWAY}`, namespace: MTLS_NAMESPACE, workloadIdentity: true });
  const { config } = envoyBootstrap(loaded, {
    listen: { host: '127.0.0.1', port: o.httpPort },
    admin: { host: '127.0.0.1', port: o.admin },
    gateway: `${MTLS_NAMESPACE}/${MTLS_GATEWAY}`,
    namespace: MTLS_NAMESPACE,
    gatewayPorts: [{ port: GATEWAY_TCP_PORT, at: { host: '127.0.0.1', port: o.tcpPort } }],
  });
  const statics = config.static_resources as { clusters: Json[] };
  return { ...config, node: node(CLIENT_SA, 'router'), static_resources: { ...statics, clusters: [...statics.clusters, sdsCluster(o.sdsSocket)] } };
}

/** Proxy B: Istio's virtualInbound on `inboundPort`, under the PeerAuthentication mode the mesh composes, to the upstream on `appPort`. */
export function envoyPairInbound(meshDir: string, o: { inboundPort: number; appPort: number; admin: number; sdsSocket: string }): Json {
  const loaded = loadConfig([meshDir], { namespace: MTLS_NAMESPACE, labels: { app: 'mtls-echo' }, workloadIdentity: true });
  const mode = loaded.mesh.inboundMtlsMode ?? 'DISABLE';
  if (mode !== 'STRICT') throw new Error(`mtls pair: the inbound's PeerAuthentication mode is ${mode}, expected STRICT`);
  const { listener, clusters } = envoyInbound({ listen: { host: '127.0.0.1', port: o.inboundPort }, appPorts: [o.appPort], mode, meshClusters: loaded.mesh.clusters });
  return {
    node: node(APP_SA, 'sidecar'),
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: o.admin } } },
    static_resources: { listeners: [listener], clusters: [...clusters, sdsCluster(o.sdsSocket)] },
  };
}

export interface StartedPair {
  httpPort: number;
  tcpPort: number;
  /** A's pid, then B's. */
  pids: number[];
  stop(): Promise<void>;
}

/** Starts B, then A (each validated first); `certs` are the mesh CA's files for the two identities. */
export async function startEnvoyPair(bin: string, meshDir: string, dir: string, certs: { clientDir: string; appDir: string }, appPort: number, inboundPort: number): Promise<StartedPair> {
  const [httpPort, tcpPort, adminA, adminB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sdsA = await serveSds(dir, 'sds-a', certs.clientDir);
  const sdsB = await serveSds(dir, 'sds-b', certs.appDir);
  let a: Awaited<ReturnType<typeof startReady>> | null = null;
  let b: Awaited<ReturnType<typeof startReady>> | null = null;
  // A first (it holds connections to B), then B, then the SDS servers.
  const stop = async (): Promise<void> => {
    if (a !== null) await stopChild(a.child, 5000);
    if (b !== null) await stopChild(b.child, 5000);
    await sdsA.close();
    await sdsB.close();
  };
  try {
    const files = { a: join(dir, 'envoy-a.yaml'), b: join(dir, 'envoy-b.yaml') };
    writeFileSync(files.b, stringify(envoyPairInbound(meshDir, { inboundPort, appPort, admin: adminB, sdsSocket: join(dir, 'sds-b.sock') })));
    writeFileSync(files.a, stringify(envoyPairOutbound(meshDir, { httpPort, tcpPort, admin: adminA, sdsSocket: join(dir, 'sds-a.sock') })));
    await validateEnvoyConfig(bin, files.b);
    await validateEnvoyConfig(bin, files.a);
    const args = (file: string): string[] => ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'];
    // /ready: an Envoy whose listener waits for its SDS secret is not ready (warming).
    b = await startReady(bin, args(files.b), { url: `http://127.0.0.1:${adminB}/ready` }, 'envoy pair B (inbound, STRICT)');
    a = await startReady(bin, args(files.a), { url: `http://127.0.0.1:${adminA}/ready` }, 'envoy pair A (gateway, ISTIO_MUTUAL out)');
    return { httpPort, tcpPort, pids: [a.child.pid!, b.child.pid!], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
