// A cluster's TLS origination as Envoy's UpstreamTlsContext: ISTIO_MUTUAL with SDS `default` and
// a combined validation context (SDS `ROOTCA` + the expected SPIFFE IDs), Istio's SNI and ALPN;
// SIMPLE and MUTUAL with their files inline; the located refusals; every shape encoded by the
// real proto types (as the control plane sends it) and accepted by the real Envoy's validation.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { EnvoyConfigError } from '../../host/envoy/envoy-config-error.js';
import { sdsCluster, sdsSecretConfig } from '../../host/envoy/sds-config.js';
import { envoyUpstreamTransportSocket, ISTIO_MUTUAL_ALPN } from '../../host/envoy/upstream-tls-context.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import type { ClusterTls } from '../../host/model/cluster-tls.js';
import type { Cluster } from '../../host/model/mesh.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { dest, route, webCluster } from '../helpers/mesh-fixtures.js';
import { leaf, meshRoot } from '../helpers/test-certs.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const APP_ID = 'spiffe://cluster.local/ns/default/sa/web';
const SNI = 'outbound_.5005_.v1_.web.default.svc.cluster.local';

function withTls(tls: ClusterTls, extra: Partial<Cluster> = {}): Cluster {
  return webCluster('v1', 15101, { tls, ...extra });
}

function context(c: Cluster): any {
  const t = envoyUpstreamTransportSocket(c) as any;
  expect(t.name).toBe('envoy.transport_sockets.tls');
  expect(t.typed_config['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  return t.typed_config;
}

describe('envoyUpstreamTransportSocket', () => {
  it('plaintext (no tls, DISABLE, auto off): no transport socket', () => {
    expect(envoyUpstreamTransportSocket(webCluster('v1', 1))).toBeNull();
    expect(envoyUpstreamTransportSocket(withTls({ mode: 'DISABLE', auto: false }))).toBeNull();
  });

  it('ISTIO_MUTUAL: SDS default, ROOTCA combined with the expected SPIFFE IDs as URI SANs, Istio\'s SNI and ALPN', () => {
    const ctx = context(withTls({ mode: 'ISTIO_MUTUAL', sni: SNI, subjectAltNames: [APP_ID, 'spiffe://cluster.local/ns/default/sa/web2'], auto: true }));
    expect(ctx.sni).toBe(SNI);
    expect(ctx.common_tls_context).toEqual({
      tls_certificate_sds_secret_configs: [sdsSecretConfig('default')],
      combined_validation_context: {
        default_validation_context: {
          match_typed_subject_alt_names: [
            { san_type: 'URI', matcher: { exact: APP_ID } },
            { san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/web2' } },
          ],
        },
        validation_context_sds_secret_config: sdsSecretConfig('ROOTCA'),
      },
      alpn_protocols: ['istio-http/1.1', 'istio', 'http/1.1'],
    });
    expect(ISTIO_MUTUAL_ALPN).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
    // The secrets come from the agent's sds-grpc cluster (Istio's bootstrap name).
    expect(JSON.stringify(ctx)).toContain('"cluster_name":"sds-grpc"');
  });

  it('ISTIO_MUTUAL to a TCP port (tcp_proxy): Istio\'s TCP ALPN without the metadata exchange (`istio`), whatever the TCP-carried protocol; HTTP ports keep theirs', () => {
    for (const protocol of ['TCP', 'REDIS', 'MYSQL', 'MONGO', 'TLS', 'HTTPS'] as const) {
      expect(context(withTls({ mode: 'ISTIO_MUTUAL', sni: SNI, auto: true }, { protocol })).common_tls_context.alpn_protocols, protocol).toEqual(['istio']);
    }
    expect(context(withTls({ mode: 'ISTIO_MUTUAL', sni: SNI, auto: true }, { protocol: 'HTTP' })).common_tls_context.alpn_protocols).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
    expect(context(withTls({ mode: 'ISTIO_MUTUAL', sni: SNI, auto: true }, { protocol: 'GRPC' })).common_tls_context.alpn_protocols).toEqual(['istio-h2', 'istio', 'h2']);
    // SIMPLE/MUTUAL to a TCP port: no ALPN, as before (the origin's own TLS).
    expect(context(withTls({ mode: 'SIMPLE', sni: 'db.example.com', caCertificates: '/ca.pem', auto: false }, { protocol: 'TCP' })).common_tls_context.alpn_protocols).toBeUndefined();
  });

  it('ISTIO_MUTUAL without known identities: the mesh roots alone decide (no SAN matcher)', () => {
    const ctx = context(withTls({ mode: 'ISTIO_MUTUAL', sni: SNI, subjectAltNames: [], auto: false }));
    expect(ctx.common_tls_context.combined_validation_context.default_validation_context).toEqual({});
  });

  it('ISTIO_MUTUAL with certificate files is refused, located', () => {
    expect(() => envoyUpstreamTransportSocket(withTls({ mode: 'ISTIO_MUTUAL', caCertificates: '/x/ca.pem', auto: false })))
      .toThrow(/^cluster outbound\|5005\|v1\|web\.default\.svc\.cluster\.local: tls mode ISTIO_MUTUAL .* must be absent \[envoy_config_tls_untranslated\]$/);
  });

  it('SIMPLE: the CA file inline, the SNI, expected SANs as URI and DNS (Istio\'s matcher pairs); no ALPN', () => {
    const ctx = context(withTls({ mode: 'SIMPLE', caCertificates: '/etc/ca.pem', sni: 'api.example', subjectAltNames: ['api.example'], auto: false }));
    expect(ctx.sni).toBe('api.example');
    expect(ctx.common_tls_context).toEqual({
      validation_context: {
        trusted_ca: { filename: '/etc/ca.pem' },
        match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'api.example' } }, { san_type: 'DNS', matcher: { exact: 'api.example' } }],
      },
    });
  });

  it('SIMPLE without SANs: the SNI is checked as the host name; without a CA file refused (Envoy has no bundled roots)', () => {
    const ctx = context(withTls({ mode: 'SIMPLE', sni: 'api.example', caCertificates: '/etc/ca.pem', auto: false }));
    expect(ctx.common_tls_context.validation_context).toEqual({ trusted_ca: { filename: '/etc/ca.pem' }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.example' } }] });
    expect(() => envoyUpstreamTransportSocket(withTls({ mode: 'SIMPLE', sni: 'api.example', auto: false })))
      .toThrow(/^cluster outbound\|5005\|v1\|web\.default\.svc\.cluster\.local: tls mode SIMPLE without caCertificates: .*tls\.caCertificates .*\[envoy_config_tls_untranslated\]$/);
    // No SNI, IP endpoints: none sent, the chain alone decides (as wasmesh).
    const bare = context(withTls({ mode: 'SIMPLE', caCertificates: '/etc/ca.pem', auto: false }));
    expect(bare.sni).toBeUndefined();
    expect(bare.common_tls_context.validation_context).toEqual({ trusted_ca: { filename: '/etc/ca.pem' } });
  });

  it('SIMPLE without sni to a named endpoint: its name is the SNI; several names (or names and IPs) are refused', () => {
    const named = (addresses: string[]) => withTls({ mode: 'SIMPLE', caCertificates: '/etc/ca.pem', auto: false }, {
      endpoints: addresses.map((address) => ({ address, port: 443, labels: {}, weight: 1 })),
    });
    expect(context(named(['api.example', 'api.example'])).sni).toBe('api.example');
    expect(() => envoyUpstreamTransportSocket(named(['a.example', 'b.example']))).toThrow(/tls mode SIMPLE without sni: .*\(a\.example, b\.example\).*set the DestinationRule's tls\.sni \[envoy_config_tls_untranslated\]/);
    expect(() => envoyUpstreamTransportSocket(named(['a.example', '10.0.0.1']))).toThrow(/and none to IP addresses/);
  });

  it('insecureSkipVerify: no validation context at all', () => {
    const ctx = context(withTls({ mode: 'SIMPLE', sni: 'api.example', insecureSkipVerify: true, auto: false }));
    expect(ctx.sni).toBe('api.example');
    expect(ctx.common_tls_context).toEqual({});
  });

  it('MUTUAL: the client certificate and key files inline; without them refused', () => {
    const ctx = context(withTls({ mode: 'MUTUAL', caCertificates: '/c/ca.pem', clientCertificate: '/c/cert.pem', privateKey: '/c/key.pem', sni: 'db.example', auto: false }));
    expect(ctx.common_tls_context.tls_certificates).toEqual([{ certificate_chain: { filename: '/c/cert.pem' }, private_key: { filename: '/c/key.pem' } }]);
    expect(ctx.common_tls_context.validation_context.trusted_ca).toEqual({ filename: '/c/ca.pem' });
    expect(() => envoyUpstreamTransportSocket(withTls({ mode: 'MUTUAL', caCertificates: '/c/ca.pem', auto: false }))).toThrow(EnvoyConfigError);
  });

  it('the bootstrap\'s cluster carries it, and the control plane\'s EDS cluster keeps it; the proto types encode it', () => {
    const c = withTls({ mode: 'ISTIO_MUTUAL', sni: SNI, subjectAltNames: [APP_ID], auto: true });
    const mesh = { virtualHosts: [{ name: 'x', domains: ['*'], routes: [route('default/x/0', [dest(c.name)])] }], clusters: [c] };
    const { config } = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 } });
    const cluster = (config as any).static_resources.clusters[0];
    expect(cluster.transport_socket.typed_config.sni).toBe(SNI);
    const xds = envoyXdsResources(config as Record<string, unknown>);
    expect(xds.clusters[0]!.type).toBe('EDS');
    expect((xds.clusters[0] as any).transport_socket).toEqual(cluster.transport_socket);
    const encoded = anyFromJson(envoyProtos(), TYPE_URL.cluster, xds.clusters[0]);
    const decoded = envoyProtos().lookupType('envoy.config.cluster.v3.Cluster').decode(encoded.value) as any;
    expect(decoded.transport_socket.typed_config.type_url).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    const tls = envoyProtos().lookupType('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext').decode(decoded.transport_socket.typed_config.value) as any;
    expect(tls.sni).toBe(SNI);
    expect(tls.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names[0].matcher.exact).toBe(APP_ID);
    expect(tls.common_tls_context.alpn_protocols).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
  });
});

const run = promisify(execFile);
const envoy = envoyForTests('upstream-tls-context');

describe.skipIf(envoy === null)('envoy --mode validate accepts each origination', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-upstream-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ISTIO_MUTUAL over SDS (with the sds-grpc cluster), SIMPLE and MUTUAL from files', async () => {
    const client = leaf({ sa: 'client' });
    const clusters: Cluster[] = [
      webCluster('v1', 15101, { tls: { mode: 'ISTIO_MUTUAL', sni: SNI, subjectAltNames: [APP_ID], auto: true } }),
      webCluster('v2', 15102, { tls: { mode: 'SIMPLE', caCertificates: meshRoot().cert, sni: 'web.example', subjectAltNames: [APP_ID], auto: false } }),
      webCluster(null, 15103, { tls: { mode: 'MUTUAL', caCertificates: meshRoot().cert, clientCertificate: client.cert, privateKey: client.key, auto: false } }),
      webCluster('v3', 15104, { tls: { mode: 'SIMPLE', caCertificates: meshRoot().cert, sni: 'web.example', insecureSkipVerify: false, auto: false } }),
      webCluster('v4', 15105, { tls: { mode: 'SIMPLE', sni: 'web.example', insecureSkipVerify: true, auto: false } }),
    ];
    const mesh = { virtualHosts: [{ name: 'x', domains: ['*'], routes: [route('default/x/0', clusters.map((c) => dest(c.name, 25)))] }], clusters };
    const { config } = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 } });
    (config as any).static_resources.clusters.push(sdsCluster(join(dir, 'socket')));
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(config));
    const out = await run(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 30_000 }).then(
      (r) => ({ ok: true, text: r.stdout + r.stderr }),
      (e: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, text: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` }),
    );
    expect(out.ok, out.text).toBe(true);
  }, 40_000);
});
