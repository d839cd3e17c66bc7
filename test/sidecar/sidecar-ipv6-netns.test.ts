// The wasmesh sidecar on a dual-stack pod, on real packets: a pod and peer namespace with IPv4
// (TEST-NET-2) and IPv6 (fd00:5ee::/64) addresses, docker/iptables-init.sh -m TPROXY --ipv6
// (ip6tables rules beside the iptables ones, ::6 on lo), and `wasmesh sidecar` behind the
// socket-activation helper with dual-stack transparent listeners ([::]:15001, [::]:15006, so an
// IPv4 connection arrives as an IPv4-mapped address). Outbound: a REDIS port at an IPv6 VIP
// nobody owns, proxied as TCP to the service's IPv6 endpoint; an IPv6 address the mesh does not
// know passed through (ALLOW_ANY); an IPv4 VIP still routed on the same dual-stack listener.
// Inbound: HTTP to the app port over IPv6 and IPv4; an undeclared port over IPv6 passed through
// from ::6 (Istio's IPv6 passthrough source), over IPv4 from 127.0.0.6.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { netnsUnavailableReason } from '../helpers/netns.js';
import { SidecarPod, delta, docs, meshYaml, serviceEntry, TCP_SERVERS, WHOAMI, POD, PEER, REDIS_VIP, type Got, type Talk } from '../helpers/netns-sidecar.js';

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the IPv6 namespace test: ${reason}`);

const POD6 = 'fd00:5ee::2';
const PEER6 = 'fd00:5ee::1';
/** An IPv6 service VIP nobody owns. */
const REDIS6_VIP = 'fd00:5ee:99::50';

const SERVICES = docs(
  `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis6, namespace: default}
spec:
  hosts: [redis6.example.internal]
  addresses: ['${REDIS6_VIP}']
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 6379, name: redis, protocol: REDIS}]
  endpoints: [{address: '${PEER6}'}]`,
  serviceEntry('redis', { addresses: [REDIS_VIP], ports: '[{number: 6379, name: redis, protocol: REDIS}]' }),
);

describe.skipIf(reason !== null)('wasmesh sidecar on a dual-stack pod (TPROXY, --ipv6)', () => {
  const pod = new SidecarPod('wm6');
  const { net } = pod;
  const talk = (host: string, port: number, text: string): Talk => pod.talk(host, port, text);
  const getIn = (host: string, port: number, path: string): Got => pod.get(host, port, path, [], net.peer);

  beforeAll(async () => {
    await pod.create({ 'services.yaml': SERVICES, 'mesh.yaml': meshYaml('ALLOW_ANY', 300) });
    net.addIpv6(POD6, PEER6);
    // The peer's servers on both families; the app on every address of the pod.
    await net.start(net.peer, [process.execPath, TCP_SERVERS, 'echo@:::6379', 'echo@:::9000']);
    await net.start(net.pod, [process.execPath, WHOAMI, 'app@:::5005', 'undeclared@:::5010']);
    pod.capture('TPROXY', '*', ['--ipv6']);
    const sidecar = pod.wasmesh('5005', 'files', [], '[::]');
    await pod.until('sidecar', () => getIn(POD, 15021, '/healthz/ready').status === 200, [sidecar], 80);
  }, 300_000);

  afterAll(() => pod.destroy());

  it('proxies a REDIS port at an IPv6 VIP as TCP to the service\'s IPv6 endpoint', () => {
    const before = pod.stats();
    const got = talk(REDIS6_VIP, 6379, 'PING');
    expect(got, pod.log).toMatchObject({ received: 'echo:6379:PING', ended: 'replied' });
    const after = pod.stats();
    expect(delta(before, after, 'sidecar_outbound.original_dst_tcp')).toBe(1);
    expect(delta(before, after, 'cluster.outbound|6379||redis6.example.internal.upstream_cx_total')).toBe(1);
  });

  it('routes an IPv4 VIP on the same dual-stack listener (its IPv4-mapped address unmapped)', () => {
    const before = pod.stats();
    const got = talk(REDIS_VIP, 6379, 'PING4');
    expect(got, pod.log).toMatchObject({ received: 'echo:6379:PING4', ended: 'replied' });
    expect(delta(before, pod.stats(), 'cluster.outbound|6379||redis.example.internal.upstream_cx_total')).toBe(1);
  });

  it('passes a connection to an IPv6 address the mesh does not know through to it (ALLOW_ANY)', () => {
    const before = pod.stats();
    const got = talk(PEER6, 9000, 'anyone');
    expect(got, pod.log).toMatchObject({ received: 'echo:9000:anyone', ended: 'replied' });
    const after = pod.stats();
    expect(delta(before, after, 'sidecar_outbound.original_dst_passthrough')).toBe(1);
    expect(delta(before, after, 'tcp.PassthroughCluster.downstream_cx_total')).toBe(1);
  });

  it('hands inbound HTTP to the app port over IPv6 and over IPv4', () => {
    for (const host of [POD6, POD]) {
      const got = getIn(host, 5005, '/in');
      expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
      expect(JSON.parse(got.body!)).toMatchObject({ who: 'app', path: '/in' });
    }
  });

  it('passes an undeclared port through to the app from ::6 over IPv6, from 127.0.0.6 over IPv4', () => {
    const before = pod.stats();
    const v6 = getIn(POD6, 5010, '/other');
    expect(v6.status, JSON.stringify(v6) + pod.log).toBe(200);
    expect(JSON.parse(v6.body!)).toMatchObject({ who: 'undeclared', port: 5010, path: '/other', from: '::6' });
    const v4 = getIn(POD, 5010, '/other');
    expect(v4.status, JSON.stringify(v4) + pod.log).toBe(200);
    // The app listens on [::]: the IPv4 source shows as mapped.
    expect(JSON.parse(v4.body!)).toMatchObject({ who: 'undeclared', from: '::ffff:127.0.0.6' });
    expect(delta(before, pod.stats(), 'cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(2);
  });
});
