// The mesh on an IPv6-only pod, on real packets, on both data planes: a pod and peer namespace
// with IPv6 addresses only (fd00:5ee::/64; the pod's IPv4 is loopback's 127.0.0.1 and nothing
// else), docker/iptables-init.sh -m TPROXY --ipv6, the control plane on [::1]:15010 and the
// proxy's admin on [::1]:15000. The app listens on ::1 only (what an app of an IPv6-only pod may
// do), so only an app address of ::1 reaches it (host/model/ip-families.ts: the pod's families
// from its interfaces for the wasmesh sidecar, from the node id's address for an Envoy sidecar,
// whose listeners the control plane puts on `::`). Each plane, over xDS:
//   - outbound TCP to a REDIS port of an IPv6 service VIP nobody owns, to the peer's IPv6 endpoint;
//   - outbound HTTP to an IPv6 VIP's HTTP port, routed by Host to its target port;
//   - an IPv6 address the mesh does not know passed through (ALLOW_ANY);
//   - inbound HTTP to the pod's IPv6 address handed to the app on ::1;
//   - an undeclared inbound port passed through from ::6 (stock Envoy's InboundPassthroughCluster
//     with ::6 as extra_source_addresses, never run on IPv6 before).
// And the wasmesh sidecar's health port answers on the pod's IPv6 address (its default [::]).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { netnsUnavailableReason } from '../helpers/netns.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { SidecarPod, delta, docs, meshYaml, TCP_SERVERS, WHOAMI, type Plane } from '../helpers/netns-sidecar.js';

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
      const proxy = plane === 'wasmesh'
        ? pod.wasmesh('5005', 'xds', ['--labels', 'app=client', '--admin', pod.at(15000)], '[::]')
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
  });
}
