// The mesh on an IPv6-only pod, on real packets, on both data planes: a pod and peer namespace
// with IPv6 addresses only (fd00:5ee::/64; the pod's IPv4 is loopback's 127.0.0.1 and nothing
// else), docker/iptables-init.sh -m TPROXY --ipv6, the control plane on [::1]:15010 and the
// proxy's admin on [::1]:15000 (Envoy's as envoy-bootstrap is told; the wasmesh sidecar's by its own
// default, the pod's localhost as Istio's bootstrap picks it, no --admin given). The app listens on ::1 only (what an app of an IPv6-only pod may
// do), so only an app address of ::1 reaches it (host/model/ip-families.ts: the pod's families
// from its interfaces for the wasmesh sidecar, from the node id's address for an Envoy sidecar,
// whose listeners the control plane puts on `::`). Each plane, over xDS:
//   - outbound TCP to a REDIS port of an IPv6 service VIP nobody owns, to the peer's IPv6 endpoint;
//   - outbound HTTP to an IPv6 VIP's HTTP port, routed by Host to its target port;
//   - an IPv6 address the mesh does not know passed through (ALLOW_ANY);
//   - inbound HTTP to the pod's IPv6 address handed to the app on ::1;
//   - an undeclared inbound port passed through from ::6 (stock Envoy's InboundPassthroughCluster
//     with ::6 as extra_source_addresses, never run on IPv6 before).
// And the wasmesh sidecar's health port answers on the pod's IPv6 address (its default [::]); its
// admin is on [::1] and on no IPv4 address, and what reaches the admin still does: `wasmesh
// proxy-config` against [::1]:15000, the merged stats (the proxy's metrics on 15020), and POST
// /quitquitquit on [::1]:15000, which ends the sidecar (exit 0; the last test).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { netnsUnavailableReason } from '../helpers/netns.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import type { ChildProcess } from 'node:child_process';
import { SidecarPod, BIN, delta, docs, meshYaml, TCP_SERVERS, WHOAMI, type Plane } from '../helpers/netns-sidecar.js';

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the IPv6-only namespace test: ${reason}`);
const envoyBin = reason === null ? envoyForTests('sidecar on an IPv6-only pod') : null;

const POD6 = 'fd00:5ee::2';
const PEER6 = 'fd00:5ee::1';
/** IPv6 service VIPs nobody owns. */
const REDIS6_VIP = 'fd00:5ee:99::50';
const WEB6_VIP = 'fd00:5ee:99::52';

const se = (name: string, vip: string, ports: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${name}.example.internal]
  addresses: ['${vip}']
  location: MESH_INTERNAL
  resolution: STATIC
  ports: ${ports}
  endpoints: [{address: '${PEER6}'}]`;

const SERVICES = docs(
  se('redis6', REDIS6_VIP, '[{number: 6379, name: redis, protocol: REDIS}]'),
  se('web6', WEB6_VIP, '[{number: 80, name: http-web, targetPort: 8080}]'),
);

for (const plane of ['wasmesh', 'envoy'] as const satisfies readonly Plane[]) {
  const skip = reason !== null || (plane === 'envoy' && envoyBin === null);
  describe.skipIf(skip)(`${plane} sidecar on an IPv6-only pod (TPROXY --ipv6, over xDS on [::1])`, () => {
    const pod = new SidecarPod(plane === 'wasmesh' ? 'wo6' : 'eo6', { ipv6Only: { pod: POD6, peer: PEER6 } });
    const { net } = pod;
    let proxy: ChildProcess;

    beforeAll(async () => {
      await pod.create({ 'services.yaml': SERVICES, 'mesh.yaml': meshYaml('ALLOW_ANY', 300) });
      // No IPv4 but loopback's: the pod's interfaces say IPv6 only.
      expect(net.exec(net.pod, ['ip', '-4', 'addr', 'show', 'scope', 'global']).stdout.trim()).toBe('');
      await net.start(net.peer, [process.execPath, TCP_SERVERS, `echo@${PEER6}:6379`, `echo@${PEER6}:9000`]);
      await net.start(net.peer, [process.execPath, WHOAMI, `web@${PEER6}:8080`]);
      // The app on ::1 only; an undeclared port on every IPv6 address.
      await net.start(net.pod, [process.execPath, WHOAMI, 'app@::1:5005', 'undeclared@:::5010']);
      const cp = pod.controlPlane();
      pod.capture('TPROXY', '*', ['--ipv6']);
      // No --admin for wasmesh: its default must be [::1]:15000 here (stats() and until() ask there).
      proxy = plane === 'wasmesh'
        ? pod.wasmesh('5005', 'xds', ['--labels', 'app=client'], '[::]')
        : pod.envoy(envoyBin!, 'TPROXY', ['--app-ports', '5005']);
      await pod.until(`${plane} sidecar`, () => (pod.get('::1', 15000, '/listeners').body ?? '').length > 0
        && (plane === 'wasmesh' ? pod.get('::1', 15000, '/ready').status === 200 : (pod.get('::1', 15000, '/listeners').body ?? '').includes(`${REDIS6_VIP}_6379`)), [proxy, cp]);
    }, 300_000);

    afterAll(() => pod.destroy());

    it('proxies a REDIS port at an IPv6 VIP as TCP to the service\'s IPv6 endpoint', () => {
      const before = pod.stats();
      const got = pod.talk(REDIS6_VIP, 6379, 'PING');
      expect(got, pod.log).toMatchObject({ received: 'echo:6379:PING', ended: 'replied' });
      expect(delta(before, pod.stats(), 'cluster.outbound|6379||redis6.example.internal.upstream_cx_total')).toBe(1);
    });

    it('routes HTTP to an IPv6 VIP\'s HTTP port by Host to its target port', () => {
      const before = pod.stats();
      const got = pod.get(WEB6_VIP, 80, '/six', ['host:web6.example.internal']);
      expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
      expect(JSON.parse(got.body!)).toMatchObject({ who: 'web', port: 8080, path: '/six' });
      expect(delta(before, pod.stats(), 'cluster.outbound|80||web6.example.internal.upstream_rq_2xx')).toBe(1);
    });

    it('passes a connection to an IPv6 address the mesh does not know through (ALLOW_ANY)', () => {
      const before = pod.stats();
      const got = pod.talk(PEER6, 9000, 'anyone');
      expect(got, pod.log).toMatchObject({ received: 'echo:9000:anyone', ended: 'replied' });
      expect(delta(before, pod.stats(), 'tcp.PassthroughCluster.downstream_cx_total')).toBe(1);
    });

    it('hands inbound HTTP for the pod\'s IPv6 address to the app listening on ::1 only', () => {
      const before = pod.stats();
      const got = pod.get(POD6, 5005, '/in', [], net.peer);
      expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
      expect(JSON.parse(got.body!)).toMatchObject({ who: 'app', path: '/in', from: '::1' });
      expect(delta(before, pod.stats(), 'cluster.inbound|5005||.upstream_rq_2xx')).toBe(1);
    });

    it('passes an undeclared inbound port through to the app from ::6', () => {
      const before = pod.stats();
      const got = pod.get(POD6, 5010, '/other', [], net.peer);
      expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
      expect(JSON.parse(got.body!)).toMatchObject({ who: 'undeclared', port: 5010, from: '::6' });
      expect(delta(before, pod.stats(), 'cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(1);
    });

    it.runIf(plane === 'wasmesh')('answers the health check on the pod\'s IPv6 address (the [::] default)', () => {
      expect(pod.get(POD6, 15021, '/healthz/ready', [], net.peer).status).toBe(200);
    });

    it.runIf(plane === 'wasmesh')('binds its admin on [::1] by default, said in its log, and on no IPv4 address (loopback only)', async () => {
      // Bounded wait for the startup line: the synchronous execs starve the log's reader.
      for (let i = 0; i < 50 && !/admin on http:/.test(pod.log); i++) await new Promise((r) => setTimeout(r, 100));
      expect(pod.log).toMatch(/pod addresses fd00:5ee::2 \(interfaces\): IPv6 only/);
      expect(pod.log).toMatch(/admin on http:\/\/\[::1\]:15000 /);
      expect(pod.get('::1', 15000, '/ready').status).toBe(200);
      expect(pod.get('127.0.0.1', 15000, '/ready')).toEqual({ error: 'ECONNREFUSED' });
      expect(pod.get(POD6, 15000, '/ready')).toEqual({ error: 'ECONNREFUSED' });
    });

    it.runIf(plane === 'wasmesh')('is read by `wasmesh proxy-config` at [::1]:15000, as an operator in the pod asks it', () => {
      const out = net.exec(net.pod, [process.execPath, BIN, 'proxy-config', 'clusters', '[::1]:15000', '--fqdn', 'redis6.example.internal']).stdout;
      expect(out, pod.log).toMatch(/redis6\.example\.internal\s+6379/);
    });

    it.runIf(plane === 'wasmesh')('serves the proxy\'s metrics on the merged-stats port (15020), the admin\'s counters among them', () => {
      const got = pod.get('127.0.0.1', 15020, '/stats/prometheus');
      expect(got.status, JSON.stringify(got).slice(0, 300) + pod.log).toBe(200);
      expect(got.body).toMatch(/envoy_cluster_upstream_cx_total\{[^}]*outbound\|6379\|\|redis6\.example\.internal[^}]*\} [1-9]/);
    });

    it.runIf(plane === 'wasmesh')('is scraped on the pod\'s IPv6 address from outside the pod, as Prometheus does: 15090 and 15020 on [::] by default', () => {
      for (const port of [15090, 15020]) {
        const got = pod.get(POD6, port, '/stats/prometheus', [], net.peer);
        expect(got.status, `${port}: ${JSON.stringify(got).slice(0, 300)}${pod.log}`).toBe(200);
        expect(got.body).toMatch(/envoy_cluster_upstream_cx_total\{[^}]*outbound\|6379\|\|redis6\.example\.internal[^}]*\} [1-9]/);
      }
    });

    it.runIf(plane === 'wasmesh')('ends on POST /quitquitquit to [::1]:15000 (pilot-agent\'s way out), exiting 0', async () => {
      const posted = net.exec(net.pod, [process.execPath, '-e',
        'fetch("http://[::1]:15000/quitquitquit", { method: "POST" }).then((r) => console.log(r.status), (e) => console.log(e.cause?.code ?? e.message))']).stdout.trim();
      expect(posted, pod.log).toBe('200');
      for (let i = 0; i < 300 && proxy.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      expect(proxy.exitCode, pod.log).toBe(0);
    }, 60_000);
  });
}
