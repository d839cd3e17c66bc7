// An Envoy sidecar's route table per port (host/envoy/sidecar-port-routes.ts), from Istio YAML:
// port P's table holds only the services with port P (virtual hosts `<host>:<P>`, names with and
// without `:P`, the service's VIP too), a VirtualService's match blocks for another port dropped
// and those for P without the condition, the catch-all last; a domain claimed twice keeps the
// first (warned). Traffic: test/sidecar/sidecar-outbound-planes-netns.test.ts.
import { describe, expect, it } from 'vitest';
import { virtualHostsForPort } from '../../host/envoy/sidecar-port-routes.js';
import { loadYaml } from './protocol-fixtures.js';

const YAML = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: default}
spec:
  hosts: [web.example.internal]
  addresses: [10.0.0.52, 10.8.0.0/16]
  resolution: STATIC
  ports: [{number: 80, name: http-web}, {number: 8000, name: http-site}]
  endpoints: [{address: 10.1.0.8}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.internal]
  resolution: STATIC
  ports: [{number: 8080, name: http}]
  endpoints: [{address: 10.1.0.9}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: v6, namespace: default}
spec:
  hosts: [v6.example.internal]
  addresses: ['fd00::5']
  resolution: STATIC
  ports: [{number: 8080, name: http}]
  endpoints: [{address: 10.1.0.10}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: default}
spec:
  hosts: [web.example.internal]
  http:
  - match: [{port: 8000, uri: {prefix: /site}}, {port: 80, uri: {prefix: /eighty}}]
    route: [{destination: {host: web.example.internal, port: {number: 8000}}}]
  - match: [{port: 8000}]
    route: [{destination: {host: web.example.internal, port: {number: 8000}}}]
  - route: [{destination: {host: web.example.internal, port: {number: 80}}}]
`;

const mesh = loadYaml({ 'services.yaml': YAML }).mesh;
const table = (port: number, warnings: string[] = []) => virtualHostsForPort(mesh, port, warnings);

describe('virtualHostsForPort: Istio\'s per-port route tables for an Envoy sidecar', () => {
  it('port 8080 holds the services with port 8080 only: a Host of a port-80 service falls to the catch-all', () => {
    const t = table(8080);
    expect(t.map((v) => v.name)).toEqual(['api.example.internal:8080', 'v6.example.internal:8080', 'allow_any']);
    expect(t.flatMap((v) => v.domains)).not.toContain('web.example.internal');
    expect(t[0]!.domains).toEqual(['api.example.internal', 'api.example.internal:8080']);
    // An IPv6 VIP bracketed, as a Host header carries it.
    expect(t[1]!.domains).toEqual(['v6.example.internal', 'v6.example.internal:8080', '[fd00::5]', '[fd00::5]:8080']);
    expect(t[2]!.domains).toEqual(['*']);
  });

  it('a two-port service: each table its own names with that port and the VIP (not the CIDR); match blocks for the other port dropped', () => {
    const eighty = table(80);
    expect(eighty[0]).toMatchObject({ name: 'web.example.internal:80', domains: ['web.example.internal', 'web.example.internal:80', '10.0.0.52', '10.0.0.52:80'] });
    // Route 0 keeps its port-80 block, without the port condition; route 1 (port 8000 only) is gone.
    expect(eighty[0]!.routes.map((r) => [r.name, r.matches.map((m) => [m.uri?.value ?? null, m.port ?? null])])).toEqual([
      ['default/web/0', [['/eighty', null]]],
      ['default/web/2', []],
    ]);
    const site = table(8000);
    expect(site[0]!.domains).toEqual(['web.example.internal', 'web.example.internal:8000', '10.0.0.52', '10.0.0.52:8000']);
    expect(site[0]!.routes.map((r) => [r.name, r.matches.map((m) => [m.uri?.value ?? null, m.port ?? null])])).toEqual([
      ['default/web/0', [['/site', null]]],
      ['default/web/1', [[null, null]]],
      ['default/web/2', []],
    ]);
  });

  it('a port no service has: the catch-all alone', () => {
    expect(table(9999).map((v) => v.name)).toEqual(['allow_any']);
  });

  it('a domain two hosts claim (a VIP shared by two services) stays with the first, warned', () => {
    const shared = loadYaml({ 'services.yaml': `${YAML}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web-alias, namespace: default}
spec:
  hosts: [alias.example.internal]
  addresses: [10.0.0.52]
  resolution: STATIC
  ports: [{number: 80, name: http}]
  endpoints: [{address: 10.1.0.8}]
` }).mesh;
    const warnings: string[] = [];
    const t = virtualHostsForPort(shared, 80, warnings);
    const alias = t.find((v) => v.name === 'alias.example.internal:80')!;
    const web = t.find((v) => v.name === 'web.example.internal:80')!;
    expect(alias.domains.includes('10.0.0.52') !== web.domains.includes('10.0.0.52')).toBe(true);
    expect(warnings.some((w) => /route table 80: virtual host .*domain "10\.0\.0\.52" already belongs to/.test(w))).toBe(true);
  });
});
