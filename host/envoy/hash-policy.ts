// DestinationRule consistentHash in Envoy's two halves, as Pilot splits it: the cluster gets
// the table (RING_HASH with ring_hash_lb_config, or MAGLEV with maglev_lb_config) and every
// route that sends to it gets the request value to hash (route hash_policy: header, cookie,
// source IP, query parameter). Both use xxHash64 over the same strings, so Envoy and wasmesh
// place keys alike.
import type { HashKeySource, HashLbDescriptor } from '../model/hash-lb.js';
import { DEFAULT_MAX_RING_SIZE } from '../model/istio-defaults.js';
import { envoyDuration } from './duration.js';
import type { Obj } from './istio-resources.js';

/** The cluster fields of a consistent-hash cluster: lb_policy and its table's configuration. */
export function envoyHashTable(hash: HashLbDescriptor): Obj {
  const t = hash.table;
  if (t.kind === 'maglev') return { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: t.tableSize } };
  const ring: Obj = { minimum_ring_size: t.minimumRingSize };
  if (t.maximumRingSize !== DEFAULT_MAX_RING_SIZE) ring.maximum_ring_size = t.maximumRingSize;
  return { lb_policy: 'RING_HASH', ring_hash_lb_config: ring };
}

/** The route hash_policy entry for a key, or null when the policy names none (random picks). */
export function envoyHashPolicy(key: HashKeySource): Obj | null {
  switch (key.kind) {
    case 'header':
      return { header: { header_name: key.name } };
    case 'cookie': {
      const cookie: Obj = { name: key.name };
      // A ttl (0 included: a session cookie) makes Envoy generate the cookie when absent.
      if (key.ttlMs !== null) cookie.ttl = envoyDuration(key.ttlMs);
      if (key.path !== null) cookie.path = key.path;
      if (key.attributes.length > 0) cookie.attributes = key.attributes.map((a) => (a.value === null ? { name: a.name } : { name: a.name, value: a.value }));
      return { cookie };
    }
    case 'sourceIp':
      return { connection_properties: { source_ip: true } };
    case 'queryParameter':
      return { query_parameter: { name: key.name } };
    case 'none':
      return null;
  }
}
