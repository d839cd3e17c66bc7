// The real API server the Kubernetes tests run against (test/helpers/kube-cluster.ts): it starts
// from the binaries scripts/install-kube.sh builds, serves the version built, authenticates the
// test token and refuses anyone else, and kubectl reaches it through the written kubeconfig.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeUnavailableReason, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';

const unavailable = kubeUnavailableReason();
if (unavailable !== null) console.warn(`kube API server tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== null)('a real kube-apiserver on loopback', () => {
  let kube: KubeCluster;
  beforeAll(async () => {
    kube = await startKubeCluster();
  }, 90_000);
  afterAll(async () => {
    await kube?.stop();
  });

  it('serves the version install-kube.sh built, to the test token', async () => {
    const version = await kube.api('GET', '/version');
    expect(version.status).toBe(200);
    expect(JSON.parse(version.body)).toMatchObject({ major: '1', minor: '34', gitVersion: 'v1.34.4' });
  });

  it('refuses a wrong token (401) and a user RBAC grants nothing (403)', () => {
    const kubeconfigUser = kube.kubectl(['get', 'namespaces', '--token=not-the-token']);
    expect(kubeconfigUser.status).not.toBe(0);
    expect(kubeconfigUser.stderr).toMatch(/Unauthorized|must be logged in/);
    // The test user (system:masters) may impersonate; the impersonated service account is bound to nothing.
    const asSa = kube.kubectl(['get', 'namespaces', '--as=system:serviceaccount:default:nobody']);
    expect(asSa.status).not.toBe(0);
    expect(asSa.stderr).toMatch(/forbidden/);
  });

  it('kubectl works through the kubeconfig: default namespaces, then a namespace created and read back', () => {
    const ns = kube.kubectl(['get', 'namespaces', '-o', 'name']);
    expect(ns.stderr).toBe('');
    expect(ns.stdout.split('\n')).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system']));
    expect(kube.kubectl(['create', 'namespace', 'wasmesh-probe']).status).toBe(0);
    expect(kube.kubectl(['get', 'namespace', 'wasmesh-probe', '-o', 'jsonpath={.status.phase}']).stdout).toBe('Active');
  });
});
