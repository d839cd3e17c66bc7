// kubeInject's handling of whole manifests (host/kube/kube-inject.ts): located errors (source,
// document, line, path inside the object) for bad YAML, bad shapes, bad annotations and ports
// that cannot work; empty documents and non-objects pass.
import { describe, expect, it } from 'vitest';
import { kubeInject, KubeInjectError } from '../../host/kube/kube-inject.js';
import { defaultInjectDefaults } from '../../host/kube/injection-settings.js';

const D = defaultInjectDefaults('wasmesh/proxy:test');

function errorOf(text: string): KubeInjectError {
  try {
    kubeInject(text, 'm.yaml', D);
  } catch (err) {
    if (err instanceof KubeInjectError) return err;
    throw err;
  }
  throw new Error('no error');
}

const DEPLOY = (podLines: string) => `apiVersion: v1
kind: Service
metadata: {name: web}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
${podLines}`;

describe('kube-inject: located errors', () => {
  it('a bad annotation: document, line, and the path inside the object', () => {
    const e = errorOf(DEPLOY(`    metadata:
      annotations:
        traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.0/33"
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
`));
    expect(e.message).toBe('m.yaml: document 2 (line 14) Deployment shop/web spec.template.metadata.annotations["traffic.sidecar.istio.io/excludeOutboundIPRanges"]: "10.0.0.0/33" is not an IP address or range (a.b.c.d/n)');
  });

  it('an unknown interception mode, and a proxy.istio.io/config that is not an object', () => {
    expect(errorOf(DEPLOY(`    metadata: {annotations: {sidecar.istio.io/interceptionMode: NONE}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
`)).message).toMatch(/document 2 \(line 12\) Deployment shop\/web spec.template.metadata.annotations\["sidecar.istio.io\/interceptionMode"\]: interception mode must be REDIRECT or TPROXY, got "NONE"/);
    expect(errorOf(DEPLOY(`    metadata: {annotations: {proxy.istio.io/config: "[1, 2]"}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
`)).message).toMatch(/annotations\["proxy.istio.io\/config"\]: must be a ProxyConfig object/);
    expect(errorOf(DEPLOY(`    metadata: {annotations: {proxy.istio.io/config: "holdApplicationUntilProxyStarts: yes please"}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
`)).message).toMatch(/proxy.istio.io\/config"\] holdApplicationUntilProxyStarts: must be true or false/);
  });

  it('a workload with no template spec or no containers names the missing path', () => {
    expect(errorOf(DEPLOY('    metadata: {}\n')).message).toBe('m.yaml: document 2 (line 12) Deployment shop/web spec.template.spec: a Deployment needs spec.template.spec (an object)');
    expect(errorOf(DEPLOY('    spec: {containers: []}\n')).message).toMatch(/document 2 \(line 12\) Deployment shop\/web spec.template.spec.containers: a pod needs at least one container/);
    expect(errorOf('apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: "* * * * *"}\n').message).toMatch(/document 1 .*CronJob default\/c spec.jobTemplate: a CronJob needs spec.jobTemplate/);
  });

  it('a port that is the sidecar\'s own, a bad containerPort, and a pod with no TCP port', () => {
    expect(errorOf(DEPLOY('    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 15021}]}]}\n')).message)
      .toMatch(/spec.template.spec.containers\[0\].ports\[0\].containerPort: port 15021 is one of the sidecar's own ports/);
    expect(errorOf(DEPLOY('    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: "80"}]}]}\n')).message)
      .toMatch(/spec.template.spec.containers\[0\].ports\[0\].containerPort: must be an integer from 1 to 65535/);
    expect(errorOf(DEPLOY('    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 53, protocol: UDP}]}]}\n')).message)
      .toMatch(/spec.template.spec.containers\[\*\].ports: no TCP containerPort: the wasmesh sidecar needs the app's ports/);
  });

  it('a probe naming a port the container does not declare', () => {
    expect(errorOf(DEPLOY('    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80, name: http}], readinessProbe: {httpGet: {path: /, port: https}}}]}\n')).message)
      .toMatch(/Deployment shop\/web spec.template.spec.containers\[0\].readinessProbe.httpGet.port: names port "https", which container web does not declare/);
  });

  it('bad YAML names its document and line; a workload without a name is refused', () => {
    const e = errorOf('kind: Service\n---\nkind: Deployment\nmetadata: {name: [\n');
    expect(e.document).toBe(2);
    expect(e.message).toMatch(/^m.yaml: document 2 \(line \d+\): not valid YAML/);
    expect(errorOf('apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {containers: [{name: a, ports: [{containerPort: 80}]}]}\n').message).toMatch(/document 1 .*metadata.name: a Pod needs a name/);
  });

  it('empty documents are dropped, scalars and kind-less objects pass through', () => {
    const r = kubeInject('---\n---\nfoo: 1\n---\njust text\n', 'm.yaml', D);
    expect(r.yaml).toBe('foo: 1\n---\njust text\n');
    expect(r.injected).toBe(0);
  });
});
