import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { decodePeerMetadata, encodePeerMetadata, PeerCache } from '../../host/telemetry/peer-metadata.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { RepeatedValues } from '../../host/common/repeated-values.js';

const STRUCT = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto')!).lookupType('google.protobuf.Struct');

describe('x-envoy-peer-metadata', () => {
  const w = workloadMetadata({
    name: 'reviews-v2', namespace: 'shop', labels: { app: 'reviews', version: 'v2' }, cluster: 'east', principal: 'spiffe://cluster.local/ns/shop/sa/bookinfo-reviews',
    nodeId: 'sidecar~10.0.0.7~reviews-v2-7d9f8c6b5-x2k4q.shop~shop.svc.cluster.local', instanceIp: '10.0.0.7',
  });

  it('is base64 of a google.protobuf.Struct with Istio\'s node metadata keys', () => {
    const decoded = STRUCT.toObject(STRUCT.decode(Buffer.from(encodePeerMetadata(w), 'base64'))) as { fields: Record<string, { stringValue?: string; structValue?: { fields: Record<string, { stringValue: string }> } }> };
    const f = decoded.fields;
    expect(f['NAME']!.stringValue).toBe('reviews-v2-7d9f8c6b5-x2k4q');
    expect(f['NAMESPACE']!.stringValue).toBe('shop');
    expect(f['WORKLOAD_NAME']!.stringValue).toBe('reviews-v2');
    expect(f['CLUSTER_ID']!.stringValue).toBe('east');
    expect(f['SERVICE_ACCOUNT']!.stringValue).toBe('bookinfo-reviews');
    expect(f['INSTANCE_IPS']!.stringValue).toBe('10.0.0.7');
    expect(f['OWNER']!.stringValue).toBe('kubernetes://apis/apps/v1/namespaces/shop/deployments/reviews-v2');
    expect(f['LABELS']!.structValue!.fields['version']!.stringValue).toBe('v2');
  });

  it('round-trips through decode, and the cache derives Istio\'s labels', () => {
    const m = decodePeerMetadata(encodePeerMetadata(w))!;
    expect(m).toMatchObject({ workloadName: 'reviews-v2', namespace: 'shop', cluster: 'east', labels: { app: 'reviews', version: 'v2' } });
    const labels = new PeerCache().labelsOf(encodePeerMetadata(w));
    expect(labels).toEqual({ workload: 'reviews-v2', namespace: 'shop', app: 'reviews', version: 'v2', canonicalService: 'reviews', canonicalRevision: 'v2', cluster: 'east' });
  });

  it('a value that is not base64 of a Struct is an unknown peer (null), never a throw', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      const r = decodePeerMetadata(s);
      expect(r === null || typeof r === 'object').toBe(true);
    }));
    expect(decodePeerMetadata('not base64!')).toBeNull();
    expect(decodePeerMetadata(Buffer.from([0xff, 0xff, 0xff]).toString('base64'))).toBeNull();
    expect(new PeerCache().labelsOf('%%%')).toBeNull();
  });

  it('a peer that names no labels gets Istio\'s fallbacks (canonical service = workload name, revision latest)', () => {
    const bare = Buffer.from(STRUCT.encode(STRUCT.fromObject({ fields: { WORKLOAD_NAME: { stringValue: 'ratings' } } })).finish()).toString('base64');
    expect(new PeerCache().labelsOf(bare)).toEqual({ workload: 'ratings', namespace: 'unknown', app: 'unknown', version: 'unknown', canonicalService: 'ratings', canonicalRevision: 'latest', cluster: 'unknown' });
  });

  it('a peer whose metadata changes under the same node id (a relabelled pod) is read with its new labels, per request', () => {
    // As the listener reads the field (one kept value per field name) and the filter looks it up:
    // the cache is keyed by the value, not by the peer's id (Istio's), so a change is never stale.
    const slots = new RepeatedValues(['x-envoy-peer-metadata']);
    const slot = slots.slotOf('x-envoy-peer-metadata')!;
    const cache = new PeerCache();
    const relabelled = workloadMetadata({ ...{ name: 'reviews-v2', namespace: 'shop', cluster: 'east', nodeId: w.nodeId, instanceIp: '10.0.0.7' }, labels: { app: 'reviews', version: 'v3' } });
    const read = (value: string): string => {
      const mem = Buffer.from(`xx${value}yy`, 'latin1');
      return RepeatedValues.value(slot, mem, 2, 2 + value.length);
    };
    const before = encodePeerMetadata(w);
    const after = encodePeerMetadata(relabelled);
    expect(after).not.toBe(before);
    expect(cache.labelsOf(read(before))!.version).toBe('v2');
    expect(cache.labelsOf(read(before))!.version).toBe('v2');
    expect(cache.labelsOf(read(after))!.version).toBe('v3');
    expect(cache.labelsOf(read(after))!.version).toBe('v3');
    expect(cache.labelsOf(read(before))!.version).toBe('v2');
  });

  it('decodes each distinct value once, and stays bounded under a flood of distinct values', () => {
    const cache = new PeerCache();
    const v = encodePeerMetadata(w);
    expect(cache.labelsOf(v)).toBe(cache.labelsOf(v));
    for (let i = 0; i < 3000; i++) cache.labelsOf(encodePeerMetadata(workloadMetadata({ name: `w${i}` })));
    expect(cache.labelsOf(v)).toEqual(new PeerCache().labelsOf(v));
  });
});
