// Istio's TCP metadata exchange on an Envoy with the wasmesh TCP stats filter
// (host/envoy/tcp-peer-exchange.ts): the inbound's mesh TLS TCP chain gets a copy for ClientHellos
// offering `istio-peer-exchange` (TLS agreeing on it, the exchanging filter before tcp_proxy) while
// the original keeps `istio`; TCP ports' ISTIO_MUTUAL clusters offer `istio-peer-exchange, istio`,
// other clusters are untouched; the result is accepted by the real Envoy's validation.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { sdsCluster } from '../../host/envoy/sds-config.js';
import { withInboundPeerExchangeChains, withPeerExchangeAlpn } from '../../host/envoy/tcp-peer-exchange.js';
import { tcpStatsNetworkFilter, withTcpIstioStats } from '../../host/envoy/tcp-stats-filter.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { defaultFiltersWasmPath } from '../../host/envoy/filters-bootstrap.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { jsonAt, jsonList } from '../helpers/envoy-json.js';

const listen = { host: '127.0.0.1', port: 15006 };
const SELF = workloadMetadata({ name: 'beta-1', namespace: 'shop', labels: { app: 'beta' }, nodeId: 'sidecar~127.0.0.1~beta-1.shop~shop.svc.cluster.local', principal: 'spiffe://cluster.local/ns/shop/sa/default' });
const statsWasm = join(defaultFiltersWasmPath(), '..', 'wasmesh-stats.wasm');
const config = (o: { tcpExchange: boolean }) => ({ reporter: 'destination' as const, self: SELF, peers: [], ...o });

function inbound(): Record<string, unknown> {
  const { listener } = envoyInbound({ listen, appPorts: [6379], mode: 'STRICT' });
  const exchanging = withInboundPeerExchangeChains(listener, tcpStatsNetworkFilter(config({ tcpExchange: true }), statsWasm));
  return withTcpIstioStats(exchanging, config({ tcpExchange: false }), statsWasm);
}
const pluginText = (filter: unknown): string => Buffer.from(String(jsonAt(filter, 'typed_config.config.configuration.value')), 'base64').toString();
const names = (chain: unknown): unknown[] => jsonList(chain, 'filters').map((f) => f.name);

describe('withInboundPeerExchangeChains', () => {
  it('adds a chain for ClientHellos offering istio-peer-exchange, agreeing on it, whose TCP filter exchanges; the `istio` chain stays without', () => {
    const [http, exchange, plain, ...rest] = jsonList(inbound(), 'filter_chains');
    expect(rest).toEqual([]);
    expect(jsonAt(http, 'filter_chain_match.application_protocols')).toContain('istio-http/1.1');
    expect(exchange!.filter_chain_match).toEqual({ transport_protocol: 'tls', application_protocols: ['istio-peer-exchange'] });
    expect(jsonAt(exchange, 'transport_socket.typed_config.common_tls_context.alpn_protocols')).toEqual(['istio-peer-exchange', 'istio']);
    expect(jsonAt(exchange, 'transport_socket.typed_config.require_client_certificate')).toBe(true);
    expect(names(exchange)).toEqual(['envoy.filters.network.wasm', 'envoy.filters.network.tcp_proxy']);
    expect(pluginText(jsonAt(exchange, 'filters.0'))).toMatch(/\ntcp_exchange\t3d230467[0-9a-f]+\n/);
    expect(plain!.filter_chain_match).toEqual({ transport_protocol: 'tls' });
    expect(jsonAt(plain, 'transport_socket.typed_config.common_tls_context.alpn_protocols')).toEqual(['istio']);
    expect(names(plain)).toEqual(['envoy.filters.network.wasm', 'envoy.filters.network.tcp_proxy']);
    expect(pluginText(jsonAt(plain, 'filters.0'))).not.toContain('tcp_exchange');
  });

  it('a listener without a mesh TLS TCP chain (DISABLE) is returned as it is', () => {
    const { listener } = envoyInbound({ listen, appPorts: [6379], mode: 'DISABLE' });
    expect(withInboundPeerExchangeChains(listener, {})).toBe(listener);
  });
});

describe('withPeerExchangeAlpn', () => {
  const cluster = (alpn: string[]): Record<string, unknown> => ({ name: 'outbound|6379||beta', transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'x', common_tls_context: { alpn_protocols: alpn, tls_certificate_sds_secret_configs: [] } } } });
  it('a TCP port\'s ISTIO_MUTUAL cluster (ALPN istio) offers the exchange first; HTTP and plaintext clusters are untouched', () => {
    const tcp = withPeerExchangeAlpn(cluster(['istio']));
    expect(jsonAt(tcp, 'transport_socket.typed_config.common_tls_context')).toEqual({ alpn_protocols: ['istio-peer-exchange', 'istio'], tls_certificate_sds_secret_configs: [] });
    const http = cluster(['istio-http/1.1', 'istio', 'http/1.1']);
    expect(withPeerExchangeAlpn(http)).toBe(http);
    const plain = { name: 'outbound|80||x' };
    expect(withPeerExchangeAlpn(plain)).toBe(plain);
  });
});

const run = promisify(execFile);
const envoy = envoyForTests('tcp-peer-exchange');

describe.skipIf(envoy === null)('envoy --mode validate accepts the inbound with its peer-exchange chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-peer-exchange-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('STRICT, with the TCP stats filter on both chains', async () => {
    const { clusters } = envoyInbound({ listen, appPorts: [6379], mode: 'STRICT' });
    const cfg = { node: { id: SELF.nodeId, cluster: 'beta.shop' }, admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } }, static_resources: { listeners: [inbound()], clusters: [...clusters, sdsCluster(join(dir, 'socket'))] } };
    const file = join(dir, 'inbound.json');
    writeFileSync(file, JSON.stringify(cfg));
    const out = await run(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 60_000 }).then(
      (r) => ({ ok: true, text: r.stdout + r.stderr }),
      (e: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, text: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` }),
    );
    expect(out.ok, out.text).toBe(true);
  }, 70_000);
});
