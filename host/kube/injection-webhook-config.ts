// The MutatingWebhookConfiguration that sends pod creations to the control plane's injection
// webhook, shaped as Istio's `istio-sidecar-injector` (default revision): the
// `namespace.sidecar-injector.istio.io` webhook for namespaces labelled istio-injection=enabled
// (pods labelled sidecar.istio.io/inject=false excluded by its objectSelector) and the
// `object.sidecar-injector.istio.io` webhook for pods labelled sidecar.istio.io/inject=true in
// namespaces that carry no injection label. Either a URL (outside the cluster: tests, a control
// plane run on a host) or istiod's Service (istio-system/istiod:443) as clientConfig; the caBundle
// is the PEM of the roots the webhook's serving certificate chains to — or absent, for the control
// plane to patch in (the full install without a CA directory; server-side apply leaves a field it
// does not set to the manager that set it).

export const WEBHOOK_CONFIG_NAME = 'istio-sidecar-injector';

export interface WebhookConfigOptions {
  /** https://host:port/inject — else the Service below. */
  url?: string;
  service?: { namespace: string; name: string; port: number };
  /** Absent: no caBundle field at all (not an empty one). */
  caBundlePem?: string;
  failurePolicy?: 'Fail' | 'Ignore';
}

export function injectionWebhookConfiguration(opts: WebhookConfigOptions): Record<string, unknown> {
  const svc = opts.service ?? { namespace: 'istio-system', name: 'istiod', port: 443 };
  const clientConfig = {
    ...(opts.url !== undefined ? { url: opts.url } : { service: { name: svc.name, namespace: svc.namespace, path: '/inject', port: svc.port } }),
    ...(opts.caBundlePem !== undefined ? { caBundle: Buffer.from(opts.caBundlePem).toString('base64') } : {}),
  };
  const common = {
    clientConfig,
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: opts.failurePolicy ?? 'Fail',
    reinvocationPolicy: 'Never',
  };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: WEBHOOK_CONFIG_NAME, labels: { app: 'sidecar-injector', 'istio.io/rev': 'default' } },
    webhooks: [
      {
        name: 'namespace.sidecar-injector.istio.io',
        ...common,
        namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
        objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }] },
      },
      {
        name: 'object.sidecar-injector.istio.io',
        ...common,
        namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'DoesNotExist' }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
        objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
      },
    ],
  };
}
