// Which of a TcpProxyServer's ports originate mesh mTLS to an ISTIO_MUTUAL cluster: a TCP port's
// connections do (with the workload certificate, tested end to end in
// test/sidecar/inbound-capture-tcp-mtls.test.ts); a TLS passthrough port forwards the client's
// TLS untouched, so its clusters originate none (Istio's SNI-DNAT clusters have no transport socket).
import { afterEach, describe, expect, test } from 'vitest';
import { TcpProxyServer } from '../../host/server/tcp-proxy-server.js';
import type { MeshConfig } from '../../host/model/mesh.js';

const open: TcpProxyServer[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function mesh(passthrough: boolean): MeshConfig {
  return {
    virtualHosts: [],
    clusters: [{ name: 'outbound|6379||redis.db.svc.cluster.local', host: 'redis.db.svc.cluster.local', port: 6379, subset: null, endpoints: [{ address: '127.0.0.1', port: 1, labels: {}, weight: 1 }], lb: 'ROUND_ROBIN', tls: { mode: 'ISTIO_MUTUAL', auto: true } }],
    ...(passthrough ? { gatewayPassthroughListeners: [{ port: 15443, mode: 'AUTO_PASSTHROUGH' as const, servers: ['istio-system/gw/0'], hosts: ['*'] }] } : {}),
  };
}

describe('mesh mTLS origination by port kind', () => {
  test('a TCP port with an ISTIO_MUTUAL cluster and no workload certificate: the version is refused with why', () => {
    const s = new TcpProxyServer({ host: '127.0.0.1', port: 0, gatewayPort: 15443, adopt: true, istioMetrics: 'off' });
    open.push(s);
    expect(() => s.apply(mesh(false), 1)).toThrow(/ISTIO_MUTUAL needs the proxy's workload certificate source.*TLS_SETTINGS/);
  });

  test('a TLS passthrough port takes the same cluster: it originates no TLS of its own', () => {
    const s = new TcpProxyServer({ host: '127.0.0.1', port: 0, gatewayPort: 15443, adopt: true, istioMetrics: 'off' });
    open.push(s);
    expect(() => s.apply(mesh(true), 1)).not.toThrow();
  });
});
