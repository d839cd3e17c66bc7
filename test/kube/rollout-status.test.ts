// rollout-status.ts: kubectl rollout status's rule for a Deployment — each state on the way
// (spec not yet observed, replicas not updated, old ones left, not available) with its reason,
// done only when all hold; and the wait's timeout with the last reason. Against the real API
// server (status written by hand, no controller): test/kube/install-apiserver.test.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../host/kube/kube-api.js';
import { deploymentRollout, waitForRollout } from '../../host/kube/rollout-status.js';

const dep = (generation: number, replicas: number, status: Record<string, number>) => ({ metadata: { generation }, spec: { replicas }, status });

describe('deploymentRollout', () => {
  it('each unfinished state with kubectl\'s reason, then done', () => {
    expect(deploymentRollout(dep(2, 1, { observedGeneration: 1 }))).toEqual({ done: false, reason: 'waiting for the deployment spec update to be observed' });
    expect(deploymentRollout(dep(2, 2, { observedGeneration: 2, updatedReplicas: 1 }))).toEqual({ done: false, reason: '1 of 2 updated replicas are available' });
    expect(deploymentRollout(dep(2, 1, { observedGeneration: 2, updatedReplicas: 1, replicas: 2 }))).toEqual({ done: false, reason: '1 old replicas are pending termination' });
    expect(deploymentRollout(dep(2, 1, { observedGeneration: 2, updatedReplicas: 1, replicas: 1, availableReplicas: 0 }))).toEqual({ done: false, reason: '0 of 1 updated replicas are available' });
    expect(deploymentRollout(dep(2, 1, { observedGeneration: 2, updatedReplicas: 1, replicas: 1, availableReplicas: 1 }))).toEqual({ done: true, reason: '' });
  });

  it('no status at all (just created, no controller): not done; replicas default to 1', () => {
    expect(deploymentRollout({ metadata: { generation: 1 }, spec: {} }).done).toBe(false);
    expect(deploymentRollout({ metadata: { generation: 1 }, spec: {}, status: { observedGeneration: 1, updatedReplicas: 1, replicas: 1, availableReplicas: 1 } }).done).toBe(true);
  });
});

let server: Server | null = null;
let api: KubeApi | null = null;
afterEach(async () => {
  api?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

describe('waitForRollout', () => {
  it('polls until done; times out with the last reason', async () => {
    let gets = 0;
    server = createServer((_req, res) => {
      gets++;
      res.writeHead(200, { 'content-type': 'application/json' });
      const ready = gets >= 3;
      res.end(JSON.stringify(dep(1, 1, { observedGeneration: 1, updatedReplicas: 1, replicas: 1, availableReplicas: ready ? 1 : 0 })));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    api = new KubeApi({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, insecureSkipTlsVerify: false, origin: 'test' });
    await waitForRollout(api, '/apis/apps/v1/namespaces/istio-system/deployments/istiod', 5_000, { intervalMs: 10 });
    expect(gets).toBe(3);
    gets = -1_000;
    await expect(waitForRollout(api, '/apis/apps/v1/namespaces/istio-system/deployments/istiod', 50, { intervalMs: 10 })).rejects.toThrow(/^not ready after 0\.05 s: 0 of 1 updated replicas are available$/);
  });
});
