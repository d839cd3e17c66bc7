// The sidecar's outbound TCP and TLS on both data planes, on real packets: in a throwaway pod
// namespace with TPROXY capture (docker/iptables-init.sh -m TPROXY), `wasmesh control-plane` serves
// either a `wasmesh sidecar --xds` (socket-activated transparent listeners, as
// sidecar-tproxy-netns.test.ts) or stock Envoy from `wasmesh envoy-bootstrap --proxy-type sidecar
// --interception-mode TPROXY` (run as uid 1337 with CAP_NET_ADMIN, as Istio's proxy runs), and
// Envoy again behind REDIRECT capture (-m REDIRECT, no capability: SO_ORIGINAL_DST): Istio's
// virtualOutbound with use_original_dst and a listener per service address
// (host/envoy/sidecar-outbound-listeners.ts). The same cases on each plane:
//   - a REDIS service VIP whose VirtualService `tcp:` route splits 50/50 between two services;
//   - a TLS service VIP whose `tls:` route sends one SNI to another service (passed through);
//   - an HTTP port of a VIP routed by Host to its target port; an unnamed port sniffed (HTTP to
//     the HTTP routes, a client-first protocol as TCP);
//   - an address the mesh does not know: passed through under ALLOW_ANY (PassthroughCluster),
//     closed under REGISTRY_ONLY (BlackHoleCluster) after a live edit — never failing open.
//   - Istio's per-port HTTP route tables: a Host of a port-80 service sent to another service's
//     port 8080 does not take the port-80 service's route;
//   - ServiceEntry `addresses` that are CIDRs: a TCP and an HTTP service reached at an address in
//     their range (Envoy: 0.0.0.0_<port> chains by destination prefix; wasmesh: its range index).
// The same cases on Envoy with the wasmesh proxy-wasm filters (`envoy-bootstrap --filters`): the
// same layout, HTTP routed by the filter (one table for every port, so the per-port case differs).
// The stats named are the same on both planes (tcp_proxy stat_prefix = the cluster). The pod, the
// YAML and the proxies come from test/helpers/netns-sidecar.ts.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { netnsUnavailableReason } from '../helpers/netns.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import {
  SidecarPod, delta, docs, meshYaml, serviceEntry, REDIS_SE, SECURE_B_SE, SECURE_BY_SNI_VS, TCP_SERVERS, TLS_WHOAMI, WHOAMI,
  PEER, PLAIN_VIP, REDIS_B_VIP, REDIS_VIP, SECURE_VIP, WEB_VIP, type Plane, type Talk,
} from '../helpers/netns-sidecar.js';

const API_VIP = '198.51.100.56';
/** ServiceEntry address ranges inside the pod's /24 that nobody owns: a TCP one and an HTTP one. */
const TCP_RANGE = '198.51.100.96/28';
const TCP_RANGE_ADDR = '198.51.100.100';
const HTTP_RANGE = '198.51.100.112/28';
const HTTP_RANGE_ADDR = '198.51.100.113';
const SPLIT_CONNECTIONS = 24;
/** meshConfig protocolDetectionTimeout: how long a sniffed port may wait for a decision. */
const DETECT_MS = 300;

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the outbound planes namespace test: ${reason}`);
const envoyBin = reason === null ? envoyForTests('sidecar outbound planes') : null;

const SERVICES = docs(
  REDIS_SE,
  serviceEntry('redis-b', { addresses: [REDIS_B_VIP], ports: '[{number: 6379, name: tcp-redis, targetPort: 6380}]' }),
  `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: redis-split, namespace: default}
spec:
  hosts: [redis.example.internal]
  tcp:
  - match: [{port: 6379}]
    route:
    - {destination: {host: redis.example.internal, port: {number: 6379}}, weight: 50}
    - {destination: {host: redis-b.example.internal, port: {number: 6379}}, weight: 50}`,
  serviceEntry('secure', { addresses: [SECURE_VIP], ports: '[{number: 443, name: tls, targetPort: 8443}]' }),
  SECURE_B_SE,
  SECURE_BY_SNI_VS,
  serviceEntry('web', { addresses: [WEB_VIP], ports: '[{number: 80, name: http-web, targetPort: 8080}]' }),
  serviceEntry('plain', { addresses: [PLAIN_VIP], ports: '[{number: 7001, name: talker, targetPort: 6379}, {number: 8000, name: site, targetPort: 8080}]' }),
  serviceEntry('api', { addresses: [API_VIP], ports: '[{number: 8080, name: http-api, targetPort: 8081}]' }),
  serviceEntry('ranged', { addresses: [TCP_RANGE], ports: '[{number: 7100, name: tcp-ranged, targetPort: 6379}]' }),
  serviceEntry('ranged-web', { addresses: [HTTP_RANGE], ports: '[{number: 7200, name: http-ranged, targetPort: 8080}]' }),
);

const only = process.env.WASMESH_PLANE;
for (const plane of (['wasmesh', 'envoy', 'envoy-redirect', 'envoy-filters'] as const satisfies readonly Plane[]).filter((p) => only === undefined || p === only)) {
  const skip = reason !== null || (plane !== 'wasmesh' && envoyBin === null);
  const mode = plane === 'envoy-redirect' ? 'REDIRECT' : 'TPROXY';
  const name = plane === 'wasmesh' ? 'wasmesh' : plane === 'envoy-filters' ? 'envoy (with the wasmesh filters)' : 'envoy';
  describe.skipIf(skip)(`${name} sidecar, ${mode} capture, over xDS: outbound TCP and TLS by original destination`, () => {
    const pod = new SidecarPod(plane === 'wasmesh' ? 'wmv' : plane === 'envoy' ? 'wme' : plane === 'envoy-redirect' ? 'wmr' : 'wmw');
    const talk = (host: string, port: number, text: string): Talk => pod.talk(host, port, text);
    const get = (host: string, port: number, path: string, ...headers: string[]) => pod.get(host, port, path, headers);
    const tlsGet = (host: string, port: number, sni: string, path: string) => pod.tlsGet(host, port, sni, path);
    const stats = (): Record<string, number> => pod.stats();

    beforeAll(async () => {
      await pod.create({ 'services.yaml': SERVICES, 'mesh.yaml': meshYaml('ALLOW_ANY', DETECT_MS) });
      const { net } = pod;
      await net.start(net.peer, [process.execPath, TCP_SERVERS, `echo@${PEER}:6379`, `echo@${PEER}:6380`, `echo@${PEER}:9000`, `echo@${PEER}:80`]);
      const tls = pod.tlsCert();
      await net.start(net.peer, [process.execPath, TLS_WHOAMI, tls.cert, tls.key, `tls-a@${PEER}:8443`, `tls-b@${PEER}:9443`]);
      await net.start(net.peer, [process.execPath, WHOAMI, `web@${PEER}:8080`, `api@${PEER}:8081`]);
      await net.start(net.pod, [process.execPath, WHOAMI, 'app@0.0.0.0:5005']);
      // The control plane on the pod's loopback (never captured); the proxy runs as 1337, excluded.
      const cp = pod.controlPlane();
      // Outbound capture only: inbound is not what this suite is about.
      pod.capture(mode, '');
      const proxy = plane === 'wasmesh' ? pod.wasmesh('5005', 'xds', ['--labels', 'app=client']) : pod.envoy(envoyBin!, mode, plane === 'envoy-filters' ? ['--filters'] : []);
      await pod.until(`${plane} sidecar`, () => plane === 'wasmesh'
        ? get('127.0.0.1', 15021, '/healthz/ready').status === 200
        : (get('127.0.0.1', 15000, '/listeners').body ?? '').includes(`${SECURE_VIP}_443`), [proxy, cp]);
    }, 300_000);

    afterAll(() => pod.destroy());
    it('splits a REDIS VIP\'s connections between two services by the tcp: route\'s weights', () => {
      const before = stats();
      const got: Record<string, number> = {};
      for (let i = 0; i < SPLIT_CONNECTIONS; i++) {
        const t = talk(REDIS_VIP, 6379, 'PING');
        expect(t.ended, `${JSON.stringify(t)}\n${pod.log}`).toBe('replied');
        got[t.received] = (got[t.received] ?? 0) + 1;
      }
      // Both services answered (the VIP itself is nobody's: only the sidecar's routing reaches them).
      expect(Object.keys(got).sort(), pod.log).toEqual(['echo:6379:PING', 'echo:6380:PING']);
      const after = stats();
      const a = delta(before, after, 'cluster.outbound|6379||redis.example.internal.upstream_cx_total');
      const b = delta(before, after, 'cluster.outbound|6379||redis-b.example.internal.upstream_cx_total');
      expect(a + b).toBe(SPLIT_CONNECTIONS);
      expect(a).toBe(got['echo:6379:PING']);
      expect(delta(before, after, 'tcp.PassthroughCluster.downstream_cx_total')).toBe(0);
      // 24 connections, each a client process in the pod: ~1 s apiece when the machine is loaded.
    }, 90_000);

    it('routes TLS to a service VIP by SNI through its tls: rule, passed through to the HTTPS servers', () => {
      const before = stats();
      const own = tlsGet(SECURE_VIP, 443, 'secure.example.internal', '/own');
      expect(own.status, JSON.stringify(own) + pod.log).toBe(200);
      expect(JSON.parse(own.body!)).toEqual({ who: 'tls-a', sni: 'secure.example.internal', path: '/own' });
      const v2 = tlsGet(SECURE_VIP, 443, 'v2.secure.example.internal', '/v2');
      expect(v2.status, JSON.stringify(v2) + pod.log).toBe(200);
      expect(JSON.parse(v2.body!)).toEqual({ who: 'tls-b', sni: 'v2.secure.example.internal', path: '/v2' });
      const after = stats();
      expect(delta(before, after, 'tcp.outbound|443||secure.example.internal.downstream_cx_total')).toBe(1);
      expect(delta(before, after, 'tcp.outbound|443||secure-b.example.internal.downstream_cx_total')).toBe(1);
    });

    it('routes HTTP to a VIP\'s HTTP port by Host to the target port', () => {
      const before = stats();
      const got = get(WEB_VIP, 80, '/a', 'host:web.example.internal');
      expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
      expect(JSON.parse(got.body!)).toMatchObject({ who: 'web', port: 8080, path: '/a' });
      expect(delta(before, stats(), 'cluster.outbound|80||web.example.internal.upstream_rq_2xx')).toBe(1);
    });

    it('sniffs an unnamed port: HTTP to the HTTP routes, a client-first protocol as TCP', () => {
      const before = stats();
      const http = get(PLAIN_VIP, 8000, '/b', 'host:plain.example.internal:8000');
      expect(http.status, JSON.stringify(http) + pod.log).toBe(200);
      expect(JSON.parse(http.body!)).toMatchObject({ who: 'web', port: 8080, path: '/b' });
      // A Redis inline command: a whole line, which Envoy's http_inspector needs before it decides
      // (a word without its line end could still be a method: it waits, up to
      // protocolDetectionTimeout); wasmesh's sniffer decides on the first bytes.
      const t = talk(PLAIN_VIP, 7001, 'PING\r\n');
      expect(t, pod.log).toMatchObject({ received: 'echo:6379:PING\r\n', ended: 'replied' });
      expect(t.ms).toBeLessThan(DETECT_MS + 1500);
      // A word without its line end: Envoy waits for protocolDetectionTimeout, then proxies it as TCP.
      const word = talk(PLAIN_VIP, 7001, 'hello');
      expect(word, pod.log).toMatchObject({ received: 'echo:6379:hello', ended: 'replied' });
      expect(word.ms).toBeLessThan(DETECT_MS + 1500);
      const after = stats();
      expect(delta(before, after, 'cluster.outbound|8000||plain.example.internal.upstream_rq_2xx')).toBe(1);
      expect(delta(before, after, 'cluster.outbound|7001||plain.example.internal.upstream_cx_total')).toBe(2);
    });

    it('passes a connection to an address the mesh does not know through to it (ALLOW_ANY, PassthroughCluster)', () => {
      const before = stats();
      expect(talk(PEER, 9000, 'anyone'), pod.log).toMatchObject({ received: 'echo:9000:anyone', ended: 'replied' });
      // Also on a port a service uses for HTTP (web's 80): not HTTP, so not the HTTP routes.
      expect(talk(PEER, 80, 'PING\r\n'), pod.log).toMatchObject({ received: 'echo:80:PING\r\n', ended: 'replied' });
      expect(delta(before, stats(), 'tcp.PassthroughCluster.downstream_cx_total')).toBe(2);
    });

    it('routes HTTP per port (Istio\'s route table per port): another service\'s Host on port 8080 does not take its port-80 route', () => {
      const before = stats();
      const api = get(API_VIP, 8080, '/api', 'host:api.example.internal:8080');
      expect(api.status, JSON.stringify(api) + pod.log).toBe(200);
      expect(JSON.parse(api.body!)).toMatchObject({ who: 'api', port: 8081, path: '/api' });
      // web.example.internal has port 80 only: on port 8080 its Host names no service (the
      // catch-all: the original destination, the peer's own server on 8080), never web's route.
      const foreign = get(PEER, 8080, '/foreign', 'host:web.example.internal');
      expect(foreign.status, JSON.stringify(foreign) + pod.log).toBe(200);
      expect(JSON.parse(foreign.body!)).toMatchObject({ who: 'web', port: 8080, path: '/foreign' });
      const after = stats();
      expect(delta(before, after, 'cluster.outbound|8080||api.example.internal.upstream_rq_2xx')).toBe(1);
      // With the wasmesh filters one route table serves every port (the filter routes by Host,
      // docs/envoy-translation.md): there web's Host takes web's route on any port.
      expect(delta(before, after, 'cluster.outbound|80||web.example.internal.upstream_rq_total')).toBe(plane === 'envoy-filters' ? 1 : 0);
    });

    it('routes a connection to an address in a ServiceEntry\'s CIDR to the entry\'s endpoints (a TCP port and an HTTP port)', () => {
      const before = stats();
      const t = talk(TCP_RANGE_ADDR, 7100, 'PING');
      expect(t, pod.log).toMatchObject({ received: 'echo:6379:PING', ended: 'replied' });
      const h = get(HTTP_RANGE_ADDR, 7200, '/ranged', 'host:ranged-web.example.internal:7200');
      expect(h.status, JSON.stringify(h) + pod.log).toBe(200);
      expect(JSON.parse(h.body!)).toMatchObject({ who: 'web', port: 8080, path: '/ranged' });
      const after = stats();
      expect(delta(before, after, 'cluster.outbound|7100||ranged.example.internal.upstream_cx_total')).toBe(1);
      expect(delta(before, after, 'cluster.outbound|7200||ranged-web.example.internal.upstream_rq_2xx')).toBe(1);
      expect(delta(before, after, 'tcp.PassthroughCluster.downstream_cx_total')).toBe(0);
    });

    it('closes it after a live edit to REGISTRY_ONLY (BlackHoleCluster), a known VIP still proxied', async () => {
      pod.write('mesh.yaml', meshYaml('REGISTRY_ONLY', DETECT_MS));
      let got: Talk | null = null;
      for (let i = 0; i < 100; i++) {
        got = talk(PEER, 9000, 'anyone');
        if (got.received === '') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(got, pod.log).toMatchObject({ received: '' });
      expect(got!.ended).toMatch(/closed|error:ECONNRESET/);
      const before = stats();
      expect(talk(PEER, 9000, 'again'), pod.log).toMatchObject({ received: '' });
      expect(talk(PEER, 80, 'PING\r\n'), pod.log).toMatchObject({ received: '' });
      const after = stats();
      expect(delta(before, after, 'tcp.BlackHoleCluster.downstream_cx_total')).toBe(2);
      expect(delta(before, after, 'tcp.PassthroughCluster.downstream_cx_total')).toBe(0);
      expect(talk(REDIS_VIP, 6379, 'PING').received, pod.log).toMatch(/^echo:638[0-9]:PING$|^echo:6379:PING$/);
    });
  });
}
