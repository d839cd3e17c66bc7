// ServiceEntry resolution DNS / DNS_ROUND_ROBIN in the Envoy translation: STRICT_DNS and
// LOGICAL_DNS clusters with Istio's DNS settings, accepted by a real Envoy.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { loadConfig } from '../../host/config/index.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import { tempYaml } from '../helpers/temp-yaml.js';

const envoy = envoyForTests('envoy DNS clusters');

const entry = (name: string, resolution: string, endpoints: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${name}.example.com]
  location: MESH_EXTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: ${resolution}
${endpoints}`;

/* eslint-disable @typescript-eslint/no-explicit-any */
function build() {
  const t = tempYaml({
    'a.yaml': [
      entry('strict', 'DNS', ''),
      entry('logical', 'DNS_ROUND_ROBIN', ''),
      entry('multi', 'DNS_ROUND_ROBIN', '  endpoints: [{address: one.example.com}, {address: two.example.com}]\n'),
      entry('fixed', 'STATIC', '  endpoints: [{address: 10.0.0.1}]\n'),
    ].join('---\n'),
  });
  const loaded = loadConfig([t.dir]);
  return envoyBootstrap(loaded, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 } });
}

describe('DNS ServiceEntries as Envoy clusters', () => {
  it('DNS → STRICT_DNS, DNS_ROUND_ROBIN → LOGICAL_DNS (STRICT_DNS with a warning when several endpoints), TTL respected, 60 s refresh', () => {
    const { config, warnings } = build();
    const byHost = (h: string) => (config as any).static_resources.clusters.find((c: any) => c.name === `outbound|80||${h}.example.com`);
    expect(byHost('strict')).toMatchObject({ type: 'STRICT_DNS', respect_dns_ttl: true, dns_refresh_rate: '60s', dns_lookup_family: 'V4_ONLY' });
    expect(byHost('strict').load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: 'strict.example.com', port_value: 80 });
    expect(byHost('logical').type).toBe('LOGICAL_DNS');
    expect(byHost('multi').type).toBe('STRICT_DNS');
    expect(warnings.some((w) => /outbound\|80\|\|multi\.example\.com: DNS_ROUND_ROBIN with 2 endpoints/.test(w))).toBe(true);
    expect(byHost('fixed').type).toBe('STATIC');
    expect(byHost('fixed').respect_dns_ttl).toBeUndefined();
  });

  it('they encode as ADS resources against Envoy\'s .proto files (the control plane pushes them)', () => {
    const r = envoyXdsResources(build().config as Record<string, unknown>);
    const root = envoyProtos();
    const dns = r.clusters.filter((c) => (c as any).type !== 'STATIC');
    expect(dns.length).toBeGreaterThanOrEqual(3);
    for (const c of r.clusters) expect(anyFromJson(root, TYPE_URL.cluster, c).value.length).toBeGreaterThan(0);
  });

  it.skipIf(envoy === null)('a real Envoy accepts them (envoy --mode validate)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-dns-clusters-'));
    try {
      const file = join(dir, 'b.yaml');
      writeFileSync(file, build().yaml);
      const { stdout, stderr } = await promisify(execFile)(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 20_000 });
      expect(stdout + stderr).toContain('OK');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
