// The Kubernetes API access `wasmesh control-plane` needs, as ClusterRole rules: one list for
// docs/kubernetes.md ("RBAC the control plane needs"), `wasmesh install`'s ClusterRole, and the
// test that runs the control plane as a ServiceAccount bound to exactly these rules against a
// real API server (so a missing verb fails there, not in a user's cluster). Per feature:
// `--kube` (watches), `--kube` with `--ca-dir` (root-cert ConfigMaps, the webhook's caBundle),
// rejected objects (Events), `--kube-tokens` (TokenReview). Least privilege where Kubernetes
// allows it: the webhook configuration is named (`resourceNames`), so the control plane can read
// and patch its own injector's configuration and no other admission webhook's.
import { ISTIO_GROUPS } from '../config/api-kinds.js';
import { WEBHOOK_CONFIG_NAME } from './injection-webhook-config.js';
import { pluralOf } from './istio-crds.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** Only these objects (a get, patch, or a list/watch with `fieldSelector=metadata.name=<one of them>`). */
  resourceNames?: string[];
  /** What the control plane does with it (for the docs; not part of a ClusterRole). */
  why: string;
}

export interface RbacOptions {
  /** The MutatingWebhookConfiguration whose caBundle the control plane keeps (`--webhook-config-name`); default istio-sidecar-injector. */
  webhookConfigName?: string;
}

/** The rules; `rbacRules()` strips `why` for a ClusterRole. */
export function controlPlaneRules(opts: RbacOptions = {}): PolicyRule[] {
  const webhookConfigName = opts.webhookConfigName ?? WEBHOOK_CONFIG_NAME;
  const istio: PolicyRule[] = Object.entries(ISTIO_GROUPS).map(([group, g]) => ({
    apiGroups: [group],
    resources: Object.entries(g.kinds).filter(([, how]) => how === 'read').map(([kind]) => pluralOf(kind)),
    verbs: ['list', 'watch'],
    why: '--kube: the Istio (and wasmesh) resources the loader reads',
  })).filter((r) => r.resources.length > 0);
  return [
    { apiGroups: [''], resources: ['services', 'pods', 'namespaces', 'serviceaccounts'], verbs: ['list', 'watch'], why: '--kube: the service registry, pod labels and service accounts, namespace labels (discoverySelectors), the identities known' },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'], why: '--kube: endpoints' },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch', 'create', 'update'], why: '--kube: the mesh config (ConfigMap `istio` of the control plane\'s namespace); with --ca-dir: `istio-ca-root-cert` in every namespace, created and restored' },
    ...istio,
    { apiGroups: [''], resources: ['events'], verbs: ['create'], why: '--kube: an Event on each Istio object the loader refuses' },
    // The reflector lists and watches with fieldSelector=metadata.name=<name>: the API server then
    // authorizes the list and the watch as requests for that one name, so resourceNames covers them.
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [webhookConfigName], verbs: ['list', 'watch', 'patch'], why: '--kube --ca-dir --webhook-listen: the injector configuration\'s caBundle (that configuration only)' },
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'], why: '--kube-tokens: pods\' service-account tokens as CA credentials' },
  ];
}

/** The rules as a ClusterRole's `rules`. */
export function rbacRules(opts: RbacOptions = {}): Array<Omit<PolicyRule, 'why'>> {
  return controlPlaneRules(opts).map(({ why: _why, ...rule }) => rule);
}
