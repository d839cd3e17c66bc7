// The control plane's views of a Gateway with TLS: a wasmesh gateway gets its certificates inline
// (and they survive the wasmesh resource's encoding), a credentialName without --credentials-dir
// is the view's located error, stock Envoy's view is refused with the reason; the file form
// (envoy-config) refuses the same.
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, readConfig } from '../../host/config/index.js';
import { proxyView } from '../../host/control-plane/proxy-view.js';
import { inlineGatewayCredentials } from '../../host/control-plane/inline-credentials.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { assembleProxyConfig, proxyConfigResources } from '../../host/xds/wasmesh-resource.js';
import type { XdsNode } from '../../host/xds/xds-node.js';
import { webServices } from '../helpers/seed-000-yaml.js';
import { leaf, meshRoot } from '../helpers/test-certs.js';

const EXAMPLE = 'examples/000-web-demo';

function setup(): { sources: string[]; creds: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-gw-view-'));
  writeFileSync(join(dir, '00.yaml'), webServices({ v1: 15101, v2: 15102 }));
  const creds = join(dir, 'creds');
  for (const [name, cert, ca] of [['web-credential', leaf({ ns: 'gw', sa: 'web', dns: ['web.example.com'], noSpiffe: true }), false], ['partner-credential', leaf({ ns: 'gw', sa: 'partner', dns: ['*.partner.example.com'], noSpiffe: true }), true]] as const) {
    mkdirSync(join(creds, name), { recursive: true });
    copyFileSync(cert.cert, join(creds, name, 'tls.crt'));
    copyFileSync(cert.key, join(creds, name, 'tls.key'));
    if (ca) copyFileSync(meshRoot().cert, join(creds, name, 'ca.crt'));
  }
  return { sources: [join(dir, '00.yaml'), `${EXAMPLE}/02-web-demo-service-gateway.yaml`, `${EXAMPLE}/variants/05-web-gateway-https.yaml`], creds };
}

function node(kind: 'wasmesh' | 'envoy'): XdsNode {
  return { id: 'router~127.0.0.1~gw.default~default.svc.cluster.local', type: 'router', ip: '127.0.0.1', pod: 'gw', namespace: 'default', labels: { istio: 'ingressgateway' }, clusterId: 'Kubernetes', serviceAccount: 'default', gateway: 'web-gateway', listen: null, appPorts: [], inbound: null, kind, metadata: {} } as XdsNode;
}

describe('Gateway TLS over xDS', () => {
  it("a wasmesh gateway's view carries the certificates inline, through the resource encoding", () => {
    const { sources, creds } = setup();
    const read = readConfig(sources);
    const v = proxyView(node('wasmesh'), read, { version: '1', allowUnenforcedSecurity: false, credentialsDir: creds });
    expect(v.options.credentialsDir).toBe(creds);
    const loaded = loadConfig(sources, { gateway: 'web-gateway', credentialsDir: creds });
    const inlined = inlineGatewayCredentials(loaded.mesh);
    const back = assembleProxyConfig(proxyConfigResources({ version: '1', mesh: inlined, warnings: [] }).map((r) => r.body));
    const partner = back.mesh.gatewayListeners!.find((l) => l.port === 443)!.servers[1]!.tls!.credential;
    expect(partner.inline).toEqual({
      certificateChain: readFileSync(join(creds, 'partner-credential/tls.crt'), 'utf8'),
      privateKey: readFileSync(join(creds, 'partner-credential/tls.key'), 'utf8'),
      caCertificates: readFileSync(join(creds, 'partner-credential/ca.crt'), 'utf8'),
    });
    // The shared resolution is not changed by inlining.
    expect(loaded.mesh.gatewayListeners![1]!.servers[0]!.tls!.credential.inline).toBeUndefined();
  });

  it('a credentialName without --credentials-dir fails the view, located', () => {
    const { sources } = setup();
    expect(() => proxyView(node('wasmesh'), readConfig(sources), { version: '1', allowUnenforcedSecurity: false })).toThrow(/05-web-gateway-https\.yaml.*spec\.servers\[1\]\.tls\.credentialName.*needs --credentials-dir/s);
  });

  it("stock Envoy's view and envoy-config refuse Gateway TLS with the reason", () => {
    const { sources, creds } = setup();
    expect(() => proxyView(node('envoy'), readConfig(sources), { version: '1', allowUnenforcedSecurity: false, credentialsDir: creds })).toThrow(
      /Gateway server default\/web-gateway\/0 on port 80: httpsRedirect is not translated for stock Envoy yet; serve this Gateway with a wasmesh proxy .*\[envoy_config_gateway_tls\]/,
    );
    const loaded = loadConfig(sources.filter((s) => !s.includes('variants')), { gateway: 'web-gateway' });
    expect(() => envoyBootstrap(loaded, { listen: { host: '127.0.0.1', port: 8080 }, admin: { host: '127.0.0.1', port: 15000 } })).not.toThrow();
    const https = loadConfig(sources, { gateway: 'web-gateway', credentialsDir: creds });
    const only443 = { ...https, mesh: { ...https.mesh, gatewayListeners: https.mesh.gatewayListeners!.filter((l) => l.port === 443) } };
    expect(() => envoyBootstrap(only443, { listen: { host: '127.0.0.1', port: 8443 }, admin: { host: '127.0.0.1', port: 15000 } })).toThrow(/port 443: TLS SIMPLE \(credential web-credential\) is not translated for stock Envoy yet/);
  });
});
