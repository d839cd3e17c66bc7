// Envoy `metadata` naming the Istio resource a route or cluster was translated from, as istiod
// writes it (BuildConfigInfoMetadata): `filter_metadata.istio.config` =
// `/apis/<group>/<version>/namespaces/<ns>/<kebab-case kind>/<name>`, with the version istiod
// uses internally for networking kinds (v1alpha3) whatever version the resource was written in.
// istioctl proxy-config reads it for its VIRTUAL SERVICE and DESTINATION RULE columns.
import type { IstioConfigName } from '../model/mesh.js';

type Obj = Record<string, unknown>;

export type NetworkingKind = 'virtual-service' | 'destination-rule';

/** The metadata for `ref` of `kind`, or null when there is none (Envoy then carries no `metadata`). */
export function istioConfigMetadata(kind: NetworkingKind, ref: IstioConfigName | undefined): Obj | null {
  if (ref === undefined) return null;
  return { filter_metadata: { istio: { config: `/apis/networking.istio.io/v1alpha3/namespaces/${ref.namespace}/${kind}/${ref.name}` } } };
}
