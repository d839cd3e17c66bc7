// The CustomResourceDefinitions (apiextensions.k8s.io/v1) of every kind wasmesh reads
// (host/config/api-kinds.ts: the Istio networking, security and telemetry kinds, and wasmesh's
// own RateLimitPolicy), with Istio's names, short names, categories and served versions, and an
// OpenAPI schema generated from the same zod schemas the file loader uses (structural-schema.ts),
// so an API server validates `kubectl apply` of Istio YAML as `wasmesh proxy -f` reads it.
import { ISTIO_GROUPS, READ_SCHEMAS, type ReadKind } from '../config/api-kinds.js';
import { SECURITY_SPEC_SCHEMAS } from '../config/security-schemas.js';
import { RATE_LIMIT_GROUP } from '../config/rate-limit-schema.js';
import { structuralSchema, type StructuralSchema } from './structural-schema.js';

/** Istio's short names (`kubectl get vs`), as its crd-all.gen.yaml declares them. */
const SHORT_NAMES: Readonly<Partial<Record<ReadKind, readonly string[]>>> = {
  VirtualService: ['vs'],
  DestinationRule: ['dr'],
  Gateway: ['gw'],
  ServiceEntry: ['se'],
  WorkloadEntry: ['we'],
  AuthorizationPolicy: ['ap'],
  PeerAuthentication: ['pa'],
  RequestAuthentication: ['ra'],
  Telemetry: ['telemetry'],
  RateLimitPolicy: ['rlp'],
};

/**
 * The version each group stores in etcd (the messages are the same in every version, so no
 * conversion is needed). Networking moved its storage to v1 in Istio 1.27 (istio/api#3498);
 * security and telemetry keep the beta/alpha storage Istio's CRDs had before.
 */
const STORAGE_VERSION: Readonly<Record<string, string>> = {
  'networking.istio.io': 'v1',
  'security.istio.io': 'v1beta1',
  'telemetry.istio.io': 'v1alpha1',
  [RATE_LIMIT_GROUP]: 'v1alpha1',
};

/** Printer columns for `kubectl get`, Istio's for the kinds that have them, then Age. */
const COLUMNS: Readonly<Partial<Record<ReadKind, ReadonlyArray<{ name: string; jsonPath: string; type: string; description: string }>>>> = {
  VirtualService: [
    { name: 'Gateways', type: 'string', jsonPath: '.spec.gateways', description: 'The names of gateways and sidecars that should apply these routes' },
    { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts', description: 'The destination hosts to which traffic is being sent' },
  ],
  DestinationRule: [{ name: 'Host', type: 'string', jsonPath: '.spec.host', description: 'The name of a service from the service registry' }],
  ServiceEntry: [
    { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts', description: 'The hosts associated with the ServiceEntry' },
    { name: 'Location', type: 'string', jsonPath: '.spec.location', description: 'Whether the service is external to the mesh or part of the mesh (MESH_EXTERNAL or MESH_INTERNAL)' },
    { name: 'Resolution', type: 'string', jsonPath: '.spec.resolution', description: 'Service resolution mode for the hosts (NONE, STATIC, or DNS)' },
  ],
  WorkloadEntry: [{ name: 'Address', type: 'string', jsonPath: '.spec.address', description: 'Address associated with the network endpoint' }],
  AuthorizationPolicy: [{ name: 'Action', type: 'string', jsonPath: '.spec.action', description: 'The operation to take' }],
  PeerAuthentication: [{ name: 'Mode', type: 'string', jsonPath: '.spec.mtls.mode', description: 'Defines the mTLS mode used for peer authentication' }],
};

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: Array<{
      name: string;
      served: true;
      storage: boolean;
      schema: { openAPIV3Schema: StructuralSchema };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: Array<{ name: string; type: string; jsonPath: string; description: string }>;
    }>;
  };
}

/** One generated CRD and the places its schema keeps unknown fields. */
export interface GeneratedCrd {
  crd: CustomResourceDefinition;
  /** Paths under spec that are x-kubernetes-preserve-unknown-fields (structural-schema.ts says why). */
  preserved: string[];
}

/** `serviceentries`, `authorizationpolicies`, `telemetries`, `gateways`. */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('y') && !/[aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (lower.endsWith('s')) return `${lower}es`;
  return `${lower}s`;
}

/** The CRDs of every kind read, in api-kinds.ts's order (networking, security, telemetry, wasmesh). */
export function istioCrds(): GeneratedCrd[] {
  const out: GeneratedCrd[] = [];
  for (const [group, info] of Object.entries(ISTIO_GROUPS)) {
    for (const [kind, status] of Object.entries(info.kinds)) {
      if (status !== 'read') continue;
      out.push(crdOf(group, info.versions, kind as ReadKind));
    }
  }
  return out;
}

function crdOf(group: string, versions: readonly string[], kind: ReadKind): GeneratedCrd {
  const istio = group.endsWith('.istio.io');
  // Istio's `message()` reads proto field names too; wasmesh's own API does not.
  const { schema: spec, preserved } = structuralSchema(READ_SCHEMAS[kind], { protoNames: istio });
  const root: StructuralSchema = {
    type: 'object',
    properties: {
      spec: { ...spec, description: `${kind} (${group}), validated with the schema wasmesh's loader uses.` },
      // Written by controllers; kept as is (Istio's own status schema is not modelled here).
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
    // A security policy without spec is the empty policy (read-resource.ts); the others need one.
    ...(kind in SECURITY_SPEC_SCHEMAS ? {} : { required: ['spec'] }),
  };
  const plural = pluralOf(kind);
  const domain = group.replace(/\./g, '-');
  const storage = STORAGE_VERSION[group] ?? versions[versions.length - 1]!;
  const shortNames = SHORT_NAMES[kind];
  const crd: CustomResourceDefinition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, labels: { 'app.kubernetes.io/part-of': 'wasmesh' } },
    spec: {
      group,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        ...(shortNames !== undefined ? { shortNames: [...shortNames] } : {}),
        categories: istio ? ['istio-io', domain] : ['wasmesh-io', domain],
      },
      scope: 'Namespaced',
      versions: versions.map((name) => ({
        name,
        served: true as const,
        storage: name === storage,
        schema: { openAPIV3Schema: structuredClone(root) },
        subresources: { status: {} },
        additionalPrinterColumns: [...(COLUMNS[kind] ?? []), { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' }],
      })),
    },
  };
  return { crd, preserved };
}
