// kube-apply.ts against a fake API server (node:http): the PATCH it sends (apply-patch content
// type, field manager, force, dryRun=All), the outcome read from the resourceVersion (created,
// configured, unchanged) or, in a dry run, from the object, and a refusal carrying the Status
// message. The real API server's behaviour: test/kube/install-apiserver.test.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi, KubeApiError } from '../../host/kube/kube-api.js';
import { objectPath, serverSideApply } from '../../host/kube/kube-apply.js';
import type { KubeObject } from '../../host/kube/kube-object.js';

interface Seen { method: string; url: string; type: string | undefined; body: string }

let server: Server | null = null;
let api: KubeApi | null = null;
afterEach(() => afterEachNow());

/** A server holding at most one object: GET answers it (or 404), PATCH answers `patched(body)`. */
async function fake(stored: Record<string, unknown> | null, patched: (body: unknown) => { status: number; body: unknown }): Promise<Seen[]> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, type: req.headers['content-type'], body });
      const send = (status: number, b: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(b));
      };
      if (req.method === 'GET') return stored === null ? send(404, { kind: 'Status', message: 'configmaps "istio" not found' }) : send(200, stored);
      const r = patched(JSON.parse(body));
      send(r.status, r.body);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  api = new KubeApi({ server: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, insecureSkipTlsVerify: false, origin: 'test' });
  return seen;
}

const CM: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'a: 1\n' } };
const stored = (rv: string, data: Record<string, string>, managedTime = 't1') => ({ ...CM, metadata: { ...CM.metadata, resourceVersion: rv, managedFields: [{ time: managedTime }] }, data });

describe('serverSideApply', () => {
  it('absent: PATCH apply-patch+yaml with wasmesh-install\'s field manager and force, reported created', async () => {
    const seen = await fake(null, (b) => ({ status: 201, body: { ...(b as object), metadata: { ...CM.metadata, resourceVersion: '5' } } }));
    expect(await serverSideApply(api!, CM)).toEqual({ ref: 'ConfigMap istio-system/istio', outcome: 'created' });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/namespaces/istio-system/configmaps/istio',
      'PATCH /api/v1/namespaces/istio-system/configmaps/istio?fieldManager=wasmesh-install&force=true',
    ]);
    expect(seen[1]!.type).toBe('application/apply-patch+yaml');
    expect(JSON.parse(seen[1]!.body)).toEqual(CM);
  });

  it('present: unchanged when the resourceVersion stays, configured when it moves', async () => {
    await fake(stored('7', { mesh: 'a: 1\n' }), () => ({ status: 200, body: stored('7', { mesh: 'a: 1\n' }) }));
    expect((await serverSideApply(api!, CM)).outcome).toBe('unchanged');
    await afterEachNow();
    await fake(stored('7', { mesh: 'a: 0\n' }), () => ({ status: 200, body: stored('8', { mesh: 'a: 1\n' }) }));
    expect((await serverSideApply(api!, CM)).outcome).toBe('configured');
  });

  it('dry run: dryRun=All, the outcome from the object (the version does not move), managed fields aside', async () => {
    const seen = await fake(stored('7', { mesh: 'a: 0\n' }), () => ({ status: 200, body: stored('7', { mesh: 'a: 1\n' }, 't2') }));
    expect((await serverSideApply(api!, CM, { dryRun: true })).outcome).toBe('configured');
    expect(seen[1]!.url).toBe('/api/v1/namespaces/istio-system/configmaps/istio?fieldManager=wasmesh-install&force=true&dryRun=All');
    await afterEachNow();
    await fake(stored('7', { mesh: 'a: 1\n' }), () => ({ status: 200, body: stored('7', { mesh: 'a: 1\n' }, 't2') }));
    expect((await serverSideApply(api!, CM, { dryRun: true })).outcome).toBe('unchanged');
    await afterEachNow();
    await fake(null, () => ({ status: 201, body: stored('0', { mesh: 'a: 1\n' }) }));
    expect((await serverSideApply(api!, CM, { dryRun: true })).outcome).toBe('created');
  });

  it('a refusal rejects with the status and the Status message; a GET failure other than 404 too', async () => {
    await fake(null, () => ({ status: 422, body: { kind: 'Status', message: 'ConfigMap "istio" is invalid: data[a b]: Invalid value' } }));
    const err = await serverSideApply(api!, CM).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(422);
    expect((err as Error).message).toMatch(/^PATCH \/api\/v1\/namespaces\/istio-system\/configmaps\/istio\?fieldManager=wasmesh-install&force=true: 422 ConfigMap "istio" is invalid/);
    await afterEachNow();
    server = createServer((_req, res) => { res.writeHead(403); res.end('{"kind":"Status","message":"forbidden: User cannot get"}'); });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    api = new KubeApi({ server: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, insecureSkipTlsVerify: false, origin: 'test' });
    await expect(serverSideApply(api, CM)).rejects.toThrow(/GET .*: 403 forbidden: User cannot get/);
  });
});

describe('objectPath', () => {
  it('core and grouped, namespaced and cluster-scoped; an unknown kind or a missing namespace is an error naming the object', () => {
    expect(objectPath({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'istiod', namespace: 'istio-system' } })).toBe('/apis/apps/v1/namespaces/istio-system/deployments/istiod');
    expect(objectPath({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } })).toBe('/apis/rbac.authorization.k8s.io/v1/clusterroles/r');
    expect(objectPath({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } })).toBe('/api/v1/namespaces/istio-system');
    expect(() => objectPath({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w' } })).toThrow(/Widget w: install does not know where Widget objects live/);
    expect(() => objectPath({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } })).toThrow(/Secret s: a Secret needs a namespace/);
  });
});

/** Closes the client and the fake server (between two fakes in one test, and after each). */
async function afterEachNow(): Promise<void> {
  api?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
  api = null;
}
