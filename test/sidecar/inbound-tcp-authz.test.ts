// A sidecar's inbound TCP under AuthorizationPolicy and PeerAuthentication, over real loopback
// sockets and certificates from a real mesh CA: InboundTcpTransport (host/sidecar/
// inbound-tcp-transport.ts) terminates the mesh mTLS as the mode says and hands the plaintext
// with the peer's identity to the byte proxy (TcpProxyServer with `authorization`), whose RBAC
// network filter (host/listener/tcp/rbac-network-filter.ts) decides each connection before the
// upstream connect — the path InboundCapture gives an undeclared port's connection.
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { TcpProxyServer } from '../../host/server/tcp-proxy-server.js';
import { Stats } from '../../host/telemetry/stats.js';
import { inboundMesh } from '../../host/sidecar/inbound-mesh.js';
import { inboundPassthroughTarget, withInboundPassthrough } from '../../host/sidecar/inbound-passthrough.js';
import { InboundTcpTransport } from '../../host/sidecar/inbound-tcp-transport.js';
import { inboundTransportConfig } from '../../host/server/inbound-transport.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import type { AccessLogFiles } from '../../host/telemetry/access-log-files.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';
import type { EffectiveMtlsMode } from '../../host/model/inbound-mtls.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { tcpEchoServer } from '../helpers/tcp-echo.js';
import { ex, pre, f, rule, policy, cidr } from '../helpers/authz-builders.js';

let ca: TestMeshCa;
let foreign: TestMeshCa;
let client: WorkloadCertificate;
let stranger: WorkloadCertificate;
let impostor: WorkloadCertificate;
beforeAll(async () => {
  ca = await testMeshCa();
  foreign = await testMeshCa();
  client = await workloadCertificate(ca, 'shop', 'client');
  stranger = await workloadCertificate(ca, 'other', 'stranger');
  // The same identity, issued by a CA the workload does not trust.
  impostor = await workloadCertificate(foreign, 'shop', 'client');
});

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

interface Pod {
  tcp: TcpProxyServer;
  /** ssl.* of the inbound listener's scope. */
  listener: Stats;
  port: number;
  /** Connections the app accepted. */
  accepted: () => number;
  logs: string[];
  warnings: string[];
  stat(name: string): number;
}

/** An app echoing `app:<bytes>`, the byte proxy with `policies`, and a front door with mode `mode`. */
async function pod(mode: EffectiveMtlsMode, policies: AuthzPolicy[]): Promise<Pod> {
  const app = await tcpEchoServer('app');
  open.push({ close: () => new Promise((r) => { app.close(r); }) });
  const appPort = app.port;

  const logs: string[] = [];
  const warnings: string[] = [];
  const files = { writer: () => (line: string) => logs.push(line), flush: () => {} } as unknown as AccessLogFiles;
  const tcp = new TcpProxyServer({ host: '127.0.0.1', port: 15006, gatewayPort: 15006, adopt: true, authorization: true, seed: 1, limits: { drainTimeoutMs: 100 }, accessLogFiles: files, operationalLog: (_l, m) => warnings.push(m), istioMetrics: 'off' });
  const mesh: MeshConfig = {
    ...withInboundPassthrough(inboundMesh([5005])),
    authorization: policies,
    accessLogs: [{ provider: 'envoy', path: 'mem', encoding: 'TEXT', format: '%RESPONSE_FLAGS% %CONNECTION_TERMINATION_DETAILS% %UPSTREAM_CLUSTER%' }],
  };
  tcp.apply(mesh, 1);
  open.push(tcp);

  const listener = new Stats();
  const cell = new WorkloadCertificateCell();
  cell.set(await workloadCertificate(ca, 'shop', 'cart'));
  const transport = new InboundTcpTransport({ stats: listener.downstream, workloadCertificates: cell, log: (_l, m) => warnings.push(m) });
  transport.set(mode === 'DISABLE' ? { kind: 'raw' } : inboundTransportConfig(mode), 200);
  open.push(transport);
  const front = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s: Socket) =>
    transport.accept(s, (plain, security) => tcp.handle(plain, { ...inboundPassthroughTarget('127.0.0.1', appPort), security })));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  open.push({ close: () => new Promise((r) => { front.close(r); }) });
  const port = (front.address() as { port: number }).port;
  return {
    tcp, listener, port, accepted: () => app.accepted, logs, warnings,
    stat: (name) => Object.fromEntries([...tcp.stats.records(), ...listener.records()].map((r) => [r.name, r.value]))[name] ?? 0,
  };
}

/** Sends `text` (plaintext, or over mTLS with `cert`), half-closes, and reads until the close. */
function talk(port: number, text: string, cert: WorkloadCertificate | null): Promise<string> {
  return new Promise((resolve) => {
    const s = cert === null
      ? netConnect({ host: '127.0.0.1', port, allowHalfOpen: true })
      : tlsConnect({ host: '127.0.0.1', port, ca: ca.rootsPem, cert: cert.certChainPem, key: cert.keyPem, checkServerIdentity: () => undefined, allowHalfOpen: true });
    let got = '';
    s.once(cert === null ? 'connect' : 'secureConnect', () => s.end(text));
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => s.end());
    s.on('error', () => {});
    s.on('close', () => resolve(got));
    setTimeout(() => s.destroy(), 5000).unref();
  });
}

const onlyClient = policy('shop/only-client', 'ALLOW', [rule({ from: [[f('source.principal', [ex('cluster.local/ns/shop/sa/client')])]] })]);

describe('STRICT: mesh mTLS terminated, then the RBAC network filter', () => {
  test('ALLOW by principal: the client\'s certificate passes, plaintext to the app; another principal is denied before any upstream connect', async () => {
    const p = await pod('STRICT', [onlyClient]);
    expect(await talk(p.port, 'hello', client)).toBe('app:hello');
    expect(p.stat('tcp.rbac.allowed')).toBe(1);
    expect(p.stat('ssl.handshake')).toBe(1);
    expect(await talk(p.port, 'hello', stranger)).toBe('');
    expect(p.stat('tcp.rbac.denied')).toBe(1);
    expect(p.accepted()).toBe(1);
    expect(p.stat('cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(1);
    // Envoy's termination details in the access log; the allowed connection has none.
    expect(p.logs).toEqual(['- - InboundPassthroughCluster', '- rbac_access_denied_matched_policy[none] -']);
  });

  test('plaintext is refused (a failed handshake, ssl.connection_error), the app never reached', async () => {
    const p = await pod('STRICT', []);
    expect(await talk(p.port, 'GET / HTTP/1.1\r\n\r\n', null)).toBe('');
    expect(p.stat('ssl.connection_error')).toBe(1);
    expect(p.accepted()).toBe(0);
  });

  test('a certificate from a CA the mesh does not trust is refused (ssl.fail_verify_error)', async () => {
    const p = await pod('STRICT', []);
    expect(await talk(p.port, 'hi', impostor)).toBe('');
    expect(p.stat('ssl.fail_verify_error')).toBe(1);
    expect(p.accepted()).toBe(0);
  });
});

describe('PERMISSIVE: TLS or plaintext by the first byte', () => {
  test('mTLS carries the principal to the filter; plaintext has none and an ALLOW by principal denies it', async () => {
    const p = await pod('PERMISSIVE', [onlyClient]);
    expect(await talk(p.port, 'tls', client)).toBe('app:tls');
    expect(await talk(p.port, 'plain', null)).toBe('');
    expect([p.stat('tcp.rbac.allowed'), p.stat('tcp.rbac.denied')]).toEqual([1, 1]);
  });

  test('plaintext is passed when no policy reads the principal', async () => {
    const p = await pod('PERMISSIVE', [policy('shop/local', 'ALLOW', [rule({ from: [[f('source.ip', [cidr('127.0.0.0', 8)])]] })])]);
    expect(await talk(p.port, 'plain', null)).toBe('app:plain');
    expect(p.stat('tcp.rbac.allowed')).toBe(1);
  });
});

describe('AuthorizationPolicy on TCP (DISABLE: plaintext)', () => {
  test('DENY by ipBlocks: the loopback client is denied, the details name the policy and rule', async () => {
    const p = await pod('DISABLE', [policy('shop/no-loopback', 'DENY', [rule({ from: [[f('source.ip', [cidr('127.0.0.0', 8)])]] })])]);
    expect(await talk(p.port, 'x', null)).toBe('');
    expect(p.stat('tcp.rbac.denied')).toBe(1);
    expect(p.stat('tcp.rbac.allowed')).toBe(0);
    expect(p.accepted()).toBe(0);
    expect(p.logs).toEqual(['- rbac_access_denied_matched_policy[ns[shop]-policy[no-loopback]-rule[0]] -']);
  });

  test('ALLOW with only HTTP-only rules (methods, paths, headers) denies every TCP connection', async () => {
    const p = await pod('DISABLE', [policy('shop/http-only', 'ALLOW', [
      rule({ to: [[f('request.method', [ex('GET')])]] }),
      rule({ to: [[f('request.path', [pre('/')])]], from: [[f('source.ip', [cidr('127.0.0.0', 8)])]] }),
    ])]);
    expect(await talk(p.port, 'x', null)).toBe('');
    expect(await talk(p.port, 'y', null)).toBe('');
    expect(p.stat('tcp.rbac.denied')).toBe(2);
    expect(p.accepted()).toBe(0);
  });

  test('DENY with HTTP fields: dropped on TCP, the rest of the rule denies (fail closed)', async () => {
    const p = await pod('DISABLE', [policy('shop/no-post', 'DENY', [rule({ to: [[f('request.method', [ex('POST')]), f('request.path', [ex('/admin')])]] })])]);
    expect(await talk(p.port, 'x', null)).toBe('');
    expect(p.stat('tcp.rbac.denied')).toBe(1);
  });

  test('CUSTOM: no TCP ext_authz, so a connection it matches is denied (warned once)', async () => {
    const p = await pod('DISABLE', [policy('shop/ext', 'CUSTOM', [rule({ to: [[f('request.path', [ex('/x')])]] })], { provider: 'opa' })]);
    expect(await talk(p.port, 'x', null)).toBe('');
    expect(p.stat('tcp.rbac.denied')).toBe(1);
    expect(p.warnings.filter((w) => w.includes('CUSTOM AuthorizationPolicy shop/ext'))).toHaveLength(1);
  });

  test('AUDIT and dry-run only count: the connection is served', async () => {
    const p = await pod('DISABLE', [
      policy('shop/audit', 'AUDIT', [rule({})]),
      policy('shop/dry', 'DENY', [rule({})], { dryRun: true }),
    ]);
    expect(await talk(p.port, 'x', null)).toBe('app:x');
    expect([p.stat('tcp.rbac.logged'), p.stat('tcp.rbac.shadow_denied'), p.stat('tcp.rbac.allowed'), p.stat('tcp.rbac.denied')]).toEqual([1, 1, 0, 0]);
  });
});
