// readNode: who a proxy is from its first request's Node — here the keys that give an Envoy
// sidecar its inbound listener (WASMESH_APP_PORTS, WASMESH_INBOUND), read or refused by name.
import { describe, expect, it } from 'vitest';
import { readNode, XdsNodeError, nodeWorkload } from '../../host/xds/xds-node.js';
import { workloadOfIdentity } from '../../host/control/xds-config-source.js';

const ID = 'sidecar~10.0.0.7~beta-1.shop~shop.svc.cluster.local';
const node = (metadata: Record<string, string>) => readNode({ id: ID, metadata: { fields: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, { stringValue: v }])) } });

describe('readNode', () => {
  it('reads the id as Istio writes it; no app ports: none, no inbound address', () => {
    expect(node({})).toMatchObject({ type: 'sidecar', ip: '10.0.0.7', pod: 'beta-1', namespace: 'shop', appPorts: [], inbound: null, kind: 'envoy' });
  });

  it('WASMESH_APP_PORTS and WASMESH_INBOUND: the ports in order, the address parsed (IPv6 bracketed)', () => {
    expect(node({ WASMESH_APP_PORTS: '8080, 5005', WASMESH_INBOUND: '[::1]:16006' })).toMatchObject({ appPorts: [8080, 5005], inbound: { host: '::1', port: 16006 } });
  });

  it('INTERCEPTION_MODE as Istio\'s agent sends it (TPROXY: a transparent capture listener); absent: none read', () => {
    expect(node({ INTERCEPTION_MODE: 'TPROXY' }).interceptionMode).toBe('TPROXY');
    expect(node({}).interceptionMode).toBeUndefined();
  });

  it('refuses bad values with the key named (XDS_NODE_INVALID)', () => {
    for (const [k, v, why] of [
      ['WASMESH_APP_PORTS', '', /"" is not a port/],
      ['WASMESH_APP_PORTS', '5005,65536', /"65536" is not a port 1-65535/],
      ['WASMESH_APP_PORTS', '1e3', /"1e3" is not a port/],
      ['WASMESH_APP_PORTS', '80,80', /80 is given twice/],
      ['WASMESH_INBOUND', 'localhost', /metadata WASMESH_INBOUND: /],
      ['INTERCEPTION_MODE', 'tproxy', /metadata INTERCEPTION_MODE: expected REDIRECT, TPROXY or NONE, got "tproxy"/],
    ] as const) {
      expect(() => node({ [k]: v })).toThrow(XdsNodeError);
      expect(() => node({ [k]: v })).toThrow(why);
    }
    expect(() => readNode({ id: ID, metadata: { fields: { WASMESH_APP_PORTS: { numberValue: 5005 } } } })).toThrow(/WASMESH_APP_PORTS: expected a "port,port…" string, got 5005/);
  });
});

describe('the workload a node names', () => {
  it('WORKLOAD_NAME when sent, else the pod name; its metadata as Istio\'s telemetry labels it', () => {
    expect(node({}).workloadName).toBe('beta-1');
    const n = node({ WORKLOAD_NAME: 'beta', SERVICE_ACCOUNT: 'beta-sa', CLUSTER_ID: 'east' });
    expect(n.workloadName).toBe('beta');
    expect(nodeWorkload(n)).toMatchObject({ name: 'beta', namespace: 'shop', cluster: 'east', principal: 'spiffe://cluster.local/ns/shop/sa/beta-sa', nodeId: ID, instanceIp: '10.0.0.7' });
  });

  it('a wasmesh proxy\'s own xDS identity gives its workload (the pod\'s Deployment when WORKLOAD_NAME is unset)', () => {
    const w = workloadOfIdentity({ type: 'sidecar', pod: 'reviews-v1-545db77b95-2dfqs', ip: '10.0.0.8', namespace: 'default', labels: { app: 'reviews', version: 'v1' } });
    expect(w).toMatchObject({ name: 'reviews-v1', app: 'reviews', version: 'v1', principal: null, nodeId: 'sidecar~10.0.0.8~reviews-v1-545db77b95-2dfqs.default~default.svc.cluster.local' });
    expect(workloadOfIdentity({ type: 'router', pod: 'gw', ip: '1.2.3.4', namespace: 'istio-system', labels: {}, workloadName: 'istio-ingressgateway' }, 'cluster.local').principal).toBe('spiffe://cluster.local/ns/istio-system/sa/default');
  });
});

describe('the node\'s IP families (Istio\'s IP mode)', () => {
  const at = (ip: string, fields: Record<string, string> = {}) =>
    readNode({ id: `sidecar~${ip}~p.default~default.svc.cluster.local`, metadata: { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }])) } }).ipFamilies;
  it('from INSTANCE_IPS\'s valid entries, else the node id\'s address (istiod\'s order); entries that are not addresses left out; none at all: IPv4', () => {
    expect(at('10.0.0.5')).toEqual({ ipv4: true, ipv6: false });
    // The metadata wins over the node id, as istiod's ParseServiceNodeWithMetadata takes it.
    expect(at('10.0.0.5', { INSTANCE_IPS: 'fd00::5' })).toEqual({ ipv4: false, ipv6: true });
    expect(at('fd00::5', { INSTANCE_IPS: 'pod-a' })).toEqual({ ipv4: false, ipv6: true });
    expect(at('fd00::5')).toEqual({ ipv4: false, ipv6: true });
    expect(at('10.0.0.5', { INSTANCE_IPS: '10.0.0.5,fd00::5' })).toEqual({ ipv4: true, ipv6: true });
    expect(at('fd00::5', { INSTANCE_IPS: 'fd00::5, fd00::6' })).toEqual({ ipv4: false, ipv6: true });
    expect(at('pod-a', { INSTANCE_IPS: 'fd00::5,not-an-ip' })).toEqual({ ipv4: false, ipv6: true });
    expect(at('')).toEqual({ ipv4: true, ipv6: false });
  });

  it('keeps what it skipped, with why, for the control plane to warn of (host/common/instance-ips.ts, the sidecar\'s parser)', () => {
    const node = (ips: string) => readNode({ id: 'sidecar~10.0.0.5~p.default~default.svc.cluster.local', metadata: { fields: { INSTANCE_IPS: { stringValue: ips } } } });
    expect(node('fd00::5,pod-a,[fd00::6]').instanceIpsSkipped).toEqual(['"pod-a" is not an IP address', '"[fd00::6]" is not an IP address (write IPv6 without brackets)']);
    expect(node('fd00::5, ,10.0.0.5')).not.toHaveProperty('instanceIpsSkipped');
  });
});
