// Every MeshConfig field travels in wasmesh's xDS resource: a sidecar's and a gateway's mesh as
// the loader resolves them from YAML that sets every optional field (meshConfig, Telemetry,
// policies, L4 routes, Gateway ports) come back deep-equal from proxyConfigResources →
// assembleProxyConfig — what `wasmesh proxy --xds` serves is what `wasmesh proxy -f` would. The
// field list is typed over MeshConfig: a field added there must be added (and set) here.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { loadConfig } from '../../host/config/load-config.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { assembleProxyConfig, proxyConfigResources } from '../../host/xds/wasmesh-resource.js';

/** Every MeshConfig field the header carries (all but the virtual hosts and clusters). */
const HEADER_FIELDS = {
  gatewayListeners: true, inboundMtlsMode: true, authorization: true, extAuthzProviders: true, jwtRules: true,
  pathNormalization: true, outboundTrafficPolicy: true, rateLimit: true, inboundRateLimit: true, tracing: true,
  inboundTracing: true, accessLogs: true, inboundAccessLogs: true, metricsOverrides: true, tcpRoutes: true,
  tlsRoutes: true, gatewayTcpListeners: true, gatewayPassthroughListeners: true, serviceAddresses: true,
  protocolDetectionTimeoutMs: true,
} satisfies { [K in Exclude<keyof MeshConfig, 'virtualHosts' | 'clusters'>]-?: true };

const JWKS = JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k1', alg: 'RS256', use: 'sig', n: 'sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw', e: 'AQAB' }] });

const MESH = (dir: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    pathNormalization: {normalization: MERGE_SLASHES}
    outboundTrafficPolicy: {mode: REGISTRY_ONLY}
    protocolDetectionTimeout: 250ms
    accessLogFile: ${dir}/access.log
    extensionProviders:
    - name: authz
      envoyExtAuthzHttp: {service: authz.default.svc.cluster.local, port: 9000}
    - name: zipkin
      zipkin: {service: zipkin.default.svc.cluster.local, port: 9411}
    - name: json
      envoyFileAccessLog:
        path: ${dir}/json.log
        logFormat: {labels: {code: "%RESPONSE_CODE%"}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing: [{match: {mode: SERVER}, providers: [{name: zipkin}], randomSamplingPercentage: 100}, {match: {mode: CLIENT}, providers: [{name: zipkin}], randomSamplingPercentage: 10}]
  accessLogging: [{match: {mode: CLIENT}, providers: [{name: envoy}]}, {match: {mode: SERVER}, providers: [{name: json}]}]
  metrics: [{providers: [{name: prometheus}], overrides: [{match: {metric: REQUEST_COUNT}, disabled: true}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  action: CUSTOM
  provider: {name: authz}
  rules: [{to: [{operation: {paths: ["/ext/*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  jwtRules:
  - issuer: https://issuer.test
    jwks: '${JWKS}'
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: PERMISSIVE}}
---
apiVersion: policy.wasmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: outbound, namespace: default}
spec:
  local:
    rules:
    - name: per-user
      descriptor: [{requestHeader: {name: x-user}}]
      tokenBucket: {maxTokens: 2, tokensPerFill: 1, fillInterval: 1h}
---
apiVersion: policy.wasmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: inbound, namespace: default}
spec:
  context: SIDECAR_INBOUND
  local:
    rules:
    - name: per-user
      descriptor: [{requestHeader: {name: x-user}}]
      tokenBucket: {maxTokens: 5, tokensPerFill: 1, fillInterval: 1h}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis, namespace: default}
spec:
  hosts: [redis.example.internal]
  addresses: [10.9.0.5]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 6379, name: redis, protocol: REDIS}, {number: 443, name: tls, protocol: TLS}]
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: default}
spec:
  hosts: [web.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: redis, namespace: default}
spec:
  hosts: [redis.example.internal]
  tcp: [{match: [{port: 6379}], route: [{destination: {host: redis.example.internal, port: {number: 6379}}}]}]
  tls: [{match: [{port: 443, sniHosts: [redis.example.internal]}], route: [{destination: {host: redis.example.internal, port: {number: 443}}}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 6379, name: redis, protocol: REDIS}
    hosts: ['*']
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: ['*']
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: gw-routes, namespace: default}
spec:
  hosts: ['*']
  gateways: [gw]
  http: [{route: [{destination: {host: web.example.internal}}]}]
  tcp: [{match: [{port: 6379}], route: [{destination: {host: redis.example.internal, port: {number: 6379}}}]}]
  tls: [{match: [{port: 443, sniHosts: [redis.example.internal]}], route: [{destination: {host: redis.example.internal, port: {number: 443}}}]}]
`;

const dir = mkdtempSync(join(tmpdir(), 'wasmesh-resource-fields-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'mesh.yaml'), MESH(dir));

const roundTrip = (mesh: MeshConfig): MeshConfig => assembleProxyConfig(proxyConfigResources({ version: '1', mesh, warnings: [] }).map((r) => r.body)).mesh;

describe('every MeshConfig field travels in wasmesh\'s xDS resource', () => {
  const sidecar = loadConfig([dir], { labels: { app: 'web' }, workloadIdentity: true, allowUnenforcedSecurity: true });
  const gateway = loadConfig([dir], { gateway: 'gw', allowUnenforcedSecurity: true });

  it('the loader sets every header field in the sidecar\'s or the gateway\'s mesh (the YAML covers them all)', () => {
    const unset = Object.keys(HEADER_FIELDS).filter((k) => !(k in sidecar.mesh) && !(k in gateway.mesh));
    expect(unset).toEqual([]);
  });

  it('a sidecar\'s mesh comes back deep-equal', () => {
    expect(roundTrip(sidecar.mesh)).toEqual(sidecar.mesh);
  });

  it('a gateway\'s mesh comes back deep-equal', () => {
    expect(roundTrip(gateway.mesh)).toEqual(gateway.mesh);
  });

  it('refuses a malformed field with its name and where in it, and a field this proxy does not know', () => {
    const header = (extra: Record<string, unknown>) => [pack(['proxy', { version: '1', warnings: [], virtualHosts: [], clusters: [], ...extra }])];
    expect(() => assembleProxyConfig(header({ pathNormalization: 'SOMETIMES' }))).toThrow(/header field pathNormalization "SOMETIMES" is not NONE, BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES \(WASMESH_RESOURCE_INVALID\)/);
    expect(() => assembleProxyConfig(header({ outboundTrafficPolicy: 'SOME' }))).toThrow(/header field outboundTrafficPolicy "SOME" is not ALLOW_ANY or REGISTRY_ONLY/);
    expect(() => assembleProxyConfig(header({ accessLogs: [{ provider: 'envoy', path: '/dev/stdout', encoding: 'TEXT' }, { provider: 'x' }] }))).toThrow(/header field accessLogs\[1\] lacks a provider or path/);
    expect(() => assembleProxyConfig(header({ inboundAccessLogs: [{ provider: 'x', path: '/p', encoding: 'XML' }] }))).toThrow(/header field inboundAccessLogs\[0\] encoding "XML" is not TEXT or JSON/);
    expect(() => assembleProxyConfig(header({ serviceAddresses: [{ address: 5, port: 1 }] }))).toThrow(/header field serviceAddresses\[0\] lacks an address/);
    expect(() => assembleProxyConfig(header({ protocolDetectionTimeoutMs: -1 }))).toThrow(/header field protocolDetectionTimeoutMs -1 is not a number of milliseconds/);
    expect(() => assembleProxyConfig(header({ inboundMtlsMode: 'LOOSE' }))).toThrow(/inboundMtlsMode "LOOSE" is not DISABLE, PERMISSIVE or STRICT/);
    expect(() => assembleProxyConfig(header({ futureSetting: 1 }))).toThrow(/the header field "futureSetting" is not one this proxy knows \(a newer control plane\?\) \(WASMESH_RESOURCE_INVALID\)/);
  });
});
