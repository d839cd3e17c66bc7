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
// The stats named are the same on both planes (tcp_proxy stat_prefix = the cluster).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodNetwork, netnsUnavailableReason } from '../helpers/netns.js';
import { ensureBuilt } from '../helpers/wasmesh-process.js';
import { listenHelper } from '../helpers/listen-helper.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { leaf } from '../helpers/test-certs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'docker/iptables-init.sh');
const BIN = join(ROOT, 'bin/wasmesh.js');
const FIXTURES = (f: string): string => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const WHOAMI = FIXTURES('whoami-http.mjs');
const HTTP_GET = FIXTURES('http-get.mjs');
const TCP_SERVERS = FIXTURES('tcp-servers.mjs');
const TCP_TALK = FIXTURES('tcp-talk.mjs');
const TLS_WHOAMI = FIXTURES('tls-whoami.mjs');
const TLS_GET = FIXTURES('tls-get.mjs');
const POD = '198.51.100.2';
const PEER = '198.51.100.1';
const REDIS_VIP = '198.51.100.50';
const REDIS_B_VIP = '198.51.100.55';
const SECURE_VIP = '198.51.100.53';
const SECURE_B_VIP = '198.51.100.54';
const WEB_VIP = '198.51.100.52';
const PLAIN_VIP = '198.51.100.51';
const PROXY_UID = 1337;
const SPLIT_CONNECTIONS = 24;
/** meshConfig protocolDetectionTimeout: how long a sniffed port may wait for a decision. */
const DETECT_MS = 300;

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the outbound planes namespace test: ${reason}`);
const envoyBin = reason === null ? envoyForTests('sidecar outbound planes') : null;

function meshYaml(mode: 'ALLOW_ANY' | 'REGISTRY_ONLY'): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    outboundTrafficPolicy: {mode: ${mode}}
    protocolDetectionTimeout: ${DETECT_MS}ms
`;
}

const SERVICES = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis, namespace: default}
spec:
  hosts: [redis.example.internal]
  addresses: [${REDIS_VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 6379, name: redis, protocol: REDIS}]
  endpoints: [{address: ${PEER}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis-b, namespace: default}
spec:
  hosts: [redis-b.example.internal]
  addresses: [${REDIS_B_VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 6379, name: tcp-redis, targetPort: 6380}]
  endpoints: [{address: ${PEER}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: redis-split, namespace: default}
spec:
  hosts: [redis.example.internal]
  tcp:
  - match: [{port: 6379}]
    route:
    - {destination: {host: redis.example.internal, port: {number: 6379}}, weight: 50}
    - {destination: {host: redis-b.example.internal, port: {number: 6379}}, weight: 50}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: secure, namespace: default}
spec:
  hosts: [secure.example.internal]
  addresses: [${SECURE_VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 443, name: tls, targetPort: 8443}]
  endpoints: [{address: ${PEER}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: secure-b, namespace: default}
spec:
  hosts: [secure-b.example.internal]
  addresses: [${SECURE_B_VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 443, name: https, targetPort: 9443}]
  endpoints: [{address: ${PEER}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: secure-by-sni, namespace: default}
spec:
  hosts: [secure.example.internal, '*.secure.example.internal']
  tls:
  - match: [{port: 443, sniHosts: [v2.secure.example.internal]}]
    route: [{destination: {host: secure-b.example.internal, port: {number: 443}}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: default}
spec:
  hosts: [web.example.internal]
  addresses: [${WEB_VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http-web, targetPort: 8080}]
  endpoints: [{address: ${PEER}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: plain, namespace: default}
spec:
  hosts: [plain.example.internal]
  addresses: [${PLAIN_VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 7001, name: talker, targetPort: 6379}, {number: 8000, name: site, targetPort: 8080}]
  endpoints: [{address: ${PEER}}]
`;

interface Talk { received: string; ended: string; ms: number }
interface Got { status?: number; body?: string; error?: string }

/** The wasmesh sidecar needs TPROXY (Node cannot read SO_ORIGINAL_DST); Envoy runs behind either capture. */
type Plane = 'wasmesh' | 'envoy' | 'envoy-redirect';

const only = process.env.WASMESH_PLANE;
for (const plane of (['wasmesh', 'envoy', 'envoy-redirect'] as const satisfies readonly Plane[]).filter((p) => only === undefined || p === only)) {
  const skip = reason !== null || (plane !== 'wasmesh' && envoyBin === null);
  const mode = plane === 'envoy-redirect' ? 'REDIRECT' : 'TPROXY';
  describe.skipIf(skip)(`${plane === 'wasmesh' ? 'wasmesh' : 'envoy'} sidecar, ${mode} capture, over xDS: outbound TCP and TLS by original destination`, () => {
    const net = new PodNetwork({ tag: plane === 'wasmesh' ? 'wmv' : plane === 'envoy' ? 'wme' : 'wmr', podAddr: POD, peerAddr: PEER });
    let dir = '';
    let envoyDir = '';
    let log = '';

    const talk = (host: string, port: number, text: string): Talk =>
      JSON.parse(net.exec(net.pod, [process.execPath, TCP_TALK, host, String(port), 'send', text]).stdout);
    const get = (host: string, port: number, path: string, ...headers: string[]): Got =>
      JSON.parse(net.exec(net.pod, [process.execPath, HTTP_GET, host, String(port), path, ...headers]).stdout);
    const tlsGet = (host: string, port: number, sni: string, path: string): Got =>
      JSON.parse(net.exec(net.pod, [process.execPath, TLS_GET, host, String(port), sni, path]).stdout);
    /** The sidecar's counters as one flat map, whichever plane (Envoy's JSON is a list of {name, value}). */
    const stats = (): Record<string, number> => {
      const body = JSON.parse(get('127.0.0.1', 15000, '/stats?format=json').body!) as Record<string, number> | { stats: Array<{ name: string; value?: number }> };
      if (!('stats' in body) || !Array.isArray(body.stats)) return body as Record<string, number>;
      const out: Record<string, number> = {};
      for (const s of body.stats) if (typeof s.value === 'number') out[s.name] = s.value;
      return out;
    };
    const delta = (before: Record<string, number>, after: Record<string, number>, name: string): number => (after[name] ?? 0) - (before[name] ?? 0);

    beforeAll(async () => {
      await ensureBuilt();
      const helper = plane === 'wasmesh' ? listenHelper() : '';
      net.create();
      net.exec(net.pod, ['ip', 'route', 'add', 'default', 'via', PEER]);
      dir = mkdtempSync(join(tmpdir(), `wasmesh-outbound-${plane}-netns-`));
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, 'services.yaml'), SERVICES, { mode: 0o644 });
      writeFileSync(join(dir, 'mesh.yaml'), meshYaml('ALLOW_ANY'), { mode: 0o644 });
      await net.start(net.peer, [process.execPath, TCP_SERVERS, `echo@${PEER}:6379`, `echo@${PEER}:6380`, `echo@${PEER}:9000`, `echo@${PEER}:80`]);
      const cert = leaf({ dns: ['secure.example.internal'], noSpiffe: true });
      writeFileSync(join(dir, 'tls-cert.pem'), cert.certPem, { mode: 0o644 });
      writeFileSync(join(dir, 'tls-key.pem'), cert.keyPem, { mode: 0o644 });
      await net.start(net.peer, [process.execPath, TLS_WHOAMI, join(dir, 'tls-cert.pem'), join(dir, 'tls-key.pem'), `tls-a@${PEER}:8443`, `tls-b@${PEER}:9443`]);
      await net.start(net.peer, [process.execPath, WHOAMI, `web@${PEER}:8080`]);
      await net.start(net.pod, [process.execPath, WHOAMI, 'app@0.0.0.0:5005']);
      // The control plane on the pod's loopback (never captured); the proxy runs as 1337, excluded.
      const cp: ChildProcess = net.spawn(net.pod, [process.execPath, BIN, 'control-plane', '-f', dir, '--xds-listen', '127.0.0.1:15010', '--monitoring', '127.0.0.1:15014']);
      cp.stdout!.on('data', (d) => { log += `[cp] ${d}`; });
      cp.stderr!.on('data', (d) => { log += `[cp] ${d}`; });
      // Outbound capture only: inbound is not what this suite is about.
      net.exec(net.pod, ['bash', SCRIPT, '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', mode, '-i', '*', '-b', '']);
      let proxy: ChildProcess;
      if (plane === 'wasmesh') {
        proxy = net.spawn(net.pod, ['timeout', '--foreground', '300', helper, '--transparent',
          '--listen', 'outbound=0.0.0.0:15001', '--listen', 'inbound=0.0.0.0:15006', '--user', String(PROXY_UID), '--',
          process.execPath, BIN, 'sidecar', '--xds', '127.0.0.1:15010', '--app-ports', '5005', '--labels', 'app=client']);
      } else {
        const bootstrap = net.exec(net.pod, [process.execPath, BIN, 'envoy-bootstrap', '--xds', '127.0.0.1:15010', '--admin', '127.0.0.1:15000',
          '--proxy-type', 'sidecar', '--interception-mode', mode, '--labels', 'app=client', '--node-id', `sidecar~${POD}~client.default~default.svc.cluster.local`]).stdout;
        // Beside the watched folder: the control plane reads every YAML file in it.
        envoyDir = mkdtempSync(join(tmpdir(), 'wasmesh-outbound-envoy-bootstrap-'));
        chmodSync(envoyDir, 0o755);
        writeFileSync(join(envoyDir, 'envoy.yaml'), bootstrap, { mode: 0o644 });
        // Istio's proxy: uid 1337 (excluded from capture), with NET_ADMIN for TPROXY's transparent
        // listener; behind REDIRECT none (the original destination comes from SO_ORIGINAL_DST).
        const caps = mode === 'TPROXY' ? ['--inh-caps=+net_admin', '--ambient-caps=+net_admin'] : [];
        proxy = net.spawn(net.pod, ['timeout', '--foreground', '300', 'setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups',
          ...caps, '--', envoyBin!, '-c', join(envoyDir, 'envoy.yaml'), '--concurrency', '1', '--disable-hot-restart', '-l', 'warning']);
      }
      proxy.stdout!.on('data', (d) => { log += d; });
      proxy.stderr!.on('data', (d) => { log += d; });
      for (let i = 0; i < 300; i++) {
        if (proxy.exitCode !== null) throw new Error(`${plane} sidecar exited early:\n${log}`);
        if (cp.exitCode !== null) throw new Error(`control plane exited early:\n${log}`);
        const ready = plane === 'wasmesh'
          ? get('127.0.0.1', 15021, '/healthz/ready').status === 200
          : (get('127.0.0.1', 15000, '/listeners').body ?? '').includes(`${SECURE_VIP}_443`);
        if (ready) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${plane} sidecar not ready:\n${log}`);
    }, 300_000);

    afterAll(() => {
      net.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (envoyDir) rmSync(envoyDir, { recursive: true, force: true });
    });

    it('splits a REDIS VIP\'s connections between two services by the tcp: route\'s weights', () => {
      const before = stats();
      const got: Record<string, number> = {};
      for (let i = 0; i < SPLIT_CONNECTIONS; i++) {
        const t = talk(REDIS_VIP, 6379, 'PING');
        expect(t.ended, `${JSON.stringify(t)}\n${log}`).toBe('replied');
        got[t.received] = (got[t.received] ?? 0) + 1;
      }
      // Both services answered (the VIP itself is nobody's: only the sidecar's routing reaches them).
      expect(Object.keys(got).sort(), log).toEqual(['echo:6379:PING', 'echo:6380:PING']);
      const after = stats();
      const a = delta(before, after, 'cluster.outbound|6379||redis.example.internal.upstream_cx_total');
      const b = delta(before, after, 'cluster.outbound|6379||redis-b.example.internal.upstream_cx_total');
      expect(a + b).toBe(SPLIT_CONNECTIONS);
      expect(a).toBe(got['echo:6379:PING']);
      expect(delta(before, after, 'tcp.PassthroughCluster.downstream_cx_total')).toBe(0);
    });

    it('routes TLS to a service VIP by SNI through its tls: rule, passed through to the HTTPS servers', () => {
      const before = stats();
      const own = tlsGet(SECURE_VIP, 443, 'secure.example.internal', '/own');
      expect(own.status, JSON.stringify(own) + log).toBe(200);
      expect(JSON.parse(own.body!)).toEqual({ who: 'tls-a', sni: 'secure.example.internal', path: '/own' });
      const v2 = tlsGet(SECURE_VIP, 443, 'v2.secure.example.internal', '/v2');
      expect(v2.status, JSON.stringify(v2) + log).toBe(200);
      expect(JSON.parse(v2.body!)).toEqual({ who: 'tls-b', sni: 'v2.secure.example.internal', path: '/v2' });
      const after = stats();
      expect(delta(before, after, 'tcp.outbound|443||secure.example.internal.downstream_cx_total')).toBe(1);
      expect(delta(before, after, 'tcp.outbound|443||secure-b.example.internal.downstream_cx_total')).toBe(1);
    });

    it('routes HTTP to a VIP\'s HTTP port by Host to the target port', () => {
      const before = stats();
      const got = get(WEB_VIP, 80, '/a', 'host:web.example.internal');
      expect(got.status, JSON.stringify(got) + log).toBe(200);
      expect(JSON.parse(got.body!)).toMatchObject({ who: 'web', port: 8080, path: '/a' });
      expect(delta(before, stats(), 'cluster.outbound|80||web.example.internal.upstream_rq_2xx')).toBe(1);
    });

    it('sniffs an unnamed port: HTTP to the HTTP routes, a client-first protocol as TCP', () => {
      const before = stats();
      const http = get(PLAIN_VIP, 8000, '/b', 'host:plain.example.internal:8000');
      expect(http.status, JSON.stringify(http) + log).toBe(200);
      expect(JSON.parse(http.body!)).toMatchObject({ who: 'web', port: 8080, path: '/b' });
      // A Redis inline command: a whole line, which Envoy's http_inspector needs before it decides
      // (a word without its line end could still be a method: it waits, up to
      // protocolDetectionTimeout); wasmesh's sniffer decides on the first bytes.
      const t = talk(PLAIN_VIP, 7001, 'PING\r\n');
      expect(t, log).toMatchObject({ received: 'echo:6379:PING\r\n', ended: 'replied' });
      expect(t.ms).toBeLessThan(DETECT_MS + 1500);
      // A word without its line end: Envoy waits for protocolDetectionTimeout, then proxies it as TCP.
      const word = talk(PLAIN_VIP, 7001, 'hello');
      expect(word, log).toMatchObject({ received: 'echo:6379:hello', ended: 'replied' });
      expect(word.ms).toBeLessThan(DETECT_MS + 1500);
      const after = stats();
      expect(delta(before, after, 'cluster.outbound|8000||plain.example.internal.upstream_rq_2xx')).toBe(1);
      expect(delta(before, after, 'cluster.outbound|7001||plain.example.internal.upstream_cx_total')).toBe(2);
    });

    it('passes a connection to an address the mesh does not know through to it (ALLOW_ANY, PassthroughCluster)', () => {
      const before = stats();
      expect(talk(PEER, 9000, 'anyone'), log).toMatchObject({ received: 'echo:9000:anyone', ended: 'replied' });
      // Also on a port a service uses for HTTP (web's 80): not HTTP, so not the HTTP routes.
      expect(talk(PEER, 80, 'PING\r\n'), log).toMatchObject({ received: 'echo:80:PING\r\n', ended: 'replied' });
      expect(delta(before, stats(), 'tcp.PassthroughCluster.downstream_cx_total')).toBe(2);
    });

    it('closes it after a live edit to REGISTRY_ONLY (BlackHoleCluster), a known VIP still proxied', async () => {
      writeFileSync(join(dir, 'mesh.yaml'), meshYaml('REGISTRY_ONLY'), { mode: 0o644 });
      let got: Talk | null = null;
      for (let i = 0; i < 100; i++) {
        got = talk(PEER, 9000, 'anyone');
        if (got.received === '') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(got, log).toMatchObject({ received: '' });
      expect(got!.ended).toMatch(/closed|error:ECONNRESET/);
      const before = stats();
      expect(talk(PEER, 9000, 'again'), log).toMatchObject({ received: '' });
      expect(talk(PEER, 80, 'PING\r\n'), log).toMatchObject({ received: '' });
      const after = stats();
      expect(delta(before, after, 'tcp.BlackHoleCluster.downstream_cx_total')).toBe(2);
      expect(delta(before, after, 'tcp.PassthroughCluster.downstream_cx_total')).toBe(0);
      expect(talk(REDIS_VIP, 6379, 'PING').received, log).toMatch(/^echo:638[0-9]:PING$|^echo:6379:PING$/);
    });
  });
}
