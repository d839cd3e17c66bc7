// An Envoy sidecar's inbound on real packets, behind TPROXY and REDIRECT capture of every inbound
// port (docker/iptables-init.sh -b '*'): stock Envoy from `wasmesh envoy-bootstrap --proxy-type
// sidecar --app-ports 5005` served by `wasmesh control-plane` gets Istio's virtualInbound
// (host/envoy/inbound-passthrough.ts): the declared app port through the HTTP chain and its
// inbound|5005|| cluster; a port the workload does not declare — TCP or HTTP — passed to where
// it was going through InboundPassthroughCluster, the connection coming to the app from
// 127.0.0.6 (Istio's passthrough source, let through by the capture rules); and, once an
// AuthorizationPolicy selects the workload, Envoy's RBAC network filter on the passthrough (a
// DENY by port and ipBlocks closes that port only), the app port still served. The wasmesh sidecar (TPROXY: Node cannot read SO_ORIGINAL_DST behind REDIRECT) passes the same
// (host/sidecar/inbound-passthrough.ts), with Istio's istio_tcp_* series for the passthrough, and
// enforces AuthorizationPolicy there with its RBAC network filter (a DENY by port and ipBlocks).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { netnsUnavailableReason } from '../helpers/netns.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { SidecarPod, delta, meshYaml, TCP_SERVERS, WHOAMI, POD, PEER, type Talk } from '../helpers/netns-sidecar.js';

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the inbound passthrough namespace test: ${reason}`);
const envoyBin = reason === null ? envoyForTests('sidecar inbound passthrough') : null;

/** Talks to `port` every 100 ms until the sidecar, having reloaded a policy, closes it (at most 100 tries): the last exchange. */
async function talkUntilClosed(talkIn: (port: number, text: string) => Talk, port: number): Promise<Talk> {
  let got = talkIn(port, 'x');
  for (let i = 1; i < 100 && got.received !== ''; i++) {
    await new Promise((r) => setTimeout(r, 100));
    got = talkIn(port, 'x');
  }
  return got;
}

for (const mode of ['TPROXY', 'REDIRECT'] as const) {
  describe.skipIf(reason !== null || envoyBin === null)(`envoy sidecar, ${mode} capture of every inbound port: declared app ports and InboundPassthroughCluster`, () => {
    const pod = new SidecarPod(mode === 'TPROXY' ? 'wmi' : 'wmj');
    const { net } = pod;
    /** From the peer to the pod. */
    const talkIn = (port: number, text: string): Talk => pod.talk(POD, port, text, false, net.peer);
    const getIn = (port: number, path: string) => pod.get(POD, port, path, [], net.peer);

    beforeAll(async () => {
      await pod.create({ 'mesh.yaml': meshYaml('ALLOW_ANY', 300) });
      // The app: HTTP on its declared port 5005, and two ports it does not declare (TCP and HTTP).
      await net.start(net.pod, [process.execPath, WHOAMI, 'app@0.0.0.0:5005', 'undeclared@0.0.0.0:5010']);
      await net.start(net.pod, [process.execPath, TCP_SERVERS, 'echo@0.0.0.0:5009']);
      const cp = pod.controlPlane();
      pod.capture(mode, '*');
      const proxy = pod.envoy(envoyBin!, mode, ['--app-ports', '5005']);
      await pod.until('envoy sidecar', () => (pod.get('127.0.0.1', 15000, '/listeners').body ?? '').includes('virtualInbound'), [proxy, cp]);
    }, 300_000);

    afterAll(() => pod.destroy());

    it('hands a request to the declared app port to the app through inbound|5005||', () => {
      const before = pod.stats();
      const got = getIn(5005, '/declared');
      expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
      expect(JSON.parse(got.body!)).toMatchObject({ who: 'app', port: 5005, path: '/declared' });
      const after = pod.stats();
      expect(delta(before, after, 'cluster.inbound|5005||.upstream_rq_2xx')).toBe(1);
      expect(delta(before, after, 'cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(0);
    });

    it('passes TCP to an undeclared port through to the app (InboundPassthroughCluster, from 127.0.0.6)', () => {
      const before = pod.stats();
      const got = talkIn(5009, 'undeclared-bytes');
      expect(got, pod.log).toMatchObject({ received: 'echo:5009:undeclared-bytes', ended: 'replied' });
      const after = pod.stats();
      expect(delta(before, after, 'tcp.InboundPassthroughCluster.downstream_cx_total')).toBe(1);
      expect(delta(before, after, 'cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(1);
    });

    it('passes HTTP to an undeclared port through as bytes: the app sees the connection come from 127.0.0.6, not from the peer', () => {
      const before = pod.stats();
      const got = getIn(5010, '/other');
      expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
      expect(JSON.parse(got.body!)).toMatchObject({ who: 'undeclared', port: 5010, path: '/other', from: '127.0.0.6' });
      expect(delta(before, pod.stats(), 'cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(1);
    });

    it('enforces AuthorizationPolicy on the passthrough with Envoy\'s RBAC network filter: a DENY of port 5009 closes it (tcp.rbac.denied); 5010 and the app port still served', async () => {
      pod.write('authz.yaml', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-5009, namespace: default}
spec:
  action: DENY
  rules: [{from: [{source: {ipBlocks: ["${PEER}"]}}], to: [{operation: {ports: ["5009"]}}]}]
`);
      expect(await talkUntilClosed(talkIn, 5009), pod.log).toMatchObject({ received: '' });
      const before = pod.stats();
      expect(talkIn(5009, 'again').received).toBe('');
      // Envoy's filter decides on the first bytes (onData), after tcp_proxy has started the
      // upstream connect: the upstream connection may open; no byte reaches the app.
      expect(delta(before, pod.stats(), 'tcp.rbac.denied')).toBe(1);
      const other = getIn(5010, '/other');
      expect(other.status, JSON.stringify(other) + pod.log).toBe(200);
      expect(getIn(5005, '/still').status).toBe(200);
    });
  });
}

describe.skipIf(reason !== null)('wasmesh sidecar, TPROXY capture of every inbound port: declared app ports and InboundPassthroughCluster', () => {
  const pod = new SidecarPod('wmk');
  const { net } = pod;
  const talkIn = (port: number, text: string): Talk => pod.talk(POD, port, text, false, net.peer);
  const getIn = (port: number, path: string) => pod.get(POD, port, path, [], net.peer);

  beforeAll(async () => {
    await pod.create({ 'mesh.yaml': meshYaml('ALLOW_ANY', 300) });
    await net.start(net.pod, [process.execPath, WHOAMI, 'app@0.0.0.0:5005', 'undeclared@0.0.0.0:5010']);
    await net.start(net.pod, [process.execPath, TCP_SERVERS, 'echo@0.0.0.0:5009']);
    pod.capture('TPROXY', '*');
    const sidecar = pod.wasmesh('5005', 'files');
    await pod.until('sidecar', () => pod.get(POD, 15021, '/healthz/ready', [], net.peer).status === 200, [sidecar], 80);
  }, 300_000);

  afterAll(() => pod.destroy());

  it('hands a request to the declared app port to the app over HTTP, not through the passthrough', () => {
    const before = pod.stats();
    const got = getIn(5005, '/declared');
    expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
    expect(JSON.parse(got.body!)).toMatchObject({ who: 'app', port: 5005, path: '/declared' });
    expect(delta(before, pod.stats(), 'cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(0);
  });

  it('passes TCP to an undeclared port through to the app (InboundPassthroughCluster), with its tcp, cluster and istio_tcp stats', () => {
    const before = pod.stats();
    const got = talkIn(5009, 'undeclared-bytes');
    expect(got, pod.log).toMatchObject({ received: 'echo:5009:undeclared-bytes', ended: 'replied' });
    const after = pod.stats();
    expect(delta(before, after, 'tcp.InboundPassthroughCluster.downstream_cx_total')).toBe(1);
    expect(delta(before, after, 'cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(1);
    // Istio's series for the inbound passthrough: reporter destination, no service.
    const line = pod.prometheus().split('\n').find((l) => l.startsWith('istio_tcp_connections_opened_total{') && l.includes('destination_service_name="InboundPassthroughCluster"'));
    expect(line, pod.prometheus()).toBeDefined();
    expect(line).toContain('reporter="destination"');
    expect(line).toContain('destination_service="unknown"');
    expect(Number(line!.slice(line!.lastIndexOf(' ') + 1))).toBeGreaterThanOrEqual(1);
  });

  it('passes HTTP to an undeclared port through as bytes: the app sees the connection come from 127.0.0.6, not from the peer', () => {
    const before = pod.stats();
    const got = getIn(5010, '/other');
    expect(got.status, JSON.stringify(got) + pod.log).toBe(200);
    expect(JSON.parse(got.body!)).toMatchObject({ who: 'undeclared', port: 5010, path: '/other', from: '127.0.0.6' });
    expect(JSON.parse(got.body!).from).not.toBe(PEER);
    expect(delta(before, pod.stats(), 'cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(1);
  });

  it('enforces AuthorizationPolicy on the passthrough (Envoy\'s RBAC network filter): a DENY of port 5009 closes it, counted tcp.rbac.denied; 5010 and the app port still served', async () => {
    pod.write('authz.yaml', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-5009, namespace: default}
spec:
  action: DENY
  rules: [{from: [{source: {ipBlocks: ["${PEER}"]}}], to: [{operation: {ports: ["5009"]}}]}]
`);
    expect(await talkUntilClosed(talkIn, 5009), pod.log).toMatchObject({ received: '' });
    const before = pod.stats();
    expect(talkIn(5009, 'again').received).toBe('');
    const after = pod.stats();
    expect(delta(before, after, 'cluster.InboundPassthroughCluster.upstream_cx_total')).toBe(0);
    expect(delta(before, after, 'tcp.rbac.denied')).toBe(1);
    const other = getIn(5010, '/other');
    expect(other.status, JSON.stringify(other) + pod.log).toBe(200);
    expect(pod.stats()['tcp.rbac.allowed']).toBeGreaterThanOrEqual(1);
    expect(getIn(5005, '/still').status).toBe(200);
  });
});
