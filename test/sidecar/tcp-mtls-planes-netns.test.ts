// TCP inside mesh mTLS between the two data planes, on real packets: two pods (network
// namespaces joined by a veth pair), each with a Debian redis-server on 6379 behind TPROXY capture
// (docker/iptables-init.sh), under a mesh-wide PeerAuthentication STRICT, one control plane with
// its CA (`control-plane --ca-dir`) serving both:
//   - pod A: `wasmesh sidecar --xds` with a workload certificate from the CA (--token-file);
//   - pod B: stock Envoy from `wasmesh envoy-bootstrap --proxy-type sidecar --interception-mode
//     TPROXY --filters --sds`, its certificate from `wasmesh agent` (SDS), run as Istio's proxy
//     runs (uid 1337, NET_ADMIN).
// Each pod's redis-cli dials the other service's VIP (a ServiceEntry address nobody owns, TCP
// port, WorkloadEntry with Istio's tlsMode label: auto mTLS). A → B: wasmesh's byte proxy
// originates Istio's TCP mTLS (ALPN `istio-peer-exchange, istio`); Envoy's inbound takes it on its
// peer-exchange chain (host/envoy/tcp-peer-exchange.ts), agreeing on `istio-peer-exchange`, and
// its wasmesh_tcp_stats filter runs Istio's TCP metadata exchange (filters/stats/tcp-exchange.ts).
// B → A: Envoy's tcp_proxy cluster offers `istio-peer-exchange, istio` too; the wasmesh inbound
// takes it as TCP (host/sidecar/inbound-alpn.ts) with the exchange. Bytes both ways (SET then GET
// of a 4 KiB value, each landing in the other pod's Redis), and istio_tcp_* on both sides: the
// destination reporter says mutual_tls with the peer's SPIFFE ID, and every series names the
// peer's workload from the exchange (wasmesh never maps a certificate to a workload).
// Fails without namespaces, Envoy or redis under the REQUIRE flags (test/helpers).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsUnavailableReason, PodNetwork } from '../helpers/netns.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { tcpServersForTests } from '../helpers/tcp-servers-for-tests.js';
import { listenHelper } from '../helpers/listen-helper.js';
import { ensureBuilt } from '../helpers/wasmesh-process.js';
import { meshServiceEntryYaml, peerAuthenticationYaml, workloadEntryYaml, yamlDocs } from '../../host/config/istio-yaml-builders.js';
import { BIN, HTTP_GET, IPTABLES_SCRIPT, PROXY_UID } from '../helpers/netns-sidecar.js';
import { parseSamples, type Sample } from '../helpers/prometheus-samples.js';

// TEST-NET-3, apart from the other namespace suites.
const A = '203.0.113.2';
const B = '203.0.113.1';
/** Service addresses nobody owns: only the sidecars' routing reaches the pods. */
const VIP_A = '203.0.113.50';
const VIP_B = '203.0.113.51';
const REDIS = 6379;
const A_ID = 'spiffe://cluster.local/ns/default/sa/a';
/** envoy-bootstrap names no service account: the node's is `default`, and so is B's certificate. */
const B_ID = 'spiffe://cluster.local/ns/default/sa/default';

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the TCP-over-mTLS planes namespace test: ${reason}`);
const envoyBin = reason === null ? envoyForTests('tcp mtls planes netns') : null;
const servers = reason === null ? tcpServersForTests('tcp mtls planes netns') : null;

function service(name: string, vip: string, address: string, sa: string): string {
  return yamlDocs(
    meshServiceEntryYaml({ name: `redis-${name}`, namespace: 'default', host: `redis-${name}.default.svc.cluster.local`, addresses: [vip], port: { number: REDIS, name: 'tcp-redis', protocol: 'TCP' }, selector: { app: name } }),
    workloadEntryYaml({ name: `${name}-1`, namespace: 'default', address, serviceAccount: sa, labels: { app: name, 'security.istio.io/tlsMode': 'istio' } }),
  );
}

const MESH = yamlDocs(peerAuthenticationYaml('STRICT'), service('a', VIP_A, A, 'a'), service('b', VIP_B, B, 'default'));

describe.skipIf(reason !== null || envoyBin === null || servers === null)('TCP over mesh mTLS between a wasmesh sidecar pod and an Envoy sidecar pod (TPROXY, STRICT, one control plane)', () => {
  const net = new PodNetwork({ tag: 'wmt', podAddr: A, peerAddr: B });
  let dir = '';
  let log = '';
  const watched: ChildProcess[] = [];
  const nsA = (): string => net.pod;
  const nsB = (): string => net.peer;

  const spawn = (ns: string, argv: string[], prefix: string): ChildProcess => {
    const child = net.spawn(ns, argv);
    child.stdout!.on('data', (d) => { log += `${prefix}${d}`; });
    child.stderr!.on('data', (d) => { log += `${prefix}${d}`; });
    watched.push(child);
    return child;
  };
  const redis = (ns: string, host: string, ...args: string[]): string =>
    net.exec(ns, ['timeout', '20', servers!.redisCli, '-h', host, '-p', String(REDIS), ...args], { allowFail: true }).stdout.trim();
  const prometheus = (ns: string): Sample[] => {
    const got = JSON.parse(net.exec(ns, [process.execPath, HTTP_GET, '127.0.0.1', '15000', '/stats/prometheus']).stdout) as { body?: string };
    return parseSamples(got.body ?? '');
  };
  /**
   * The istio_tcp_* samples of `metric` with these labels (the rest unchecked), of connections that
   * were proxied (response_flags `-`: the first tries, while the other side was not ready yet, may
   * have failed with UF).
   */
  const tcpSeries = (ns: string, metric: string, labels: Record<string, string>): Sample[] =>
    prometheus(ns).filter((s) => s.name === metric && Object.entries({ ...labels, response_flags: '-' }).every(([k, v]) => s.labels[k] === v));
  async function until(what: string, ready: () => boolean, tries = 600): Promise<void> {
    for (let i = 0; i < tries; i++) {
      const gone = watched.find((p) => p.exitCode !== null);
      if (gone !== undefined) throw new Error(`${what}: a process exited early (${gone.spawnargs.slice(3, 9).join(' ')}):\n${log}`);
      if (ready()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what} not ready:\n${log}`);
  }

  beforeAll(async () => {
    await ensureBuilt();
    net.create();
    // Connects to the VIPs need a route before the capture's mangle rules mark them.
    net.exec(nsA(), ['ip', 'route', 'add', 'default', 'via', B]);
    net.exec(nsB(), ['ip', 'route', 'add', 'default', 'via', A]);
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-mtls-planes-'));
    chmodSync(dir, 0o755); // read by the proxies as uid 1337
    const meshDir = join(dir, 'mesh');
    mkdirSync(meshDir, { mode: 0o755 });
    writeFileSync(join(meshDir, 'mesh.yaml'), MESH, { mode: 0o644 });
    const caDir = join(dir, 'ca');

    for (const ns of [nsA(), nsB()]) {
      spawn(ns, [servers!.redisServer, '--port', String(REDIS), '--bind', '0.0.0.0', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], `[redis ${ns}] `);
    }
    // The control plane and its CA in pod A, on its address (only the app port is captured inbound).
    spawn(nsA(), [process.execPath, BIN, 'control-plane', '-f', meshDir, '--xds-listen', '0.0.0.0:15010', '--monitoring', '127.0.0.1:15014',
      '--ca-dir', caDir, '--secure-listen', '0.0.0.0:15012'], '[cp] ');
    await until('control plane', () => /xDS on /.test(log));
    const token = (sa: string): string => {
      const file = join(dir, `${sa}.token`);
      net.exec(nsA(), [process.execPath, BIN, 'token', '--namespace', 'default', '--service-account', sa, '--ca-dir', caDir, '-o', file]);
      chmodSync(file, 0o644);
      return file;
    };
    chmodSync(caDir, 0o755);
    chmodSync(join(caDir, 'root-cert.pem'), 0o644);
    const identity = (sa: string, ca: string): string[] => ['--token-file', token(sa), '--ca-root', join(caDir, 'root-cert.pem'), '--ca-address', `${ca}:15012`, '--namespace', 'default', '--service-account', sa];

    for (const ns of [nsA(), nsB()]) {
      net.exec(ns, ['bash', IPTABLES_SCRIPT, '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'TPROXY', '-i', '*', '-b', String(REDIS)]);
    }

    // Pod A: the wasmesh sidecar behind the socket-activation helper (transparent listeners), uid 1337.
    spawn(nsA(), ['timeout', '--foreground', '300', listenHelper(), '--transparent', '--listen', 'outbound=0.0.0.0:15001', '--listen', 'inbound=0.0.0.0:15006',
      '--user', String(PROXY_UID), '--', process.execPath, BIN, 'sidecar', '--xds', '127.0.0.1:15010', '--app-ports', String(REDIS), '--labels', 'app=a',
      ...identity('a', '127.0.0.1')], '[wasmesh A] ');

    // Pod B: the agent (SDS) and stock Envoy, both as uid 1337.
    const socketDir = join(dir, 'b-agent');
    mkdirSync(socketDir, { mode: 0o755 });
    chownSync(socketDir, PROXY_UID, PROXY_UID);
    spawn(nsB(), ['setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups', '--', process.execPath, BIN, 'agent', ...identity('default', A), '--socket-dir', socketDir], '[agent B] ');
    await until('agent B', () => /SDS on /.test(log));
    const bootstrap = net.exec(nsB(), [process.execPath, BIN, 'envoy-bootstrap', '--xds', `${A}:15010`, '--admin', '127.0.0.1:15000', '--proxy-type', 'sidecar',
      '--interception-mode', 'TPROXY', '--app-ports', String(REDIS), '--labels', 'app=b', '--namespace', 'default', '--filters',
      '--node-id', `sidecar~${B}~b-1.default~default.svc.cluster.local`, '--sds', join(socketDir, 'var/run/secrets/workload-spiffe-uds/socket')]).stdout;
    writeFileSync(join(dir, 'envoy.yaml'), bootstrap, { mode: 0o644 });
    spawn(nsB(), ['timeout', '--foreground', '300', 'setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups',
      '--inh-caps=+net_admin', '--ambient-caps=+net_admin', '--', envoyBin!, '-c', join(dir, 'envoy.yaml'), '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], '[envoy B] ');

    // Both directions served once certificates, views and secrets have all arrived.
    await until('A → B', () => redis(nsA(), VIP_B, 'PING') === 'PONG');
    await until('B → A', () => redis(nsB(), VIP_A, 'PING') === 'PONG');
  }, 300_000);

  afterAll(() => {
    net.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const value = (tag: string): string => `${tag}:${'x'.repeat(4096)}`;

  it('A (wasmesh) → B (Envoy): SET and GET reach B\'s Redis through both sidecars, without the metadata exchange (Envoy agrees on `istio`)', () => {
    expect(redis(nsA(), VIP_B, 'SET', 'from-a', value('a')), log).toBe('OK');
    expect(redis(nsA(), VIP_B, 'GET', 'from-a')).toBe(value('a'));
    // It landed in B's Redis, not A's (read in each pod directly, past no sidecar: loopback is not captured).
    expect(redis(nsB(), '127.0.0.1', 'GET', 'from-a')).toBe(value('a'));
    expect(redis(nsA(), '127.0.0.1', 'GET', 'from-a')).toBe('');
  });

  it('B (Envoy) → A (wasmesh): SET and GET reach A\'s Redis through both sidecars', () => {
    expect(redis(nsB(), VIP_A, 'SET', 'from-b', value('b')), log).toBe('OK');
    expect(redis(nsB(), VIP_A, 'GET', 'from-b')).toBe(value('b'));
    expect(redis(nsA(), '127.0.0.1', 'GET', 'from-b')).toBe(value('b'));
    expect(redis(nsB(), '127.0.0.1', 'GET', 'from-b')).toBe('');
  });

  it('istio_tcp_* on Envoy (B): the destination reporter says mutual_tls and names A\'s workload by its certificate; the source reporter names A as destination', async () => {
    // Closed connections are reported at their close: wait for them.
    await until('Envoy\'s destination series', () => tcpSeries(nsB(), 'istio_tcp_connections_closed_total', { reporter: 'destination', source_principal: A_ID }).length > 0, 100);
    const inbound = tcpSeries(nsB(), 'istio_tcp_received_bytes_total', { reporter: 'destination', source_principal: A_ID });
    expect(inbound, log).toHaveLength(1);
    expect(inbound[0]!.labels).toMatchObject({
      connection_security_policy: 'mutual_tls', source_app: 'a', source_workload_namespace: 'default',
      destination_app: 'b', destination_principal: B_ID, request_protocol: 'tcp',
    });
    expect(inbound[0]!.labels.source_workload).not.toBe('unknown');
    // The SET's value went A → B: at least its 4 KiB on the received side.
    expect(inbound[0]!.value).toBeGreaterThan(4096);
    await until('Envoy\'s source series', () => tcpSeries(nsB(), 'istio_tcp_connections_closed_total', { reporter: 'source', destination_principal: A_ID }).length > 0, 100);
    const outbound = tcpSeries(nsB(), 'istio_tcp_sent_bytes_total', { reporter: 'source', destination_principal: A_ID });
    expect(outbound, log).toHaveLength(1);
    expect(outbound[0]!.labels).toMatchObject({ destination_app: 'a', source_app: 'b', destination_service: 'redis-a.default.svc.cluster.local' });
    // The GET's answer came back A → B: the sent side (destination → source) has the value.
    expect(outbound[0]!.value).toBeGreaterThan(4096);
  });

  it('istio_tcp_* on wasmesh (A): the destination reporter says mutual_tls with B\'s SPIFFE ID and B\'s workload from its exchange; the source reporter names B too', async () => {
    await until('wasmesh\'s destination series', () => tcpSeries(nsA(), 'istio_tcp_connections_closed_total', { reporter: 'destination', source_principal: B_ID }).length > 0, 100);
    const inbound = tcpSeries(nsA(), 'istio_tcp_received_bytes_total', { reporter: 'destination', source_principal: B_ID });
    expect(inbound, JSON.stringify(inbound)).toHaveLength(1);
    expect(inbound[0]!.labels).toMatchObject({ connection_security_policy: 'mutual_tls', destination_app: 'a', source_app: 'b', source_workload_namespace: 'default', request_protocol: 'tcp' });
    expect(inbound[0]!.labels.source_workload).not.toBe('unknown');
    expect(inbound[0]!.value).toBeGreaterThan(4096);
    const outbound = tcpSeries(nsA(), 'istio_tcp_sent_bytes_total', { reporter: 'source', destination_service: 'redis-b.default.svc.cluster.local' });
    expect(outbound, JSON.stringify(outbound)).toHaveLength(1);
    expect(outbound[0]!.labels).toMatchObject({ source_app: 'a', destination_principal: B_ID, destination_app: 'b' });
    expect(outbound[0]!.value).toBeGreaterThan(4096);
  });

  it('wasmesh\'s outbound counted the exchange agreed (alpn_protocol_found), none refused', () => {
    const got = JSON.parse(net.exec(nsA(), [process.execPath, HTTP_GET, '127.0.0.1', '15000', '/stats?format=json']).stdout) as { body?: string };
    const stats = JSON.parse(got.body ?? '{}') as Record<string, number>;
    const keys = JSON.stringify(Object.entries(stats).filter(([k]) => k.includes('metadata_exchange')));
    expect(stats['cluster.outbound|6379||redis-b.default.svc.cluster.local.metadata_exchange.alpn_protocol_found'], keys).toBeGreaterThan(0);
    expect(stats['cluster.outbound|6379||redis-b.default.svc.cluster.local.metadata_exchange.alpn_protocol_not_found'] ?? 0, keys).toBe(0);
    const inbound = Object.entries(stats).filter(([k]) => k.endsWith('.sidecar_inbound.metadata_exchange.alpn_protocol_found')).reduce((n, [, v]) => n + v, 0);
    expect(inbound, keys).toBeGreaterThan(0);
    for (const why of ['initial_header_not_found', 'header_not_found', 'too_large', 'closed']) expect(Object.keys(stats).filter((k) => k.endsWith(`.metadata_exchange.${why}`) && stats[k]! > 0), why).toEqual([]);
  });
});
