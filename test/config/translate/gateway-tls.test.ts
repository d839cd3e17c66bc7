// A Gateway's servers → the gateway proxy's listeners: per port, TLS mode, certificate files
// from credentialName or paths, versions, ciphers, client SANs, httpsRedirect; each problem of
// the served Gateway located.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, type ConfigIssue } from '../../../host/config/index.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../../helpers/seed-000-yaml.js';

const GW = 'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  servers:\n';

function credentials(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-creds-'));
  for (const [name, files] of Object.entries({ web: ['tls.crt', 'tls.key'], api: ['tls.crt', 'tls.key', 'ca.crt'] })) {
    mkdirSync(join(dir, name));
    for (const f of files) writeFileSync(join(dir, name, f), 'x');
  }
  return dir;
}

function load(servers: string, credentialsDir?: string) {
  const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': GW + servers });
  return loadConfig([t.dir], { gateway: 'gw', ...(credentialsDir === undefined ? {} : { credentialsDir }) });
}

function issuesOf(servers: string, credentialsDir?: string): ConfigIssue[] {
  try {
    load(servers, credentialsDir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('gatewayListeners', () => {
  test('a listener per port; SIMPLE and MUTUAL servers with their files; httpsRedirect on the plaintext one', () => {
    const dir = credentials();
    const mesh = load(`  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["ns1/web.example.com", "*.web.example.com"]
    tls: {mode: SIMPLE, credentialName: web, minProtocolVersion: TLSV1_3}
  - port: {number: 443, name: https-api, protocol: HTTPS}
    hosts: [api.example.com]
    tls: {mode: MUTUAL, credentialName: api, subjectAltNames: [spiffe://cluster.local/ns/a/sa/b], cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256]}
`, dir).mesh;
    expect(mesh.gatewayListeners).toEqual([
      { port: 80, tls: false, servers: [{ name: 'default/gw/0', hosts: ['*'], tls: null, httpsRedirect: true }] },
      {
        port: 443,
        tls: true,
        servers: [
          {
            name: 'default/gw/1', hosts: ['web.example.com', '*.web.example.com'], httpsRedirect: false,
            tls: { mode: 'SIMPLE', credential: { name: 'web', certificateChain: join(dir, 'web/tls.crt'), privateKey: join(dir, 'web/tls.key'), caCertificates: null }, minProtocolVersion: 'TLSv1.3', maxProtocolVersion: 'TLSv1.3', cipherSuites: [], subjectAltNames: [] },
          },
          {
            name: 'default/gw/2', hosts: ['api.example.com'], httpsRedirect: false,
            tls: { mode: 'MUTUAL', credential: { name: 'api', certificateChain: join(dir, 'api/tls.crt'), privateKey: join(dir, 'api/tls.key'), caCertificates: join(dir, 'api/ca.crt') }, minProtocolVersion: 'TLSv1.2', maxProtocolVersion: 'TLSv1.3', cipherSuites: ['ECDHE-ECDSA-AES128-GCM-SHA256'], subjectAltNames: ['spiffe://cluster.local/ns/a/sa/b'] },
          },
        ],
      },
    ]);
  });

  test('a port with a GRPC-Web server is marked grpcWeb (Istio gives its chain the grpc_web filter); other ports are not', () => {
    const mesh = load(`  - port: {number: 8080, name: grpc-web, protocol: GRPC-Web}
    hosts: ["*"]
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`).mesh;
    expect(mesh.gatewayListeners!.map((l) => [l.port, l.grpcWeb === true])).toEqual([[80, false], [8080, true]]);
  });

  test('files named in the Gateway itself are taken as they are, when they exist', () => {
    const dir = credentials();
    const mesh = load(`  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, serverCertificate: ${join(dir, 'web/tls.crt')}, privateKey: ${join(dir, 'web/tls.key')}}
`).mesh;
    expect(mesh.gatewayListeners![0]!.servers[0]!.tls!.credential).toEqual({ name: null, certificateChain: join(dir, 'web/tls.crt'), privateKey: join(dir, 'web/tls.key'), caCertificates: null });
    const issues = issuesOf(`  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, serverCertificate: /nonexistent/a.crt, privateKey: /nonexistent/a.key}
`);
    expect(issues.map((i) => [i.line, i.path, i.reason])).toEqual([[8, 'spec.servers[0].tls.serverCertificate', '/nonexistent/a.crt does not exist']]);
  });

  test('credentialName without --credentials-dir, a missing secret, a MUTUAL without CA: each located', () => {
    const dir = credentials();
    expect(issuesOf(`  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: web}
`).map((i) => [i.line, i.path, i.reason])).toEqual([[8, 'spec.servers[0].tls.credentialName', expect.stringContaining('needs --credentials-dir <dir>')]]);
    const issues = issuesOf(`  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: missing}
  - port: {number: 443, name: https-b, protocol: HTTPS}
    hosts: [b.example.com]
    tls: {mode: MUTUAL, credentialName: web}
`, dir);
    expect(issues.map((i) => [i.line, i.path])).toEqual([[8, 'spec.servers[0].tls.credentialName'], [11, 'spec.servers[1].tls.credentialName']]);
    expect(issues[0]!.reason).toContain(join(dir, 'missing/tls.crt'));
    expect(issues[1]!.reason).toContain('the client CA is needed');
  });

  test('bad versions, unknown ciphers, SANs on SIMPLE, HTTPS without tls, mixed port: each located', () => {
    const dir = credentials();
    const issues = issuesOf(`  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: web, minProtocolVersion: TLSV1_3, maxProtocolVersion: TLSV1_2}
  - port: {number: 444, name: https-b, protocol: HTTPS}
    hosts: [b.example.com]
    tls: {mode: SIMPLE, credentialName: web, cipherSuites: [NOT-A-CIPHER], subjectAltNames: [x]}
  - port: {number: 445, name: https-c, protocol: HTTPS}
    hosts: [c.example.com]
  - port: {number: 446, name: https-d, protocol: HTTPS}
    hosts: [d.example.com]
    tls: {mode: SIMPLE, credentialName: web}
  - port: {number: 446, name: http-d, protocol: HTTP}
    hosts: [e.example.com]
`, dir);
    expect(issues.map((i) => [i.code, i.path, i.reason])).toEqual([
      ['invalid_value', 'spec.servers[0].tls.maxProtocolVersion', 'maxProtocolVersion TLSV1_2 is below minProtocolVersion TLSV1_3'],
      ['invalid_value', 'spec.servers[1].tls.cipherSuites[0]', expect.stringContaining('"NOT-A-CIPHER" is not a cipher suite OpenSSL knows')],
      ['invalid_value', 'spec.servers[1].tls.subjectAltNames', expect.stringContaining('mode SIMPLE does not ask for')],
      ['missing_field', 'spec.servers[2].tls', expect.stringContaining('an HTTPS server on port 445 needs tls')],
      ['invalid_value', 'spec.servers[4].port.number', 'port 446 has both TLS and plaintext servers; a port serves one or the other'],
    ]);
  });

  test('mesh mode carries no gateway listeners, and leaves credentials to the gateway that serves them', () => {
    const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': `${GW}  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: ["*"]\n    tls: {mode: SIMPLE, credentialName: web}\n` });
    expect(loadConfig([t.dir]).mesh.gatewayListeners).toBeUndefined();
  });
});
