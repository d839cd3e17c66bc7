// ResourceEncoder: an Envoy resource whose translation is unchanged keeps its encoding (the same
// object, version and bytes) across config versions, a changed one is encoded anew with a new
// version, and what neither the current nor the previous version used is let go.
import { describe, expect, it } from 'vitest';
import { ResourceEncoder, envoySnapshot } from '../../host/control-plane/snapshots.js';
import { TYPE_URL, envoyProtos } from '../../host/xds/envoy-protos.js';
import { anyFromJson } from '../../host/xds/proto-json.js';

const cluster = (name: string, timeout: string) => ({ name, type: 'EDS', connect_timeout: timeout, eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name } });

describe('ResourceEncoder', () => {
  it('reuses unchanged resources across versions and encodes changed ones anew', () => {
    const enc = new ResourceEncoder();
    const a1 = enc.encode(TYPE_URL.cluster, 'a', cluster('a', '1s'));
    const b1 = enc.encode(TYPE_URL.cluster, 'b', cluster('b', '1s'));
    enc.nextVersion();
    const a2 = enc.encode(TYPE_URL.cluster, 'a', cluster('a', '1s'));
    const b2 = enc.encode(TYPE_URL.cluster, 'b', cluster('b', '2s'));
    expect(a2).toBe(a1);
    expect(b2.version).not.toBe(b1.version);
    expect(Buffer.from(b2.body.value).equals(Buffer.from(b1.body.value))).toBe(false);
    // The same bytes as encoding without the cache.
    const fresh = envoySnapshot({ listeners: [], routes: [], clusters: [cluster('b', '2s')], endpoints: [] });
    expect(fresh.get(TYPE_URL.cluster)!.resources.get('b')!.version).toBe(b2.version);
    // b at 1s was used by neither of the last two versions: encoded again (a new object).
    enc.nextVersion();
    enc.nextVersion();
    expect(enc.encode(TYPE_URL.cluster, 'b', cluster('b', '1s'))).not.toBe(b1);
  });

  it('encodes a route configuration host by host: the same message, a changed host encoded alone', () => {
    const host = (i: number, timeout: string) => ({ name: `svc-${i}`, domains: [`svc-${i}`, `svc-${i}:80`], routes: [{ match: { prefix: '/' }, route: { cluster: `outbound|80||svc-${i}`, timeout } }] });
    const rc = (t: string) => ({ name: '0.0.0.0_15001/80', virtual_hosts: [host(0, t), host(1, '1s'), host(2, '1s')], validate_clusters: false });
    const type = envoyProtos().lookupType('envoy.config.route.v3.RouteConfiguration');
    const enc = new ResourceEncoder();
    const r1 = enc.encode(TYPE_URL.route, 'r', rc('1s'));
    // Decodes to what encoding the whole configuration at once decodes to.
    const whole = anyFromJson(envoyProtos(), TYPE_URL.route, rc('1s')).value;
    expect(type.toObject(type.decode(r1.body.value))).toEqual(type.toObject(type.decode(whole)));
    expect(r1.body.value.length).toBe(whole.length);
    enc.nextVersion();
    expect(enc.encode(TYPE_URL.route, 'r', rc('1s'))).toBe(r1);
    const r2 = enc.encode(TYPE_URL.route, 'r', rc('2s'));
    expect(r2.version).not.toBe(r1.version);
    const decoded = type.toObject(type.decode(r2.body.value), { longs: Number }) as { virtual_hosts: Array<{ routes: Array<{ route: { timeout: { seconds: number } } }> }> };
    expect(decoded.virtual_hosts.map((v) => v.routes[0]!.route.timeout.seconds)).toEqual([2, 1, 1]);
    // The unchanged hosts' bytes were reused: the same bytes as a fresh encoder's.
    expect(Buffer.from(r2.body.value).equals(Buffer.from(new ResourceEncoder().encode(TYPE_URL.route, 'r', rc('2s')).body.value))).toBe(true);
  });
});
