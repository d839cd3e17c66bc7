// Every API group and kind the loader knows, so a document's apiVersion/kind is sorted into
// read, known-but-skipped or unknown, and a misspelt kind gets the nearest known one as a
// suggestion. Istio kinds are listed per group (current Istio's CRDs); Kubernetes kinds are
// the common ones tutorials put beside Istio YAML, which wasmesh skips.
import type { z } from 'zod';
import { SPEC_SCHEMAS, type ServedKind } from './istio-schemas.js';
import { nearestName } from './nearest-name.js';
import { SECURITY_SPEC_SCHEMAS, type SecurityKind } from './security-schemas.js';
import { TELEMETRY_SPEC_SCHEMAS, type TelemetryKind } from './telemetry-schema.js';
import { RATE_LIMIT_GROUP, RATE_LIMIT_SPEC_SCHEMAS, RATE_LIMIT_VERSIONS, type RateLimitKind } from './rate-limit-schema.js';

/** Kinds read with a schema: the served networking kinds and the security kinds (checked, not enforced). */
export type ReadKind = ServedKind | SecurityKind | RateLimitKind | TelemetryKind;

export const READ_SCHEMAS: Record<ReadKind, z.ZodType> = { ...SPEC_SCHEMAS, ...SECURITY_SPEC_SCHEMAS, ...RATE_LIMIT_SPEC_SCHEMAS, ...TELEMETRY_SPEC_SCHEMAS };

export interface IstioGroup {
  /** Versions current Istio serves for the group. */
  versions: readonly string[];
  /** Kinds read (a schema in READ_SCHEMAS) or skipped with a warning (not served yet). */
  kinds: Readonly<Record<string, 'read' | 'not served'>>;
}

export const ISTIO_GROUPS: Readonly<Record<string, IstioGroup>> = {
  'networking.istio.io': {
    versions: ['v1', 'v1beta1', 'v1alpha3'],
    kinds: {
      Gateway: 'read',
      VirtualService: 'read',
      DestinationRule: 'read',
      ServiceEntry: 'read',
      WorkloadEntry: 'read',
      WorkloadGroup: 'not served',
      Sidecar: 'read',
      EnvoyFilter: 'not served',
      ProxyConfig: 'not served',
    },
  },
  'security.istio.io': {
    versions: ['v1', 'v1beta1'],
    kinds: { AuthorizationPolicy: 'read', PeerAuthentication: 'read', RequestAuthentication: 'read' },
  },
  'telemetry.istio.io': { versions: ['v1', 'v1alpha1'], kinds: { Telemetry: 'read' } },
  'extensions.istio.io': { versions: ['v1alpha1'], kinds: { WasmPlugin: 'not served' } },
  // IstioOperator: only spec.meshConfig is read (read-resource.ts → translate/mesh-settings.ts).
  'install.istio.io': { versions: ['v1alpha1'], kinds: { IstioOperator: 'not served' } },
  // wasmesh's own API (Istio has no rate-limit resource): read like the Istio kinds, beside them.
  [RATE_LIMIT_GROUP]: { versions: [...RATE_LIMIT_VERSIONS], kinds: { RateLimitPolicy: 'read' } },
};

/** Istio groups current Istio no longer serves (kubectl would refuse them), and what replaced them. */
export const REMOVED_ISTIO_GROUPS: Readonly<Record<string, string>> = {
  'authentication.istio.io': 'removed in Istio 1.6: mutual TLS is PeerAuthentication and JWT is RequestAuthentication (security.istio.io/v1)',
  'rbac.istio.io': 'removed in Istio 1.6: access control is AuthorizationPolicy (security.istio.io/v1)',
  'config.istio.io': 'removed with Mixer in Istio 1.8',
};

/**
 * Kubernetes kinds skipped with a warning, with their groups ('' is the core group; legacy
 * groups such as extensions/v1beta1 included, as old tutorials use them).
 */
export const KUBERNETES_KINDS: Readonly<Record<string, readonly string[]>> = {
  Service: [''],
  Pod: [''],
  ServiceAccount: [''],
  ConfigMap: [''],
  Secret: [''],
  Namespace: [''],
  Endpoints: [''],
  PersistentVolume: [''],
  PersistentVolumeClaim: [''],
  ReplicationController: [''],
  LimitRange: [''],
  ResourceQuota: [''],
  PodTemplate: [''],
  Deployment: ['apps', 'extensions'],
  StatefulSet: ['apps'],
  DaemonSet: ['apps', 'extensions'],
  ReplicaSet: ['apps', 'extensions'],
  Job: ['batch'],
  CronJob: ['batch'],
  HorizontalPodAutoscaler: ['autoscaling'],
  PodDisruptionBudget: ['policy'],
  Ingress: ['networking.k8s.io', 'extensions'],
  IngressClass: ['networking.k8s.io'],
  NetworkPolicy: ['networking.k8s.io', 'extensions'],
  Role: ['rbac.authorization.k8s.io'],
  RoleBinding: ['rbac.authorization.k8s.io'],
  ClusterRole: ['rbac.authorization.k8s.io'],
  ClusterRoleBinding: ['rbac.authorization.k8s.io'],
  CustomResourceDefinition: ['apiextensions.k8s.io'],
  MutatingWebhookConfiguration: ['admissionregistration.k8s.io'],
  ValidatingWebhookConfiguration: ['admissionregistration.k8s.io'],
  StorageClass: ['storage.k8s.io'],
  PriorityClass: ['scheduling.k8s.io'],
  EndpointSlice: ['discovery.k8s.io'],
  // The Kubernetes Gateway API: Istio serves it; wasmesh does not yet.
  GatewayClass: ['gateway.networking.k8s.io'],
  Gateway: ['gateway.networking.k8s.io'],
  HTTPRoute: ['gateway.networking.k8s.io'],
  GRPCRoute: ['gateway.networking.k8s.io'],
  TCPRoute: ['gateway.networking.k8s.io'],
  TLSRoute: ['gateway.networking.k8s.io'],
  ReferenceGrant: ['gateway.networking.k8s.io'],
};

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** The Istio group that defines `kind`, or null. */
export function istioGroupOf(kind: string): string | null {
  for (const [group, g] of Object.entries(ISTIO_GROUPS)) if (kind in g.kinds) return group;
  return null;
}

/** `apiVersion` to write for an Istio kind: its group and the group's first (newest) version. */
export function istioApiVersionOf(kind: string): string | null {
  const group = istioGroupOf(kind);
  return group === null ? null : `${group}/${ISTIO_GROUPS[group]!.versions[0]}`;
}

/**
 * " (did you mean X?)" for a misspelt kind, naming X's apiVersion when it lives in another
 * group than `group`; '' when no known kind is near. Istio kinds are preferred on a tie.
 */
export function kindSuggestion(kind: string, group: string): string {
  const istio = Object.values(ISTIO_GROUPS).flatMap((g) => Object.keys(g.kinds));
  const near = nearestName(kind, [...istio, ...Object.keys(KUBERNETES_KINDS)]);
  if (near === null) return '';
  const apiVersion = istioApiVersionOf(near);
  const where = apiVersion !== null && !apiVersion.startsWith(`${group}/`) ? ` (apiVersion: ${apiVersion})` : '';
  const caseOnly = near.toLowerCase() === kind.toLowerCase() ? '; kinds are case-sensitive' : '';
  return ` (did you mean ${near}${where}?${caseOnly})`;
}

/** " (did you mean networking.istio.io?)" for a misspelt Istio group; '' when none is near. */
export function groupSuggestion(group: string): string {
  const near = nearestName(group, Object.keys(ISTIO_GROUPS));
  return near === null ? '' : ` (did you mean ${near}?)`;
}
