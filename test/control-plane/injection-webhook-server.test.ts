// The injection webhook's HTTPS server (host/control-plane/injection-webhook-server.ts): its
// certificate, issued by the control plane's CA, verifies against the CA's roots (the caBundle)
// under istiod's Service name and the listen address; POST /inject answers AdmissionReviews;
// the HTTP errors are istiod's; the counters count. And the control plane's --webhook-* flags.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InjectionWebhookServer, MAX_REVIEW_BYTES } from '../../host/control-plane/injection-webhook-server.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { defaultInjectDefaults } from '../../host/kube/injection-settings.js';
import { webhookFromFlags } from '../../host/cli/webhook-flags.js';

const D = defaultInjectDefaults('wasmesh/proxy:test');

interface Reply { status: number; type: string; body: string }

function post(port: number, ca: string, opts: { host?: string; path?: string; method?: string; type?: string; body?: string | Buffer; servername?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: opts.host ?? '127.0.0.1', port, path: opts.path ?? '/inject', method: opts.method ?? 'POST', ca, servername: opts.servername,
      headers: opts.type === '' ? {} : { 'content-type': opts.type ?? 'application/json' },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', (e: Error) => reject(new Error(`${opts.method ?? 'POST'} ${opts.path ?? '/inject'} ${opts.type ?? ''} ${String(opts.body).slice(0, 10)}: ${e.message}`)));
    req.end(opts.body);
  });
}

const REVIEW = (pod: unknown) => JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'shop', operation: 'CREATE', object: pod },
});
const POD = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 8080 }] }] } };

describe('injection webhook server', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let server: InjectionWebhookServer;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-webhook-srv-'));
    ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    server = new InjectionWebhookServer({ defaults: D, tls: { kind: 'ca', ca, names: ['injector.example.test'] } });
    port = await server.listen('127.0.0.1', 0);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the certificate verifies against the CA roots as 127.0.0.1, istiod.istio-system.svc and a --webhook-dns name; not as another name', async () => {
    expect(server.caBundlePem).toBe(ca.rootsPem.join(''));
    for (const servername of [undefined, 'istiod.istio-system.svc', 'istiod.istio-system.svc.cluster.local', 'injector.example.test']) {
      expect((await post(port, server.caBundlePem!, { body: REVIEW(POD), servername })).status).toBe(200);
    }
    await expect(post(port, server.caBundlePem!, { body: REVIEW(POD), servername: 'other.example.test' })).rejects.toThrow(/altnames|Hostname/i);
  });

  it('on a wildcard ([::], dual-stack) the certificate names both loopbacks: a client dialling [::1] verifies it, as one dialling 127.0.0.1', async () => {
    const wild = new InjectionWebhookServer({ defaults: D, tls: { kind: 'ca', ca, names: [] } });
    const p = await wild.listen('::', 0);
    try {
      for (const host of ['::1', '127.0.0.1']) expect((await post(p, wild.caBundlePem!, { host, body: REVIEW(POD) })).status, host).toBe(200);
    } finally {
      await wild.close();
    }
  });

  it('POST /inject: an AdmissionReview with the patch; /inject/<anything> too (istiod\'s revision paths)', async () => {
    for (const path of ['/inject', '/inject/cluster/Kubernetes/net/n1']) {
      const r = await post(port, server.caBundlePem!, { path, body: REVIEW(POD) });
      expect(r.type).toBe('application/json');
      const out = JSON.parse(r.body);
      expect(out).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true, patchType: 'JSONPatch' } });
      expect(Buffer.from(out.response.patch, 'base64').toString()).toContain('istio-proxy');
    }
  });

  it('HTTP errors as istiod: 404 path, 405 method, 415 content type, 400 empty, 413 too large; 200 denial for a body that is not JSON', async () => {
    const ca = server.caBundlePem!;
    expect((await post(port, ca, { path: '/mutate', body: '{}' })).status).toBe(404);
    expect((await post(port, ca, { method: 'GET' })).status).toBe(405);
    const t = await post(port, ca, { type: 'text/plain', body: '{}' });
    expect([t.status, t.body]).toEqual([415, 'invalid Content-Type "text/plain", want application/json\n']);
    expect((await post(port, ca, { body: '' })).status).toBe(400);
    const big = await post(port, ca, { body: Buffer.alloc(MAX_REVIEW_BYTES + 1, 32) }).catch((e: Error) => ({ status: -1, body: e.message, type: '' }));
    // Either the 413 arrives before the server stops reading, or the connection is cut: never a 200.
    expect([413, -1]).toContain(big.status);
    const bad = await post(port, ca, { body: '{not json' });
    expect(bad.status).toBe(200);
    expect(JSON.parse(bad.body).response).toMatchObject({ uid: '', allowed: false, status: { message: expect.stringContaining('not an AdmissionReview') } });
  });

  it('counts requests, injections, skips and failures (istiod\'s sidecar_injection_*)', async () => {
    const before = server.stats();
    await post(port, server.caBundlePem!, { body: REVIEW(POD) });
    await post(port, server.caBundlePem!, { body: REVIEW({ ...POD, metadata: { name: 'p', annotations: { 'sidecar.istio.io/inject': 'false' } } }) });
    await post(port, server.caBundlePem!, { body: REVIEW({ metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }] } }) });
    const after = server.stats();
    expect({
      req: after.sidecar_injection_requests_total - before.sidecar_injection_requests_total,
      ok: after.sidecar_injection_success_total - before.sidecar_injection_success_total,
      skip: after.sidecar_injection_skip_total - before.sidecar_injection_skip_total,
      fail: after.sidecar_injection_failure_total - before.sidecar_injection_failure_total,
    }).toEqual({ req: 3, ok: 1, skip: 1, fail: 1 });
  });

  it('a certificate from files, and a port in use is a listen error', async () => {
    const cert = await ca.issueServing(['127.0.0.1'], spiffeId('istio-system', 'istiod'));
    const fromFiles = new InjectionWebhookServer({ defaults: D, tls: { kind: 'files', certPem: cert.certChainPem, keyPem: cert.keyPem } });
    const p = await fromFiles.listen('127.0.0.1', 0);
    try {
      expect(fromFiles.caBundlePem).toBeNull();
      expect((await post(p, ca.rootsPem.join(''), { body: REVIEW(POD) })).status).toBe(200);
      const clash = new InjectionWebhookServer({ defaults: D, tls: { kind: 'files', certPem: cert.certChainPem, keyPem: cert.keyPem } });
      await expect(clash.listen('127.0.0.1', p)).rejects.toThrow(/EADDRINUSE/);
      await clash.close();
    } finally {
      await fromFiles.close();
    }
  });
});

describe('control-plane --webhook-* flags', () => {
  const CMD = 'wasmesh control-plane';
  it('off without --webhook-listen; its companions alone, no certificate source, half a pair are usage errors', () => {
    expect(webhookFromFlags(CMD, {}, false)).toBeNull();
    expect(() => webhookFromFlags(CMD, { 'webhook-image': 'x' }, true)).toThrow(/--webhook-image goes with --webhook-listen/);
    expect(() => webhookFromFlags(CMD, { 'webhook-listen': '127.0.0.1:15017' }, false)).toThrow(/needs a serving certificate: --ca-dir .* or --webhook-cert and --webhook-key/);
    expect(() => webhookFromFlags(CMD, { 'webhook-listen': '127.0.0.1:15017', 'webhook-cert': '/c' }, true)).toThrow(/--webhook-cert and --webhook-key go together/);
    expect(() => webhookFromFlags(CMD, { 'webhook-listen': 'nope' }, true)).toThrow(/--webhook-listen/);
    expect(() => webhookFromFlags(CMD, { 'webhook-listen': ':1', 'webhook-cert': '/nonexistent/c', 'webhook-key': '/nonexistent/k' }, false)).toThrow(/--webhook-cert: cannot read \/nonexistent\/c: ENOENT/);
  });
  it('with the CA: the listen address, DNS names, image and a mesh config\'s defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-webhook-flags-'));
    writeFileSync(join(dir, 'mesh.yaml'), 'defaultConfig:\n  discoveryAddress: cp.mesh.svc:15012\n');
    const plan = webhookFromFlags(CMD, { 'webhook-listen': '0.0.0.0:15017', 'webhook-dns': ['a.example'], 'webhook-image': 'img:1', 'webhook-mesh-config': join(dir, 'mesh.yaml') }, true)!;
    expect(plan.listen).toEqual({ host: '0.0.0.0', port: 15017 });
    expect(plan.dnsNames).toEqual(['a.example']);
    expect(plan.files).toBeNull();
    expect(plan.defaults.image).toBe('img:1');
    expect(plan.defaults.discoveryAddress).toBe('cp.mesh.svc:15012');
    rmSync(dir, { recursive: true, force: true });
  });
  it('--webhook-native-sidecars: true|false|auto, else $ENABLE_NATIVE_SIDECARS, else auto; another value is a usage error', () => {
    const saved = process.env.ENABLE_NATIVE_SIDECARS;
    delete process.env.ENABLE_NATIVE_SIDECARS;
    try {
      const base = { 'webhook-listen': '0.0.0.0:15017' };
      expect(webhookFromFlags(CMD, base, true)!.nativeSidecars).toBe('auto');
      expect(webhookFromFlags(CMD, { ...base, 'webhook-native-sidecars': 'true' }, true)!.nativeSidecars).toBe('true');
      process.env.ENABLE_NATIVE_SIDECARS = 'false';
      expect(webhookFromFlags(CMD, base, true)!.nativeSidecars).toBe('false');
      expect(() => webhookFromFlags(CMD, { ...base, 'webhook-native-sidecars': 'on' }, true)).toThrow('--webhook-native-sidecars must be true, false or auto, got "on"');
      expect(() => webhookFromFlags(CMD, { 'webhook-native-sidecars': 'true' }, true)).toThrow(/--webhook-native-sidecars goes with --webhook-listen/);
    } finally {
      if (saved === undefined) delete process.env.ENABLE_NATIVE_SIDECARS;
      else process.env.ENABLE_NATIVE_SIDECARS = saved;
    }
  });
});
