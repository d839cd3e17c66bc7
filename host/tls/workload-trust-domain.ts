// The trust domain a proxy's own workload identity belongs to, for the config load
// (LoadOptions.trustDomain: the domain of the SPIFFE IDs it expects its mesh peers to prove).
// A source that knows it before the first certificate says so (the CA client, from its flags);
// otherwise the certificate in hand tells (mounted files are read at start). Neither: undefined,
// and the load takes Istio's default, cluster.local.
import { parseSpiffeId } from '../identity/spiffe-id.js';
import type { WorkloadCertificateSource } from './workload-certificate.js';

export function trustDomainOf(source: WorkloadCertificateSource | undefined): string | undefined {
  if (source === undefined) return undefined;
  if (source.trustDomain !== undefined) return source.trustDomain;
  const held = source.current();
  if (held === null) return undefined;
  try {
    return parseSpiffeId(held.identity).trustDomain;
  } catch {
    return undefined;
  }
}
