// The Envoy pair of the mTLS modes (bench/protocols/mtls-envoy-pair.ts) is the repo's translation
// of the pair's YAML (mtls-mesh-yaml.ts), not a hand-written config: proxy A's cluster to B
// carries Istio's UpstreamTlsContext from auto mTLS (SDS `default` / `ROOTCA` from sds-grpc, the
// bench-app SPIFFE ID as a URI SAN, Istio's ALPN: HTTP's istio-http/1.1, TCP's `istio`), B is the
// virtualInbound under STRICT (client certificate required); and stock Envoy accepts both
// (`envoy --mode validate`; skipped without Envoy unless WASMESH_REQUIRE_ENVOY=1).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyPairInbound, envoyPairOutbound, validateEnvoyConfig } from '../../../bench/protocols/mtls-envoy-pair.js';
import { MTLS_SERVICE, mtlsPairMeshYaml, type MtlsHopProtocol } from '../../../bench/protocols/mtls-mesh-yaml.js';
import { envoyForTests } from '../../helpers/envoy-for-tests.js';

const envoy = envoyForTests('bench:protocols mTLS Envoy pair');
const dir = mkdtempSync(join(tmpdir(), 'wasmesh-mtls-envoy-pair-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, any>;

function pair(hop: MtlsHopProtocol): { a: Json; b: Json; meshDir: string } {
  const meshDir = join(dir, hop);
  mkdirSync(meshDir, { recursive: true });
  for (const [name, text] of Object.entries(mtlsPairMeshYaml(hop, { host: '127.0.0.1', port: 15006 }))) writeFileSync(join(meshDir, name), text);
  const sdsSocket = join(dir, `${hop}.sock`);
  return {
    meshDir,
    a: envoyPairOutbound(meshDir, { httpPort: 18080, tcpPort: 18081, admin: 18082, sdsSocket }),
    b: envoyPairInbound(meshDir, { inboundPort: 15006, appPort: 18090, admin: 18083, sdsSocket }),
  };
}

const clusterTo = (a: Json): Json => a.static_resources.clusters.find((c: Json) => String(c.name).endsWith(`||${MTLS_SERVICE}`));

describe('the mTLS modes\' Envoy pair, from the repo\'s translation', () => {
  it.each([['HTTP', ['istio-http/1.1', 'istio', 'http/1.1']], ['TCP', ['istio']]] as const)('%s: A originates Istio\'s mTLS to B (SDS certificates, the bench-app SPIFFE ID, Istio\'s ALPN)', (hop, alpn) => {
    const { a } = pair(hop);
    const c = clusterTo(a);
    expect(c, JSON.stringify(a.static_resources.clusters.map((x: Json) => x.name))).toBeDefined();
    const tls = c.transport_socket.typed_config;
    expect(tls['@type']).toContain('UpstreamTlsContext');
    expect(tls.sni).toBe(`outbound_.${hop === 'TCP' ? 7000 : 8080}_._.${MTLS_SERVICE}`);
    expect(tls.common_tls_context.alpn_protocols).toEqual(alpn);
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs[0].name).toBe('default');
    const v = tls.common_tls_context.combined_validation_context;
    expect(v.validation_context_sds_secret_config.name).toBe('ROOTCA');
    expect(v.default_validation_context.match_typed_subject_alt_names).toContainEqual({ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/bench-app' } });
    expect(a.static_resources.clusters.map((x: Json) => x.name)).toContain('sds-grpc');
  });

  it('B is the virtualInbound under STRICT: only mesh TLS, a client certificate required, HTTP and TCP chains to the app port', () => {
    const { b } = pair('TCP');
    const listener = b.static_resources.listeners[0];
    expect(listener.name).toBe('virtualInbound');
    for (const chain of listener.filter_chains) {
      expect(chain.filter_chain_match.transport_protocol).toBe('tls');
      expect(chain.transport_socket.typed_config.require_client_certificate).toBe(true);
    }
    expect(b.static_resources.clusters.map((x: Json) => x.name)).toEqual(['inbound|18090||', 'sds-grpc']);
  });

  it('a mesh without STRICT is refused for B, with the mode it has', () => {
    const meshDir = join(dir, 'permissive');
    mkdirSync(meshDir, { recursive: true });
    for (const [name, text] of Object.entries(mtlsPairMeshYaml('HTTP', { host: '127.0.0.1', port: 15006 }))) writeFileSync(join(meshDir, name), text.replace('mode: STRICT', 'mode: PERMISSIVE'));
    expect(() => envoyPairInbound(meshDir, { inboundPort: 15006, appPort: 18090, admin: 18083, sdsSocket: join(dir, 'x.sock') })).toThrow('the inbound\'s PeerAuthentication mode is PERMISSIVE, expected STRICT');
  });

  it.skipIf(envoy === null).each(['HTTP', 'TCP'] as const)('%s: stock Envoy accepts both bootstraps (envoy --mode validate)', async (hop) => {
    const { a, b } = pair(hop);
    for (const [name, config] of [['a', a], ['b', b]] as const) {
      const file = join(dir, `${hop}-${name}.yaml`);
      writeFileSync(file, stringify(config));
      await validateEnvoyConfig(envoy!, file);
    }
  }, 120_000);

  it.skipIf(envoy === null)('a config Envoy refuses fails validation with what Envoy said', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, stringify({ static_resources: { listeners: [{ name: 'x' }] } }));
    await expect(validateEnvoyConfig(envoy!, file)).rejects.toThrow(/envoy --mode validate refused .*bad\.yaml/);
  }, 60_000);
});
