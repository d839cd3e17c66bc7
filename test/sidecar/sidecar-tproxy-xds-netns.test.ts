// meshConfig outboundTrafficPolicy REGISTRY_ONLY reaching a sidecar over xDS, on real packets:
// `wasmesh control-plane` and `wasmesh sidecar --xds` in a throwaway pod namespace with TPROXY
// interception (as sidecar-tproxy-netns.test.ts, which reads files). The app's connection to an
// address the mesh does not know is closed (BlackHoleCluster), not passed through — the policy
// and the service addresses travel in wasmesh's resource header (lost, the capture side would
// default to ALLOW_ANY and pass it: fail open); a service VIP the mesh knows is still proxied.
// The pod, the YAML and the sidecar come from test/helpers/netns-sidecar.ts.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { netnsUnavailableReason } from '../helpers/netns.js';
import { SidecarPod, docs, meshYaml, REDIS_SE, TCP_SERVERS, WHOAMI, POD, PEER, REDIS_VIP } from '../helpers/netns-sidecar.js';

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the TPROXY-over-xDS namespace test: ${reason}`);

describe.skipIf(reason !== null)('wasmesh sidecar --xds with TPROXY interception: REGISTRY_ONLY from the control plane', () => {
  // Namespaces of their own (tag wmq); the addresses live only inside them.
  const pod = new SidecarPod('wmq');
  const { net } = pod;

  beforeAll(async () => {
    await pod.create({ 'mesh.yaml': docs(meshYaml('REGISTRY_ONLY', 0), REDIS_SE) });
    await net.start(net.peer, [process.execPath, TCP_SERVERS, `echo@${PEER}:6379`, `echo@${PEER}:9000`]);
    await net.start(net.pod, [process.execPath, WHOAMI, 'app@0.0.0.0:5005']);
    // The control plane in the pod, on loopback (not captured); the sidecar (uid 1337) is excluded from capture.
    const cp = pod.controlPlane();
    pod.capture('TPROXY', '5005');
    const sidecar = pod.wasmesh('5005', 'xds', ['--labels', 'app=web']);
    await pod.until('sidecar', () => pod.get(POD, 15021, '/healthz/ready', [], net.peer).status === 200, [sidecar, cp], 200);
  }, 300_000);

  afterAll(() => pod.destroy());

  it('closes a connection to an address the mesh does not know (BlackHoleCluster), never reaching it', () => {
    const before = pod.stats();
    const got = pod.talk(PEER, 9000, 'anyone');
    expect(got, pod.log).toMatchObject({ received: '' });
    expect(got.ended).toMatch(/closed|error:ECONNRESET/);
    const after = pod.stats();
    expect((after['sidecar_outbound.original_dst_blackhole'] ?? 0) - (before['sidecar_outbound.original_dst_blackhole'] ?? 0)).toBe(1);
    expect(after['sidecar_outbound.original_dst_passthrough'] ?? 0).toBe(0);
  });

  it('still proxies a service VIP the mesh knows (its address came over xDS too)', () => {
    expect(pod.talk(REDIS_VIP, 6379, 'PING'), pod.log).toMatchObject({ received: 'echo:6379:PING', ended: 'replied' });
    expect(pod.stats()['sidecar_outbound.original_dst_tcp']).toBeGreaterThanOrEqual(1);
  });
});
