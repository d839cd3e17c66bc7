// Zod schemas for the Kubernetes objects read as a service registry in file mode (issue 16):
// core/v1 Service, Endpoints and Pod, discovery.k8s.io/v1 EndpointSlice. Only the fields the
// registry uses are typed (after k8s.io/api's types, with the API server's own limits); the rest
// of an object is kept as written, since tutorials paste whole manifests (`kubectl get -o yaml`
// output included) and Kubernetes itself validates them where they come from.
import { z } from 'zod';
import { objectMeta } from './istio-schemas.js';

const str = z.string();
const labels = z.record(z.string(), z.string());
const port = z.int().min(1, 'port must be in 1..65535').max(65_535, 'port must be in 1..65535');
/** A port name (IANA_SVC_NAME): what a targetPort string and an EndpointSlice port name must be. */
const portName = str.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a port name (lower-case letters, digits, "-")').max(63, 'must be at most 63 characters');
const protocol = z.enum(['TCP', 'UDP', 'SCTP']);

/** k8s.io/api core/v1 ServicePort. */
export const kubeServicePort = z.looseObject({
  name: portName.optional(),
  protocol: protocol.optional(),
  appProtocol: str.optional(),
  port,
  // IntOrString: a number, or the name of a container port.
  targetPort: z.union([port, portName]).optional(),
  nodePort: z.int().optional(),
});

export const kubeServiceSpec = z.looseObject({
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
  selector: labels.optional(),
  ports: z.array(kubeServicePort).optional(),
  clusterIP: str.optional(),
  clusterIPs: z.array(str).optional(),
  externalName: str.optional(),
});

const objectReference = z.looseObject({ kind: str.optional(), name: str.optional(), namespace: str.optional() });

/** discovery.k8s.io/v1 EndpointSlice: its fields sit at the top level, beside metadata. */
export const endpointSliceObject = z.looseObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  endpoints: z.array(z.looseObject({
    addresses: z.array(str).min(1, 'an endpoint needs at least one address'),
    // Absent or null: unknown, which consumers treat as ready (the API's documented default).
    conditions: z.looseObject({ ready: z.boolean().nullable().optional(), serving: z.boolean().nullable().optional(), terminating: z.boolean().nullable().optional() }).optional(),
    hostname: str.optional(),
    targetRef: objectReference.optional(),
    nodeName: str.optional(),
    zone: str.optional(),
  })).nullable().optional(),
  ports: z.array(z.looseObject({
    name: z.union([portName, z.literal('')]).nullable().optional(),
    protocol: protocol.nullable().optional(),
    port: port.nullable().optional(),
    appProtocol: str.nullable().optional(),
  })).nullable().optional(),
});

const endpointAddress = z.looseObject({ ip: str.min(1, 'ip is required'), hostname: str.optional(), targetRef: objectReference.optional() });

/** core/v1 Endpoints: subsets of addresses (ready), notReadyAddresses and ports. */
export const endpointsObject = z.looseObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  subsets: z.array(z.looseObject({
    addresses: z.array(endpointAddress).optional(),
    notReadyAddresses: z.array(endpointAddress).optional(),
    ports: z.array(z.looseObject({ name: z.union([portName, z.literal('')]).optional(), port, protocol: protocol.optional(), appProtocol: str.optional() })).optional(),
  })).optional(),
});

export const serviceObject = z.looseObject({ apiVersion: str, kind: str, metadata: objectMeta, spec: kubeServiceSpec.optional(), status: z.unknown().optional() });

/** core/v1 Pod: its labels, and its address once it has one (status.podIP, as `kubectl get -o yaml` shows it). */
export const podObject = z.looseObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: z.unknown().optional(),
  status: z.looseObject({
    podIP: str.optional(),
    phase: str.optional(),
    conditions: z.array(z.looseObject({ type: str, status: str })).optional(),
  }).optional(),
});

export const KUBE_OBJECT_SCHEMAS = { Service: serviceObject, EndpointSlice: endpointSliceObject, Endpoints: endpointsObject, Pod: podObject } as const;
export type KubeKind = keyof typeof KUBE_OBJECT_SCHEMAS;
/** The group each read Kubernetes kind lives in ('' is the core group). */
export const KUBE_KIND_GROUPS: Readonly<Record<KubeKind, string>> = { Service: '', EndpointSlice: 'discovery.k8s.io', Endpoints: '', Pod: '' };

export type KubeService = z.infer<typeof serviceObject>;
export type KubeServicePort = z.infer<typeof kubeServicePort>;
export type KubeEndpointSlice = z.infer<typeof endpointSliceObject>;
export type KubeEndpoints = z.infer<typeof endpointsObject>;
export type KubePod = z.infer<typeof podObject>;
