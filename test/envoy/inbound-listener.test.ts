// An Envoy sidecar's inbound listener (Istio's virtualInbound) per PeerAuthentication mode: STRICT
// mTLS only with SDS default/ROOTCA and a client certificate required, PERMISSIVE by
// tls_inspector and transport_protocol, DISABLE plaintext; XFCC appended over mTLS and dropped
// over plaintext; routes by the Host's port to inbound|<port>||; bad input refused, located;
// encoded by the real proto types and accepted by the real Envoy's validation.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyInbound, inboundClusterName } from '../../host/envoy/inbound-listener.js';
import { sdsCluster, sdsSecretConfig } from '../../host/envoy/sds-config.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { jsonList } from '../helpers/envoy-json.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const listen = { host: '127.0.0.1', port: 15006 };

function chains(mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE'): any[] {
  return envoyInbound({ listen, appPorts: [5005, 8080], mode }).listener.filter_chains as any[];
}
const hcmOf = (chain: any): any => chain.filters[0].typed_config;

describe('envoyInbound', () => {
  it('STRICT: mesh mTLS only (client certificate required, SDS default and ROOTCA, ALPN): an HTTP chain by ALPN (XFCC appended) and Istio\'s TCP chain', () => {
    const [chain, tcp, ...rest] = chains('STRICT');
    expect(rest).toEqual([]);
    expect(chain.filter_chain_match).toEqual({ transport_protocol: 'tls', application_protocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2', 'http/1.0', 'http/1.1', 'h2'] });
    expect(tcp.filter_chain_match).toEqual({ transport_protocol: 'tls' });
    expect(chain.transport_socket.typed_config).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: true,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [sdsSecretConfig('default')],
        combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: sdsSecretConfig('ROOTCA') },
        alpn_protocols: ['http/1.1', 'istio-http/1.1', 'istio'],
      },
    });
    expect(hcmOf(chain).forward_client_cert_details).toBe('APPEND_FORWARD');
    expect(hcmOf(chain).set_current_client_cert_details).toEqual({ subject: true, uri: true, dns: true });
    // The ALPN the chains match on is read by the tls_inspector.
    expect(envoyInbound({ listen, appPorts: [5005], mode: 'STRICT' }).listener.listener_filters).toEqual([{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }]);
  });

  it('mesh TLS that offers no HTTP ALPN (Istio\'s TCP `istio-peer-exchange, istio`, `istio`, none) is TCP: tcp_proxy to the first app port, agreeing on `istio` only, behind RBAC', () => {
    const [, tcp] = chains('STRICT');
    expect(tcp.transport_socket.typed_config.require_client_certificate).toBe(true);
    // Never istio-peer-exchange: stock Envoy cannot do the exchange a wasmesh or Istio peer would then wait for.
    expect(tcp.transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(['istio']);
    expect(tcp.filters).toEqual([{ name: 'envoy.filters.network.tcp_proxy', typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'inbound|5005||', cluster: 'inbound|5005||', idle_timeout: '3600s',
    } }]);
    const authz = envoyInbound({ listen, appPorts: [5005], mode: 'STRICT', authorization: [{ name: 'shop/deny-all', action: 'DENY', rules: [{ from: [], to: [], when: [] }], dryRun: false, provider: null }] });
    const filters = jsonList(authz.listener, 'filter_chains.1.filters').map((f) => f.name);
    expect(filters).toEqual(['envoy.filters.network.rbac', 'envoy.filters.network.tcp_proxy']);
  });

  it('PERMISSIVE: tls_inspector, a tls chain (mTLS, XFCC appended) and a raw_buffer chain (plaintext, XFCC dropped)', () => {
    const { listener } = envoyInbound({ listen, appPorts: [5005], mode: 'PERMISSIVE' });
    expect(listener.listener_filters).toEqual([{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }]);
    const [tls, tcp, raw] = chains('PERMISSIVE');
    expect(tls.filter_chain_match).toEqual({ transport_protocol: 'tls', application_protocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2', 'http/1.0', 'http/1.1', 'h2'] });
    expect(tcp.filter_chain_match).toEqual({ transport_protocol: 'tls' });
    expect(tcp.filters.at(-1).name).toBe('envoy.filters.network.tcp_proxy');
    expect(tls.transport_socket.typed_config.require_client_certificate).toBe(true);
    expect(raw.filter_chain_match).toEqual({ transport_protocol: 'raw_buffer' });
    expect(raw.transport_socket).toBeUndefined();
    expect(hcmOf(raw).forward_client_cert_details).toBe('SANITIZE');
    expect(hcmOf(raw).set_current_client_cert_details).toBeUndefined();
    // Distinct route table names: the xDS split serves each over RDS by name.
    expect(hcmOf(tls).route_config.name).not.toBe(hcmOf(raw).route_config.name);
  });

  it('DISABLE: one plaintext chain, no inspector', () => {
    const { listener } = envoyInbound({ listen, appPorts: [5005], mode: 'DISABLE' });
    expect(listener.listener_filters).toBeUndefined();
    const [chain, ...rest] = listener.filter_chains as any[];
    expect(rest).toEqual([]);
    expect(chain.transport_socket).toBeUndefined();
    expect(hcmOf(chain).forward_client_cert_details).toBe('SANITIZE');
  });

  it('routes by the Host\'s port to that app port, anything else to the first; one STATIC cluster per app port on 127.0.0.1', () => {
    const { listener, clusters } = envoyInbound({ listen, appPorts: [5005, 8080], mode: 'STRICT' });
    expect(listener.name).toBe('virtualInbound');
    expect(listener.address).toEqual({ socket_address: { address: '127.0.0.1', port_value: 15006 } });
    const vhosts = hcmOf((listener.filter_chains as any[])[0]).route_config.virtual_hosts;
    expect(vhosts.map((v: any) => [v.domains, v.routes[0].route.cluster])).toEqual([
      [['*:5005'], 'inbound|5005||'], [['*:8080'], 'inbound|8080||'], [['*'], 'inbound|5005||'],
    ]);
    expect(clusters.map((c: any) => [c.name, c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address])).toEqual([
      ['inbound|5005||', { address: '127.0.0.1', port_value: 5005 }], ['inbound|8080||', { address: '127.0.0.1', port_value: 8080 }],
    ]);
    expect(inboundClusterName(9)).toBe('inbound|9||');
  });

  it('refuses no app port, a bad port, the inbound port itself and a port twice, located at the listener', () => {
    expect(() => envoyInbound({ listen, appPorts: [], mode: 'STRICT' })).toThrow(/^inbound listener 127\.0\.0\.1:15006: no app port .*\[envoy_config_bad_listen\]$/);
    expect(() => envoyInbound({ listen, appPorts: [70000], mode: 'STRICT' })).toThrow(/app port 70000 is not 1-65535/);
    expect(() => envoyInbound({ listen, appPorts: [15006], mode: 'STRICT' })).toThrow(/app port 15006 is the inbound port itself/);
    expect(() => envoyInbound({ listen, appPorts: [5005, 5005], mode: 'STRICT' })).toThrow(/name a port twice/);
  });

  it('split for xDS (routes over RDS, endpoints over EDS), every mode encodes as Envoy\'s Listener', () => {
    for (const mode of ['STRICT', 'PERMISSIVE', 'DISABLE'] as const) {
      const { listener, clusters } = envoyInbound({ listen, appPorts: [5005], mode });
      const r = envoyXdsResources({ static_resources: { listeners: [listener], clusters } });
      expect(r.routes.length).toBe(mode === 'PERMISSIVE' ? 2 : 1);
      expect(r.clusters[0]!.type).toBe('EDS');
      const bytes = anyFromJson(envoyProtos(), TYPE_URL.listener, r.listeners[0]).value;
      const decoded = envoyProtos().lookupType('envoy.config.listener.v3.Listener').decode(bytes) as any;
      expect(decoded.filter_chains.length).toBe(mode === 'PERMISSIVE' ? 3 : mode === 'STRICT' ? 2 : 1);
      if (mode !== 'DISABLE') expect(decoded.filter_chains[0].transport_socket.typed_config.type_url).toContain('DownstreamTlsContext');
      if (mode !== 'DISABLE') expect(decoded.listener_filters[0].typed_config.type_url).toContain('TlsInspector');
    }
  });
});

const run = promisify(execFile);
const envoy = envoyForTests('inbound-listener');

describe.skipIf(envoy === null)('envoy --mode validate accepts the inbound listener', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-inbound-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const mode of ['STRICT', 'PERMISSIVE', 'DISABLE'] as const) {
    it(mode, async () => {
      const { listener, clusters } = envoyInbound({ listen, appPorts: [5005, 8080], mode });
      const config = { node: { id: 'sidecar~127.0.0.1~app.default~default.svc.cluster.local', cluster: 'app.default' }, admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } }, static_resources: { listeners: [listener], clusters: [...clusters, sdsCluster(join(dir, 'socket'))] } };
      const file = join(dir, `${mode}.json`);
      writeFileSync(file, JSON.stringify(config));
      const out = await run(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 30_000 }).then(
        (r) => ({ ok: true, text: r.stdout + r.stderr }),
        (e: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, text: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` }),
      );
      expect(out.ok, out.text).toBe(true);
    }, 40_000);
  }
});
