// The sidecar with TPROXY interception on real packets (docs/original-destination.md): in a
// throwaway pod namespace, docker/iptables-init.sh -m TPROXY, and `wasmesh sidecar` started by
// the socket-activation helper (docker/wasmesh-listen.c, built here with gcc: a missing compiler
// fails the suite) with transparent listeners, dropped to uid 1337. The app (root in the pod)
// dials service VIPs and unknown addresses; the peer namespace runs the servers. Each accepted
// socket's local address is the original destination, and the sidecar routes by it:
//   - a REDIS port → TCP proxy to the service's endpoint;
//   - an unnamed port → sniffed: a client-first protocol as TCP at once, a server-first one after
//     meshConfig protocolDetectionTimeout (the client is not stalled beyond it), HTTP as HTTP;
//   - an HTTP port whose target port differs → HTTP routing to the target port;
//   - an unknown address → passthrough (ALLOW_ANY), or closed (REGISTRY_ONLY after a live reload);
//   - a TLS port, or TLS sniffed on an unnamed port → routed by SNI through the mesh's `tls:` rules,
//     the bytes passed through to a real HTTPS server (never terminated by the sidecar).
// The pod, the shared YAML and the sidecar come from test/helpers/netns-sidecar.ts.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { netnsUnavailableReason } from '../helpers/netns.js';
import {
  SidecarPod, delta, docs, meshYaml, serviceEntry, REDIS_SE, SECURE_B_SE, SECURE_BY_SNI_VS, H2C_GET, TCP_SERVERS, TCP_TALK, TLS_GET, TLS_WHOAMI, WHOAMI,
  POD, PEER, PLAIN_VIP, REDIS_VIP, SECURE_VIP, WEB_VIP, type Got, type Talk,
} from '../helpers/netns-sidecar.js';

const DETECT_MS = 400;

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the TPROXY namespace test: ${reason}`);

const SERVICES = docs(
  REDIS_SE,
  serviceEntry('plain', { addresses: [PLAIN_VIP], ports: `
  - {number: 7000, name: greeter}
  - {number: 7001, name: talker, targetPort: 6379}` }),
  serviceEntry('web', { addresses: [WEB_VIP], ports: `
  - {number: 80, name: http-web, targetPort: 8080}
  - {number: 8000, name: site, targetPort: 8080}` }),
  serviceEntry('legacy', { addresses: [PEER], location: 'MESH_EXTERNAL', resolution: 'NONE', ports: '[{number: 8080, name: http}]' }),
  serviceEntry('secure', { addresses: [SECURE_VIP], ports: `
  - {number: 443, name: tls, targetPort: 8443}
  - {number: 7443, name: secure-other, targetPort: 8443}` }),
  SECURE_B_SE,
  serviceEntry('ext-one', { host: 'one.tls.example.internal', location: 'MESH_EXTERNAL', ports: '[{number: 4443, name: tls, targetPort: 8443}]' }),
  serviceEntry('ext-two', { host: 'two.tls.example.internal', location: 'MESH_EXTERNAL', ports: '[{number: 4443, name: tls, targetPort: 9443}]' }),
  SECURE_BY_SNI_VS,
);

describe.skipIf(reason !== null)('wasmesh sidecar with TPROXY interception: routing by original destination', () => {
  const pod = new SidecarPod('wmx');
  const { net } = pod;
  const talk = (host: string, port: number, text: string, wait = false): Talk => pod.talk(host, port, text, wait);
  const get = (ns: string, host: string, port: number, path: string, ...headers: string[]): Got => pod.get(host, port, path, headers, ns);
  const stats = (): Record<string, number> => pod.stats();
  const prometheus = (): string => pod.prometheus();
  /** Waits for the sidecar's access log (its stdout, flushed every 100 ms) to show a line matching `re`. */
  const logLine = async (re: RegExp): Promise<string> => {
    for (let i = 0; i < 50; i++) {
      const line = pod.log.split('\n').find((l) => re.test(l));
      if (line !== undefined) return line;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no access-log line matching ${re}:\n${pod.log}`);
  };

  beforeAll(async () => {
    await pod.create({ 'services.yaml': SERVICES, 'mesh.yaml': meshYaml('ALLOW_ANY', DETECT_MS) });
    await net.start(net.peer, [process.execPath, TCP_SERVERS, `echo@${PEER}:6379`, `first@${PEER}:7000`, `echo@${PEER}:9000`]);
    await net.start(net.peer, [process.execPath, WHOAMI, `web@${PEER}:8080`]);
    const tls = pod.tlsCert();
    await net.start(net.peer, [process.execPath, TLS_WHOAMI, tls.cert, tls.key, `tls-a@${PEER}:8443`, `tls-b@${PEER}:9443`]);
    await net.start(net.pod, [process.execPath, WHOAMI, 'app@0.0.0.0:5005']);
    // The app's second port speaks TCP (a Redis-like echo): reached inbound by original destination.
    await net.start(net.pod, [process.execPath, TCP_SERVERS, 'echo@127.0.0.1:5007']);
    pod.capture('TPROXY', '5005,5007');
    const sidecar = pod.wasmesh('5005,5007', 'files');
    await pod.until('sidecar', () => get(net.peer, POD, 15021, '/healthz/ready').status === 200, [sidecar], 80);
  }, 300_000);

  afterAll(() => pod.destroy());

  it('proxies a REDIS port as TCP to the service endpoint (the VIP is nobody\'s), with tcp and istio_tcp stats and an access-log line', async () => {
    const before = stats();
    const got = talk(REDIS_VIP, 6379, 'PING');
    expect(got, pod.log).toMatchObject({ received: 'echo:6379:PING', ended: 'replied' });
    const after = stats();
    expect(delta(before, after, 'sidecar_outbound.original_dst_tcp')).toBe(1);
    expect(delta(before, after, 'tcp.outbound|6379||redis.example.internal.downstream_cx_total')).toBe(1);
    expect(delta(before, after, 'cluster.outbound|6379||redis.example.internal.upstream_cx_total')).toBe(1);
    expect(prometheus()).toMatch(/istio_tcp_connections_opened_total\{reporter="source",[^}]*destination_service="redis\.example\.internal"[^}]*\} 1/);
    // Envoy's default line for a tcp_proxy connection, and Istio's sidecar cluster field.
    await logLine(/^\[[\d\-T:.]+Z\] "- - -" 0 - 4 14 \d+ - "-" "-" "-" "-" "[\d.]+:6379" outbound\|6379\|\|redis\.example\.internal$/);
  });

  it('sniffs an unnamed port: a client that speaks first is TCP at once (no detection wait)', () => {
    const before = stats();
    const got = talk(PLAIN_VIP, 7001, 'hello');
    expect(got, pod.log).toMatchObject({ received: 'echo:6379:hello', ended: 'replied' });
    expect(got.ms).toBeLessThan(DETECT_MS);
    const after = stats();
    expect(delta(before, after, 'sidecar_outbound.sniffed_tcp')).toBe(1);
    expect(delta(before, after, 'sidecar_outbound.sniff_timeout')).toBe(0);
  });

  it('sniffs an unnamed port: a server-first protocol is not stalled beyond protocolDetectionTimeout', () => {
    const before = stats();
    const got = talk(PLAIN_VIP, 7000, 'after-greeting', true);
    expect(got, pod.log).toMatchObject({ ended: 'replied' });
    expect(got.received).toBe('hello from 7000\r\necho:7000:after-greeting');
    // The greeting waits for the detection timeout (the proxy connects upstream only then), and no longer.
    expect(got.greetedMs).toBeGreaterThanOrEqual(DETECT_MS - 20);
    expect(got.greetedMs).toBeLessThan(DETECT_MS + 1500);
    const after = stats();
    expect(delta(before, after, 'sidecar_outbound.sniff_timeout')).toBe(1);
  });

  it('routes an HTTP port to its target port, and sniffs HTTP on an unnamed port', () => {
    const before = stats();
    const named = get(net.pod, WEB_VIP, 80, '/a', 'host:web.example.internal');
    expect(named.status, JSON.stringify(named) + pod.log).toBe(200);
    expect(JSON.parse(named.body!)).toMatchObject({ who: 'web', port: 8080, path: '/a' });
    const sniffed = get(net.pod, WEB_VIP, 8000, '/b', 'host:web.example.internal:8000');
    expect(sniffed.status, JSON.stringify(sniffed) + pod.log).toBe(200);
    expect(JSON.parse(sniffed.body!)).toMatchObject({ who: 'web', port: 8080, path: '/b' });
    const after = stats();
    expect(delta(before, after, 'sidecar_outbound.original_dst_http')).toBe(1);
    expect(delta(before, after, 'sidecar_outbound.sniffed_http')).toBe(1);
    expect(delta(before, after, 'cluster.outbound|80||web.example.internal.upstream_rq_2xx')).toBe(1);
    expect(delta(before, after, 'cluster.outbound|8000||web.example.internal.upstream_rq_2xx')).toBe(1);
  });

  it('routes a Host without a port by the original port (Envoy\'s per-port route), not the bare name\'s port 80', () => {
    const before = stats();
    // web has ports 80 and 8000; the bare name alone would mean port 80.
    const got = get(net.pod, WEB_VIP, 8000, '/by-port', 'host:web.example.internal');
    expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
    expect(JSON.parse(got.body!)).toMatchObject({ who: 'web', port: 8080, path: '/by-port', host: 'web.example.internal' });
    const after = stats();
    expect(delta(before, after, 'cluster.outbound|8000||web.example.internal.upstream_rq_2xx')).toBe(1);
    expect(delta(before, after, 'cluster.outbound|80||web.example.internal.upstream_rq_2xx')).toBe(0);
  });

  it('does the same for HTTP/2 (h2c sniffed on an unnamed port): the original port picks the route', () => {
    const before = stats();
    const got = JSON.parse(net.exec(net.pod, [process.execPath, H2C_GET, WEB_VIP, '8000', '/h2', 'web.example.internal']).stdout) as Got;
    expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
    expect(JSON.parse(got.body!)).toMatchObject({ who: 'web', port: 8080, path: '/h2' });
    const after = stats();
    expect(delta(before, after, 'sidecar_outbound.sniffed_http')).toBe(1);
    expect(delta(before, after, 'cluster.outbound|8000||web.example.internal.upstream_rq_2xx')).toBe(1);
  });

  it('sends HTTP for a resolution NONE service to the original destination, not to its Host name', () => {
    const before = stats();
    // legacy.example.internal resolves nowhere: only the connection's original destination says where to go.
    const got = get(net.pod, PEER, 8080, '/legacy', 'host:legacy.example.internal:8080');
    expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
    expect(JSON.parse(got.body!)).toMatchObject({ who: 'web', port: 8080, path: '/legacy' });
    const after = stats();
    expect(delta(before, after, 'cluster.outbound|8080||legacy.example.internal.upstream_rq_2xx')).toBe(1);
  });

  it('passes a connection to an address the mesh does not know through to it (ALLOW_ANY)', () => {
    const before = stats();
    const got = talk(PEER, 9000, 'anyone');
    expect(got, pod.log).toMatchObject({ received: 'echo:9000:anyone', ended: 'replied' });
    const after = stats();
    expect(delta(before, after, 'sidecar_outbound.original_dst_passthrough')).toBe(1);
    expect(delta(before, after, 'tcp.PassthroughCluster.downstream_cx_total')).toBe(1);
  });

  it('still hands inbound requests to the app (the inbound listener adopted from the helper)', () => {
    const got = get(net.peer, POD, 5005, '/in');
    expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
    expect(JSON.parse(got.body!)).toMatchObject({ who: 'app', path: '/in' });
  });

  it('proxies an inbound connection to a TCP app port as TCP to the app (the original destination port picks it), as the destination reporter, logged', async () => {
    const before = stats();
    const got: Talk = JSON.parse(net.exec(net.peer, [process.execPath, TCP_TALK, POD, '5007', 'send', 'inbound-bytes']).stdout);
    expect(got, pod.log).toMatchObject({ received: 'echo:5007:inbound-bytes', ended: 'replied' });
    const after = stats();
    expect(delta(before, after, 'http.inbound_0.0.0.0_15006.sidecar_inbound.sniffed_tcp')).toBe(1);
    expect(delta(before, after, 'tcp.inbound|5007||.downstream_cx_total')).toBe(1);
    expect(prometheus()).toMatch(/istio_tcp_received_bytes_total\{reporter="destination",[^}]*request_protocol="tcp",response_flags="-",connection_security_policy="none"\} 13/);
    await logLine(/^\[[\d\-T:.]+Z\] "- - -" 0 - 13 23 \d+ - "-" "-" "-" "-" "[\d.]+:5007" inbound\|5007\|\|$/);
  });

  it('routes TLS by SNI through the mesh tls: rules (a tls port), the bytes passed through to the HTTPS server', () => {
    const tlsGet = (host: string, port: number, sni: string, path: string): Got =>
      JSON.parse(net.exec(net.pod, [process.execPath, TLS_GET, host, String(port), sni, path]).stdout);
    const before = stats();
    const own = tlsGet(SECURE_VIP, 443, 'secure.example.internal', '/own');
    expect(own.status, JSON.stringify(own) + pod.log).toBe(200);
    expect(JSON.parse(own.body!)).toEqual({ who: 'tls-a', sni: 'secure.example.internal', path: '/own' });
    const v2 = tlsGet(SECURE_VIP, 443, 'v2.secure.example.internal', '/v2');
    expect(v2.status, JSON.stringify(v2) + pod.log).toBe(200);
    expect(JSON.parse(v2.body!)).toEqual({ who: 'tls-b', sni: 'v2.secure.example.internal', path: '/v2' });
    const after = stats();
    expect(delta(before, after, 'sidecar_outbound.original_dst_tls')).toBe(2);
    expect(delta(before, after, 'tcp.outbound|443||secure.example.internal.downstream_cx_total')).toBe(1);
    expect(delta(before, after, 'tcp.outbound|443||secure-b.example.internal.downstream_cx_total')).toBe(1);
    expect(delta(before, after, 'tls_inspector.sni_found')).toBe(2);
  });

  it('sniffs TLS on an unnamed port and routes it by SNI (the rule\'s port 443 does not hold on 7443: the service\'s own cluster)', () => {
    const before = stats();
    const got = JSON.parse(net.exec(net.pod, [process.execPath, TLS_GET, SECURE_VIP, '7443', 'v2.secure.example.internal', '/sniffed']).stdout) as Got;
    expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
    expect(JSON.parse(got.body!)).toEqual({ who: 'tls-a', sni: 'v2.secure.example.internal', path: '/sniffed' });
    const after = stats();
    expect(delta(before, after, 'sidecar_outbound.sniffed_tls')).toBe(1);
    expect(delta(before, after, 'tcp.outbound|7443||secure.example.internal.downstream_cx_total')).toBe(1);
  });

  it('tells services without addresses that share a TLS port apart by SNI (Istio\'s 0.0.0.0_<port> chains)', () => {
    const before = stats();
    // Any address on port 4443 is one of the two services; the SNI says which.
    const one = JSON.parse(net.exec(net.pod, [process.execPath, TLS_GET, '203.0.113.77', '4443', 'one.tls.example.internal', '/one']).stdout) as Got;
    const two = JSON.parse(net.exec(net.pod, [process.execPath, TLS_GET, '203.0.113.77', '4443', 'two.tls.example.internal', '/two']).stdout) as Got;
    expect(one.status, JSON.stringify(one) + pod.log).toBe(200);
    expect(two.status, JSON.stringify(two) + pod.log).toBe(200);
    expect(JSON.parse(one.body!)).toMatchObject({ who: 'tls-a', path: '/one' });
    expect(JSON.parse(two.body!)).toMatchObject({ who: 'tls-b', path: '/two' });
    const after = stats();
    expect(delta(before, after, 'tcp.outbound|4443||one.tls.example.internal.downstream_cx_total')).toBe(1);
    expect(delta(before, after, 'tcp.outbound|4443||two.tls.example.internal.downstream_cx_total')).toBe(1);
  });

  it('refuses the unknown address after a live switch to REGISTRY_ONLY (BlackHoleCluster, UH)', async () => {
    pod.write('mesh.yaml', meshYaml('REGISTRY_ONLY', DETECT_MS));
    let got: Talk | null = null;
    for (let i = 0; i < 50; i++) {
      got = talk(PEER, 9000, 'anyone');
      if (got.received === '') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(got, pod.log).toMatchObject({ received: '' });
    expect(got!.ended).toMatch(/closed|error:ECONNRESET/);
    const s = stats();
    expect(s['sidecar_outbound.original_dst_blackhole']).toBeGreaterThanOrEqual(1);
    expect(s['tcp.BlackHoleCluster.downstream_cx_total']).toBeGreaterThanOrEqual(1);
    // A known service is still reached.
    expect(talk(REDIS_VIP, 6379, 'PING')).toMatchObject({ received: 'echo:6379:PING' });
  });

  it('enforces AuthorizationPolicy on inbound TCP to an app port (RBAC network filter): a DENY of port 5007 from the peer closes it, HTTP still served', async () => {
    pod.write('authz.yaml', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-tcp-5007, namespace: default}
spec:
  action: DENY
  rules: [{from: [{source: {ipBlocks: ["${PEER}/32"]}}], to: [{operation: {ports: ["5007"]}}]}]
`);
    let got: Talk | null = null;
    for (let i = 0; i < 50; i++) {
      got = JSON.parse(net.exec(net.peer, [process.execPath, TCP_TALK, POD, '5007', 'send', 'x']).stdout) as Talk;
      if (got.received === '') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(got, pod.log).toMatchObject({ received: '' });
    expect(stats()['tcp.rbac.denied']).toBeGreaterThanOrEqual(1);
    expect(get(net.peer, POD, 5005, '/still').status).toBe(200);
  });
});
