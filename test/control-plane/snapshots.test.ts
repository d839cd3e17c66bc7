// ResourceEncoder: an Envoy resource whose translation is unchanged keeps its encoding (the same
// object, version and bytes) across config versions, a changed one is encoded anew with a new
// version, and what neither the current nor the previous version used is let go.
import { describe, expect, it } from 'vitest';
import { ResourceEncoder, envoySnapshot } from '../../host/control-plane/snapshots.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';

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
});
