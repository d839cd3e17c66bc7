// What the control plane's ServiceAccount may do in the cluster, written as data: the least
// privilege `wasmesh control-plane --kube --kube-tokens --webhook-listen` needs, each rule with the
// code that needs it. istiod's ClusterRole is wider (it writes Istio status, reads secrets for
// gateways and its own CA, watches every webhook configuration and gateway-api kinds); wasmesh
// does none of that yet, so it gets none of it — a rule is added here with the feature that uses it.
import type { KubeObject } from './kube-object.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** A kind the control plane lists and watches: its API group and plural. */
export interface WatchedResource {
  group: string;
  plural: string;
}

/** The Kubernetes kinds the control plane watches (kube-resource-source.ts and the namespace/service-account watches). */
export const WATCHED_CORE_KINDS: readonly WatchedResource[] = [
  { group: '', plural: 'services' },
  { group: '', plural: 'pods' },
  { group: '', plural: 'namespaces' },
  { group: '', plural: 'serviceaccounts' },
  { group: 'discovery.k8s.io', plural: 'endpointslices' },
];

/**
 * The ClusterRole's rules. `watched` is every kind the control plane lists and watches (the core
 * kinds above plus the CRDs' kinds); `webhookConfigName` the MutatingWebhookConfiguration whose
 * caBundle it keeps up to date.
 */
export function controlPlaneRules(watched: readonly WatchedResource[], webhookConfigName: string): PolicyRule[] {
  const byGroup = new Map<string, string[]>();
  for (const w of watched) {
    const list = byGroup.get(w.group) ?? [];
    if (!list.includes(w.plural)) list.push(w.plural);
    byGroup.set(w.group, list);
  }
  const rules: PolicyRule[] = [];
  // The informers (reflector.ts): a paged list, then a watch from its resourceVersion. No `get`:
  // nothing reads one object by name, the watch keeps it.
  for (const [group, resources] of byGroup) rules.push({ apiGroups: [group], resources, verbs: ['list', 'watch'] });
  rules.push(
    // --kube-tokens: a pod's istio-token checked by a TokenReview (identity/kube-token-review.ts).
    // istiod binds system:auth-delegator, which also allows subjectaccessreviews; not needed here.
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    // istio-ca-root-cert in every namespace: created where missing, updated when the root changes,
    // watched (list + watch) so a deleted or edited copy is put back, as istiod's namespace controller.
    // Cluster-wide: it is written in every namespace; no rule reaches any other kind there.
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update'] },
    // A malformed Istio object is reported on the object as an Event (create; patch counts a repeat).
    // Both event APIs: core/v1 Events and events.k8s.io/v1 are two views of one kind.
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    // The injection webhook's caBundle, kept equal to the CA's root: this one configuration only.
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [webhookConfigName], verbs: ['get', 'patch'] },
  );
  return rules;
}

export interface RbacNames {
  namespace: string;
  serviceAccount: string;
  clusterRole: string;
}

/** The ClusterRole and its ClusterRoleBinding to the control plane's ServiceAccount. */
export function controlPlaneRbac(names: RbacNames, rules: PolicyRule[], labels: Record<string, string>): KubeObject[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: names.clusterRole, labels },
      rules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: names.clusterRole, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: names.clusterRole },
      subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount, namespace: names.namespace }],
    },
  ];
}
