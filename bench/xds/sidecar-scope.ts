// What a Sidecar scoping egress to `./*` saves the control plane per proxy: N services spread
// over K namespaces (ServiceEntry + mesh VirtualService each), one sidecar in the first
// namespace, resolved with and without a root-namespace Sidecar `egress: [{hosts: ["./*"]}]`.
// Measures the view a proxy is pushed — wasmesh's MeshConfig (JSON bytes), Envoy's resources
// (bootstrap YAML bytes, clusters, virtual hosts) — and the time to compute it (resolve +
// Envoy translation, the work of one view build). `node dist/bench/xds/sidecar-scope.js
// [services] [namespaces] [repeat]`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig, resolveConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';

const [services = 1000, namespaces = 10, repeat = 5] = process.argv.slice(2).map(Number);

function yaml(i: number): string {
  const ns = `ns-${i % namespaces}`;
  const host = `svc-${i}.${ns}.svc.cluster.local`;
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-${i}, namespace: ${ns}}
spec:
  hosts: [${host}]
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
  endpoints: [{address: 10.${(i >> 8) & 255}.${i & 255}.1}, {address: 10.${(i >> 8) & 255}.${i & 255}.2}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-${i}, namespace: ${ns}}
spec:
  hosts: [${host}]
  http: [{match: [{uri: {prefix: /api/}}], timeout: 5s, route: [{destination: {host: ${host}}}]}, {route: [{destination: {host: ${host}}}]}]
`;
}

const SIDECAR = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec:
  egress: [{hosts: ["./*"]}]
`;

function measure(withSidecar: boolean): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-scope-'));
  try {
    writeFileSync(join(dir, 'mesh.yaml'), Array.from({ length: services }, (_, i) => yaml(i)).join('---\n'));
    if (withSidecar) writeFileSync(join(dir, 'sidecar.yaml'), SIDECAR);
    const read = readConfig([dir]);
    const times: number[] = [];
    let out: Record<string, number> = {};
    for (let r = 0; r < repeat; r++) {
      const t0 = process.hrtime.bigint();
      const loaded = resolveConfig(read, { namespace: 'ns-0' });
      const { yaml: envoy } = envoyBootstrap(loaded, { listen: { host: '127.0.0.1', port: 15001 }, admin: { host: '127.0.0.1', port: 15000 } });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      out = { clusters: loaded.mesh.clusters.length, virtualHosts: loaded.mesh.virtualHosts.length, meshJsonBytes: JSON.stringify(loaded.mesh).length, envoyYamlBytes: envoy.length };
    }
    times.sort((a, b) => a - b);
    return { ...out, viewBuildMsMedian: Math.round(times[Math.floor(times.length / 2)]! * 10) / 10 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const without = measure(false);
const scoped = measure(true);
console.log(JSON.stringify({ services, namespaces, repeat, withoutSidecar: without, sidecarDotStar: scoped }, null, 2));
