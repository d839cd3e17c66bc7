// Everything `wasmesh install` puts in a cluster, as objects in apply order (istioctl manifest
// generate's role): the CRDs, namespace istio-system, the control plane's ServiceAccount and
// ClusterRole + binding (the rules of control-plane-rbac.ts, which the control plane's own tests
// run under), the mesh config ConfigMap `istio` (key `mesh`),
// the plug-in CA Secret `cacerts` when a CA directory is given, the control plane Deployment and
// Service `istiod` (Istio's names and ports, so injected sidecars find it at
// istiod.istio-system.svc:15012) and the injection webhook's MutatingWebhookConfiguration. Pure:
// the same options give the same objects, so re-applying them changes nothing.
import { istioCrds } from './istio-crds.js';
import { rbacRules } from './control-plane-rbac.js';
import { injectionWebhookConfiguration, WEBHOOK_CONFIG_NAME } from './injection-webhook-config.js';
import type { MeshConfig } from './mesh-config.js';
import type { KubeObject } from './kube-object.js';

export const INSTALL_NAMESPACE = 'istio-system';
export const CONTROL_PLANE_NAME = 'istiod';
export const CLUSTER_ROLE_NAME = `istiod-clusterrole-${INSTALL_NAMESPACE}`;
export const MESH_CONFIGMAP_NAME = 'istio';
/** Istio's plug-in CA Secret (root-cert.pem, ca-cert.pem, ca-key.pem, cert-chain.pem). */
export const CA_SECRET_NAME = 'cacerts';
/** The files of a CA directory the control plane needs to start on a read-only mount. */
export const CA_SECRET_FILES = ['root-cert.pem', 'ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'token-key.pem'] as const;

/** Where the container mounts its volumes. */
const CA_DIR = '/var/run/wasmesh/ca';
const MESH_DIR = '/etc/istio/config';

/** Istio's ports for istiod, container and Service. */
export const CONTROL_PLANE_PORTS = [
  { name: 'grpc-xds', port: 15010, targetPort: 15010 },
  { name: 'https-dns', port: 15012, targetPort: 15012 },
  { name: 'https-webhook', port: 443, targetPort: 15017 },
  { name: 'http-monitoring', port: 15014, targetPort: 15014 },
] as const;

export interface InstallOptions {
  /** The wasmesh image: the control plane runs its `control-plane` mode, the webhook injects it. */
  image: string;
  mesh: MeshConfig;
  /** A CA directory's files (CA_SECRET_FILES, PEM): the Secret `cacerts` and the webhook's caBundle. Without: an emptyDir. */
  caFiles?: Readonly<Record<string, string>>;
  failurePolicy?: 'Fail' | 'Ignore';
  /**
   * The cluster's IP families, first the primary (Istio's values.global.ipFamilies): with IPv6 the
   * control plane listens on `[::]` (dual-stack sockets) and Service istiod asks for these
   * families (ipFamilyPolicy SingleStack, or RequireDualStack for two). Default IPv4: 0.0.0.0 and
   * the cluster's own Service defaults.
   */
  ipFamilies?: ReadonlyArray<'IPv4' | 'IPv6'>;
}

const PART_OF = { 'app.kubernetes.io/part-of': 'wasmesh' };
const POD_LABELS = { app: CONTROL_PLANE_NAME, istio: 'pilot' };

export function installManifests(opts: InstallOptions): KubeObject[] {
  const crds = istioCrds().map((g) => g.crd as unknown as KubeObject);
  const labels = { ...POD_LABELS, 'istio.io/rev': 'default', ...PART_OF };
  const ns = INSTALL_NAMESPACE;
  const caBundle = opts.caFiles?.['root-cert.pem'];
  const webhook = injectionWebhookConfiguration({
    ...(caBundle !== undefined ? { caBundlePem: caBundle } : {}),
    failurePolicy: opts.failurePolicy ?? 'Fail',
  }) as unknown as KubeObject;
  return [
    ...crds,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { ...PART_OF } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CONTROL_PLANE_NAME, namespace: ns, labels } },
    // No namespaced Role: nothing the control plane reads or writes is confined to istio-system.
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
      metadata: { name: CLUSTER_ROLE_NAME, labels },
      rules: rbacRules({ webhookConfigName: WEBHOOK_CONFIG_NAME }),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
      metadata: { name: CLUSTER_ROLE_NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CLUSTER_ROLE_NAME },
      subjects: [{ kind: 'ServiceAccount', name: CONTROL_PLANE_NAME, namespace: ns }],
    },
    {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: MESH_CONFIGMAP_NAME, namespace: ns, labels: { 'istio.io/rev': 'default', ...PART_OF } },
      data: { mesh: opts.mesh.text },
    },
    ...(opts.caFiles !== undefined ? [caSecret(opts.caFiles)] : []),
    controlPlaneDeployment(opts, labels),
    {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: CONTROL_PLANE_NAME, namespace: ns, labels },
      spec: {
        selector: POD_LABELS,
        ...(opts.ipFamilies !== undefined && opts.ipFamilies.includes('IPv6') ? { ipFamilyPolicy: opts.ipFamilies.length > 1 ? 'RequireDualStack' : 'SingleStack', ipFamilies: [...opts.ipFamilies] } : {}),
        ports: CONTROL_PLANE_PORTS.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: 'TCP' })),
      },
    },
    webhook,
  ];
}

function caSecret(files: Readonly<Record<string, string>>): KubeObject {
  const data: Record<string, string> = {};
  for (const name of CA_SECRET_FILES) {
    const text = files[name];
    if (text === undefined) throw new Error(`the CA Secret needs ${name}`);
    data[name] = Buffer.from(text).toString('base64');
  }
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: CA_SECRET_NAME, namespace: INSTALL_NAMESPACE, labels: { ...PART_OF } },
    data,
  };
}

function controlPlaneDeployment(opts: InstallOptions, labels: Record<string, string>): KubeObject {
  // One dual-stack socket per port on a cluster with IPv6; 0.0.0.0 otherwise ([::] fails where a node's kernel has no IPv6).
  const any = (port: number): string => `${(opts.ipFamilies ?? []).includes('IPv6') ? '[::]' : '0.0.0.0'}:${port}`;
  const args = [
    'control-plane',
    '--kube',
    '--xds-listen', any(15010),
    '--monitoring', any(15014),
    '--ca-dir', CA_DIR,
    '--secure-listen', any(15012),
    '--trust-domain', opts.mesh.injectDefaults.trustDomain,
    // The pods' istio-token (audience istio-ca) is their identity: a TokenReview per new token.
    '--kube-tokens',
    '--webhook-listen', any(15017),
    '--webhook-image', opts.image,
    '--webhook-mesh-config', `${MESH_DIR}/mesh`,
    // The configuration the manifests create, the ClusterRole names, and the control plane patches: one name.
    '--webhook-config-name', WEBHOOK_CONFIG_NAME,
  ];
  // The CA: Istio's plug-in Secret, read-only (every file present, token-key.pem included, so
  // nothing is written), or an emptyDir where the control plane generates a root at start —
  // lost when the pod is replaced (docs/kubernetes.md, "Install").
  const caVolume = opts.caFiles !== undefined
    ? { name: 'cacerts', secret: { secretName: CA_SECRET_NAME, defaultMode: 0o440 } }
    : { name: 'cacerts', emptyDir: {} };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: CONTROL_PLANE_NAME, namespace: INSTALL_NAMESPACE, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: POD_LABELS },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: '25%' } },
      template: {
        metadata: {
          labels: { ...POD_LABELS, 'istio.io/rev': 'default', 'sidecar.istio.io/inject': 'false' },
          annotations: { 'sidecar.istio.io/inject': 'false', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '15014' },
        },
        spec: {
          serviceAccountName: CONTROL_PLANE_NAME,
          securityContext: { runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337, fsGroup: 1337, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'discovery',
            image: opts.image,
            args,
            ports: [
              { name: 'grpc-xds', containerPort: 15010, protocol: 'TCP' },
              { name: 'https-dns', containerPort: 15012, protocol: 'TCP' },
              { name: 'https-webhook', containerPort: 15017, protocol: 'TCP' },
              { name: 'http-monitoring', containerPort: 15014, protocol: 'TCP' },
            ],
            // /ready on the monitoring port: 200 once every watched kind was listed and the config read.
            readinessProbe: { httpGet: { path: '/ready', port: 15014 }, initialDelaySeconds: 1, periodSeconds: 3, timeoutSeconds: 5 },
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
            ],
            // Measured: 125 MiB RSS with 1,000 Services (docs/kubernetes.md); room for growth under the limit.
            resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
            securityContext: {
              allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
              runAsUser: 1337, runAsGroup: 1337, capabilities: { drop: ['ALL'] },
            },
            volumeMounts: [
              { name: 'cacerts', mountPath: CA_DIR, ...(opts.caFiles !== undefined ? { readOnly: true } : {}) },
              { name: 'config-volume', mountPath: MESH_DIR, readOnly: true },
              // The root filesystem is read-only; node and its libraries may still want a /tmp.
              { name: 'tmp', mountPath: '/tmp' },
            ],
          }],
          volumes: [
            caVolume,
            { name: 'config-volume', configMap: { name: MESH_CONFIGMAP_NAME } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}
