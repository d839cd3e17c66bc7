// What loadConfig returns: the Istio resources as read (for config_dump and later issues), the
// resolved MeshConfig the data path serves, the warnings of the load, and the files read.
import type { MeshConfig } from '../model/mesh.js';
import type { ReadKind } from './api-kinds.js';

export interface LoadOptions {
  /** `name` or `namespace/name` of the Gateway to serve (ingress mode); absent: mesh mode. */
  gateway?: string;
  /** Namespace of resources without metadata.namespace, and the proxy's own namespace. */
  namespace?: string;
  /**
   * The proxy's own workload labels (the CLI's `--labels k=v,…`): a VirtualService match
   * block with `sourceLabels` applies only when every one of its pairs is among these, so with
   * none given, every block that names sourceLabels is dropped. `sourceNamespace` compares
   * with `namespace`.
   */
  labels?: Record<string, string>;
  /**
   * The CLI's `--allow-unenforced-security`. Without it, a resource asking for protection
   * wasmesh cannot enforce yet (PeerAuthentication STRICT without an identity,
   * RequestAuthentication, DestinationRule or Gateway TLS) fails the load; with it, each is
   * skipped with a warning that says the protection is NOT enforced.
   */
  allowUnenforcedSecurity?: boolean;
  /**
   * The proxy runs with a workload certificate (ProxyRuntimeOptions.workloadCertificates):
   * DestinationRule ISTIO_MUTUAL and Istio's auto mTLS (endpoints labelled
   * security.istio.io/tlsMode: istio) are enforced. Without it ISTIO_MUTUAL is refused (or,
   * with allowUnenforcedSecurity, served plaintext with a NOT ENFORCED warning) and auto mTLS
   * does not apply.
   */
  workloadIdentity?: boolean;
  /**
   * The mesh's SPIFFE trust domain (the CA's `--trust-domain`; default cluster.local): a WorkloadEntry's
   * serviceAccount becomes the expected identity spiffe://<trustDomain>/ns/<ns>/sa/<sa>.
   */
  trustDomain?: string;
  /**
   * The CLI's `--credentials-dir`: where a `credentialName` is found, laid out as Kubernetes
   * TLS secrets (`<dir>/<name>/tls.crt`, `tls.key`, `ca.crt`; translate/credential-files.ts).
   */
  credentialsDir?: string;
}

export interface LoadedResource {
  kind: ReadKind;
  apiVersion: string;
  namespace: string;
  name: string;
  file: string;
  /** 1-based document number in `file`. */
  doc: number;
  /** 1-based line where the document starts. */
  line: number;
  /** The validated spec, field names in Istio's JSON form (proto names renamed). */
  spec: unknown;
  /** metadata.annotations, when the document has any (AuthorizationPolicy reads istio.io/dry-run). */
  annotations?: Readonly<Record<string, string>>;
}

export interface LoadedConfig {
  /** The resources in effect, in load order; a later definition of kind/namespace/name replaced the earlier. */
  resources: LoadedResource[];
  mesh: MeshConfig;
  /** Everything accepted but not (fully) served, and every replaced or skipped document. */
  warnings: string[];
  /** Every file read, in load order, for the file watcher. */
  files: string[];
}

export const DEFAULT_NAMESPACE = 'default';
