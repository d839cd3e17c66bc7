// DNS clusters' names replaced by their answers: one endpoint per address (DNS), the first
// (DNS_ROUND_ROBIN), the name kept until it has an answer, other clusters and IPs untouched.
import { describe, expect, it } from 'vitest';
import { dnsNames, withResolvedEndpoints } from '../../host/upstream/dns-endpoints.js';
import type { Cluster, MeshConfig } from '../../host/model/mesh.js';

const cluster = (name: string, addresses: string[], dns?: Cluster['dnsResolution']): Cluster => ({
  name, host: `${name}.test`, port: 443, subset: null, lb: 'ROUND_ROBIN',
  endpoints: addresses.map((address) => ({ address, port: 443, labels: { v: '1' }, weight: 2 })),
  ...(dns !== undefined ? { dnsResolution: dns } : {}),
});
const mesh: MeshConfig = {
  virtualHosts: [],
  clusters: [cluster('strict', ['api.test', '10.1.1.1']), cluster('logical', ['lb.test'], 'LOGICAL_DNS'), cluster('static', ['named.test'])],
};
mesh.clusters[0]!.dnsResolution = 'STRICT_DNS';

describe('dns endpoints', () => {
  it('names of DNS clusters only, IP literals left out', () => {
    expect([...dnsNames(mesh)]).toEqual(['api.test', 'lb.test']);
  });

  it('STRICT_DNS: an endpoint per address (port, labels, weight kept, hostname set); LOGICAL_DNS: the first; no answer: the name', () => {
    const answers: Record<string, string[]> = { 'api.test': ['10.0.0.1', '10.0.0.2'], 'lb.test': ['10.0.0.7', '10.0.0.8'], 'named.test': ['10.9.9.9'] };
    const out = withResolvedEndpoints(mesh, (n) => answers[n] ?? null);
    expect(out.clusters[0]!.endpoints).toEqual([
      { address: '10.0.0.1', port: 443, labels: { v: '1' }, weight: 2, hostname: 'api.test' },
      { address: '10.0.0.2', port: 443, labels: { v: '1' }, weight: 2, hostname: 'api.test' },
      { address: '10.1.1.1', port: 443, labels: { v: '1' }, weight: 2 },
    ]);
    expect(out.clusters[1]!.endpoints.map((e) => e.address)).toEqual(['10.0.0.7']);
    expect(out.clusters[2]).toBe(mesh.clusters[2]);
    expect(mesh.clusters[0]!.endpoints.map((e) => e.address)).toEqual(['api.test', '10.1.1.1']);
    expect(withResolvedEndpoints(mesh, () => null)).toBe(mesh);
  });
});
