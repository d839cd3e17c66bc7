// The sidecar pair's common ground (the mTLS mode, `--mtls`, and the both-reporters telemetry
// mode, `--telemetry-pair`): one mesh CA and two workload certificates (the client side's sidecar,
// `bench-client`, and the app's, `bench-app`), written in Istio's mounted layout (cert-chain.pem,
// key.pem, root-cert.pem: what `wasmesh proxy --cert-dir` and Envoy's file certificates read);
// the pair's Istio YAML for wasmesh (bench/e2e/config-pair/, plus the mode's additions); and stock
// Envoy's pair: an outbound sidecar and an inbound sidecar in front of the upstream. With
// certificates the outbound originates Istio's mTLS (ISTIO_MUTUAL: the workload certificate, the
// app's SPIFFE ID required, ALPN istio-http/1.1) and the inbound terminates it under STRICT (a
// client certificate from the mesh's roots required, XFCC set as Istio's sidecar sets it); with a
// tracing config both trace as the mesh's Envoys do (host/envoy/tracing-config.ts).
import { isIP } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envoyHcmTracing, envoyTracingClusters } from '../../host/envoy/tracing-config.js';
import type { TracingConfig } from '../../host/model/tracing.js';
import { repoRoot } from './repo-root.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { formatSpiffeId, spiffeId } from '../../host/identity/spiffe-id.js';
import { createWorkloadCsr } from '../../host/identity/workload-csr.js';

export const MTLS_NAMESPACE = 'default';
/** The pair's workload names (`--workload`): the source_/destination_workload labels of Istio's metrics. */
export const CLIENT_WORKLOAD = 'bench-client';
export const APP_WORKLOAD = 'bench-app';
export const CLIENT_SA = 'bench-client';
export const APP_SA = 'bench-app';
/** Istio's ALPN for mesh mTLS (HTTP/1.1 inside). */
export const ISTIO_ALPN = ['istio-http/1.1', 'istio', 'http/1.1'];

export interface PairCertificates {
  /** Istio's /etc/certs layout for each side. */
  clientDir: string;
  appDir: string;
  clientId: string;
  appId: string;
}

/** A fresh CA in `dir`/ca and the two sides' certificates (24 h) in `dir`/client and `dir`/app. */
export async function issuePairCertificates(dir: string): Promise<PairCertificates> {
  const ca = await CertificateAuthority.open({ dir: join(dir, 'ca'), trustDomain: 'cluster.local' });
  const write = async (sa: string): Promise<{ dir: string; id: string }> => {
    const id = spiffeId(MTLS_NAMESPACE, sa);
    const { csrPem, keyPem } = await createWorkloadCsr(id);
    const issued = await ca.sign(csrPem, id);
    const out = join(dir, sa);
    mkdirSync(out, { recursive: true, mode: 0o700 });
    writeFileSync(join(out, 'cert-chain.pem'), issued.chainPem.join(''));
    writeFileSync(join(out, 'key.pem'), keyPem, { mode: 0o600 });
    writeFileSync(join(out, 'root-cert.pem'), ca.rootsPem.join(''));
    return { dir: out, id: formatSpiffeId(id) };
  };
  const client = await write(CLIENT_SA);
  const app = await write(APP_SA);
  return { clientDir: client.dir, appDir: app.dir, clientId: client.id, appId: app.id };
}

const files = (dir: string) => ({
  tls_certificates: [{ certificate_chain: { filename: join(dir, 'cert-chain.pem') }, private_key: { filename: join(dir, 'key.pem') } }],
});

const admin = (port: number) => ({ address: { socket_address: { address: '127.0.0.1', port_value: port } } });

function hcm(statPrefix: string, cluster: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: statPrefix,
      route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      ...extra,
    },
  };
}

function cluster(name: string, port: number, transportSocket?: Record<string, unknown>) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
    ...(transportSocket ? { transport_socket: transportSocket } : {}),
  };
}

/** What a stock Envoy pair does besides forwarding: mTLS between the sidecars, tracing on both. */
export interface EnvoyPairOptions {
  /** Istio's mTLS between the sidecars with these certificates; absent: plaintext HTTP. */
  certs?: PairCertificates;
  /** Tracing on both sidecars' HTTP connection managers (and the collector's cluster); absent: none. */
  tracing?: TracingConfig;
}

/** Stock Envoy's outbound sidecar: plaintext in on `listen`, to the inbound sidecar on `inboundPort` (Istio's mTLS with `certs`). */
export function envoyOutbound(p: EnvoyPairOptions, o: { listen: number; admin: number; inboundPort: number }): object {
  const certs = p.certs;
  return {
    admin: admin(o.admin),
    static_resources: {
      listeners: [{ name: 'outbound', address: { socket_address: { address: '127.0.0.1', port_value: o.listen } }, filter_chains: [{ filters: [hcm('outbound', 'outbound|8000||bench', envoyHcmTracing(p.tracing, CLIENT_WORKLOAD))] }] }],
      clusters: [cluster('outbound|8000||bench', o.inboundPort, certs === undefined ? undefined : {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
          sni: 'outbound_.8000_._.bench',
          common_tls_context: {
            ...files(certs.clientDir),
            alpn_protocols: ISTIO_ALPN,
            validation_context: {
              trusted_ca: { filename: join(certs.clientDir, 'root-cert.pem') },
              match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: certs.appId } }],
            },
          },
        },
      }), ...envoyTracingClusters(p.tracing, (h) => isIP(h) !== 0)],
    },
  };
}

/** Stock Envoy's inbound sidecar: on `listen` (STRICT mTLS with `certs`, else plaintext), plaintext to the app on `appPort`. */
export function envoyInbound(p: EnvoyPairOptions, o: { listen: number; admin: number; appPort: number }): object {
  const certs = p.certs;
  return {
    admin: admin(o.admin),
    static_resources: {
      listeners: [{
        name: 'virtualInbound',
        address: { socket_address: { address: '127.0.0.1', port_value: o.listen } },
        filter_chains: [{
          ...(certs === undefined ? {} : {
            transport_socket: {
              name: 'envoy.transport_sockets.tls',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
                require_client_certificate: true,
                common_tls_context: { ...files(certs.appDir), alpn_protocols: ISTIO_ALPN, validation_context: { trusted_ca: { filename: join(certs.appDir, 'root-cert.pem') } } },
              },
            },
          }),
          filters: [hcm('inbound_0.0.0.0_8000', 'inbound|8000||', {
            ...(certs === undefined ? {} : {
              // Istio's sidecar inbound: the peer's certificate details appended to XFCC.
              forward_client_cert_details: 'APPEND_FORWARD',
              set_current_client_cert_details: { subject: true, dns: true, uri: true },
            }),
            ...envoyHcmTracing(p.tracing, APP_WORKLOAD),
          })],
        }],
      }],
      clusters: [cluster('inbound|8000||', o.appPort), ...envoyTracingClusters(p.tracing, (h) => isIP(h) !== 0)],
    },
  };
}

/**
 * The pair's Istio YAML for wasmesh in a fresh folder: bench/e2e/config-pair/ (the `bench` service
 * whose one instance is the app's sidecar on `inboundPort`, routed to by the client side's
 * gateway) with Istio's tlsMode label on that instance when `mtls` (auto mTLS), plus every YAML
 * file of `extraDirs` (the mode's additions: config-mtls/, config-telemetry/), each with
 * `${NAME}` placeholders replaced from `vars`.
 */
export function writePairMesh(inboundPort: number, o: { mtls: boolean; extraDirs?: readonly string[]; vars?: Record<string, string> }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-pair-mesh-'));
  const vars: Record<string, string> = { ...o.vars, INBOUND_PORT: String(inboundPort), TLS_MODE_LABEL: o.mtls ? ', security.istio.io/tlsMode: istio' : '' };
  const fill = (text: string): string => text.replace(/\$\{([A-Z_]+)\}/g, (m, name: string) => vars[name] ?? m);
  const e2e = join(repoRoot(), 'bench', 'e2e');
  for (const src of ['config-pair', ...(o.extraDirs ?? [])]) {
    for (const name of readdirSync(join(e2e, src)).filter((n) => /\.ya?ml$/.test(n))) {
      writeFileSync(join(dir, `${src}-${name}`), fill(readFileSync(join(e2e, src, name), 'utf8')));
    }
  }
  return dir;
}
