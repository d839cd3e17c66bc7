// Kubernetes service-account tokens as CA credentials, against a real kube-apiserver
// (test/helpers/kube-cluster.ts): the control plane runs as a process with `--kube-tokens
// --kubeconfig` whose user is a ServiceAccount bound only to a ClusterRole with `create` on
// tokenreviews (the RBAC docs/kubernetes.md gives, not system:masters). A token from the
// TokenRequest API (`kubectl create token cart --audience istio-ca`) gets a `wasmesh proxy
// --token-file` its certificate, whose URI SAN is the service account's SPIFFE ID; a token for
// another audience, an expired one, a deleted ServiceAccount's and garbage are refused with the
// API server's reason; a user who is no service account is refused too (asked for the API
// server's own audience, for which the test's static token is valid); without the RBAC the
// TokenReview is forbidden and the CSR refused; with the API server stopped a token not yet
// reviewed is refused UNAVAILABLE. The image's entrypoint (docker/entrypoint.sh, real node) with
// no config mounted and kube-inject's PROXY_CONFIG starts a sidecar that gets its config and
// certificate from the control plane with such a token and turns ready.
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { istioCaPackage, type IstioCertificateResponse } from '../../host/identity/istio-ca-proto.js';
import { KubeTokenReviewer } from '../../host/identity/kube-token-review.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { createWorkloadCsr } from '../../host/identity/workload-csr.js';
import { kubeUnavailableReason, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { freePort } from '../helpers/ports.js';
import { ensureBuilt, ROOT, startProxy, WasmeshProcess } from '../helpers/wasmesh-process.js';

const unavailable = kubeUnavailableReason();
if (unavailable !== null) console.warn(`kube token API server tests skipped: ${unavailable}`);

const SERVICES = 'examples/000-web-demo/00-web-services.yaml';

/** The RBAC of docs/kubernetes.md: the control plane may create TokenReviews, nothing else. */
const RBAC = `apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: wasmesh-control-plane, namespace: istio-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: wasmesh-tokenreview}
rules:
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: wasmesh-tokenreview}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wasmesh-tokenreview}
subjects:
- {kind: ServiceAccount, name: wasmesh-control-plane, namespace: istio-system}
`;

let cluster: KubeCluster | null = null;
let dir = '';
let caDir = '';
let caPort = 0;
let client: (grpc.Client & { CreateCertificate: Function }) | null = null;
const procs: WasmeshProcess[] = [];

function kubectl(args: string[], input?: string): string {
  const r = cluster!.kubectl(args, input);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A kubeconfig whose user is `token` (on the test API server). */
function kubeconfigWith(name: string, token: string): string {
  const file = join(dir, name);
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config',
    'clusters:', '- name: c', '  cluster:', `    server: ${cluster!.server}`, '    insecure-skip-tls-verify: true',
    'users:', '- name: u', '  user:', `    token: ${token}`,
    'contexts:', '- name: x', '  context: {cluster: c, user: u}',
    'current-context: x', '',
  ].join('\n'));
  return file;
}

async function csrCall(token: string, ns = 'shop', sa = 'cart'): Promise<{ res?: IstioCertificateResponse; err?: grpc.ServiceError }> {
  const csr = await createWorkloadCsr(spiffeId(ns, sa, 'cluster.local'));
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    client!.CreateCertificate({ csr: csr.csrPem, validity_duration: 3600 }, md, { deadline: Date.now() + 15_000 }, (err: grpc.ServiceError | null, res?: IstioCertificateResponse) =>
      resolve(err ? { err } : { res }));
  });
}

/** An RS256 JWT signed with the API server's service-account key (to make one already expired). */
function signedByApiServer(claims: Record<string, unknown>): string {
  const key = createPrivateKey(readFileSync(join(dirname(cluster!.kubeconfig), 'sa.key')));
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

beforeAll(async () => {
  if (unavailable !== null) return;
  await ensureBuilt();
  cluster = await startKubeCluster();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-kube-tokens-'));
  kubectl(['apply', '-f', '-'], RBAC);
  kubectl(['create', 'namespace', 'shop']);
  kubectl(['create', 'serviceaccount', 'cart', '-n', 'shop']);
  const cpToken = kubectl(['create', 'token', 'wasmesh-control-plane', '-n', 'istio-system', '--duration', '1h']).trim();
  caDir = join(dir, 'ca');
  await CertificateAuthority.open({ dir: caDir, trustDomain: 'cluster.local' });
  caPort = await freePort();
  const cp = new WasmeshProcess(['control-plane', '-f', SERVICES, '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0',
    '--ca-dir', caDir, '--secure-listen', `127.0.0.1:${caPort}`, '--kube-tokens', '--kubeconfig', kubeconfigWith('cp.kubeconfig', cpToken)]);
  procs.push(cp);
  await cp.waitFor(/CA for trust domain cluster.local .*; Kubernetes service-account tokens accepted \(TokenReview\)\)/);
  expect(cp.stderr).toMatch(/kube tokens: TokenReview against kubeconfig .*cp\.kubeconfig/);
  const pkg = grpc.loadPackageDefinition(istioCaPackage()) as any;
  client = new pkg.istio.v1.auth.IstioCertificateService(`127.0.0.1:${caPort}`, grpc.credentials.createSsl(readFileSync(join(caDir, 'root-cert.pem'))), {
    'grpc.ssl_target_name_override': 'istiod.istio-system.svc',
  });
}, 300_000);

afterAll(async () => {
  client?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(unavailable !== null)('the CA with --kube-tokens against a real API server', () => {
  it('a TokenRequest token (audience istio-ca) gets `wasmesh proxy --token-file` the certificate of spiffe://cluster.local/ns/shop/sa/cart', async () => {
    const tokenFile = join(dir, 'cart.token');
    writeFileSync(tokenFile, kubectl(['create', 'token', 'cart', '-n', 'shop', '--audience', 'istio-ca', '--duration', '1h']));
    const { proc, adminPort } = await startProxy(['-f', SERVICES, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--namespace', 'shop', '--service-account', 'cart',
      '--token-file', tokenFile, '--ca-root', join(caDir, 'root-cert.pem'), '--ca-address', `127.0.0.1:${caPort}`, '--cert-ttl', '1h']);
    procs.push(proc);
    await proc.waitFor(/certificate for spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart serial \w+ until/, 'stderr', 40_000);
    const certs = (await (await fetch(`http://127.0.0.1:${adminPort}/certs`)).json()) as { certificates: Array<{ cert_chain: Array<{ subject_alt_names: unknown }> }> };
    expect(certs.certificates[0]!.cert_chain[0]!.subject_alt_names).toEqual([{ uri: 'spiffe://cluster.local/ns/shop/sa/cart' }]);

    // The same over the CSR API directly: the leaf's only SAN is the URI, read by node's X509Certificate.
    const { res, err } = await csrCall(readFileSync(tokenFile, 'utf8').trim());
    expect(err).toBeUndefined();
    const leaf = new X509Certificate(res!.cert_chain[0]!);
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/shop/sa/cart');
    // A proxy taking its config over TLS on the same port (--xds-tls) with the same token: ready once both are in.
    const { proc: viaTls, adminPort: tlsAdmin } = await startProxy(['--xds', `127.0.0.1:${caPort}`, '--xds-tls', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
      '--namespace', 'shop', '--service-account', 'cart', '--token-file', tokenFile, '--ca-root', join(caDir, 'root-cert.pem'), '--ca-address', `127.0.0.1:${caPort}`]);
    procs.push(viaTls);
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${tlsAdmin}/ready`)).status, { timeout: 20_000 }).toBe(200);
    expect(JSON.stringify(await (await fetch(`http://127.0.0.1:${tlsAdmin}/config_dump`)).json())).toContain('web.default.svc.cluster.local');

    // A CSR for another identity than the token's is still refused by the CSR check.
    const other = await csrCall(readFileSync(tokenFile, 'utf8').trim(), 'shop', 'admin');
    expect(other.err?.code).toBe(grpc.status.PERMISSION_DENIED);
  }, 90_000);

  it('the image\'s entrypoint with nothing mounted finds the control plane from PROXY_CONFIG as kube-inject writes it: sidecar over --xds-tls with the pod\'s token, ready', async () => {
    const tokenFile = join(dir, 'istio-token');
    writeFileSync(tokenFile, kubectl(['create', 'token', 'cart', '-n', 'shop', '--audience', 'istio-ca', '--duration', '1h']));
    const uid = process.getuid?.() ?? 0;
    const child = spawn(join(ROOT, 'docker', 'entrypoint.sh'), [], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
        WASMESH_HOME: ROOT, WASMESH_PROXY_UID: String(uid), WASMESH_CONFIG: join(dir, 'not-mounted'),
        WASMESH_APP_PORTS: '5005', WASMESH_OUTBOUND: '127.0.0.1:0', WASMESH_INBOUND: '127.0.0.1:0', WASMESH_HEALTH: '127.0.0.1:0', WASMESH_ADMIN: '127.0.0.1:0',
        WASMESH_TOKEN_FILE: tokenFile, WASMESH_CA_ROOT: join(caDir, 'root-cert.pem'),
        PROXY_CONFIG: JSON.stringify({ discoveryAddress: `127.0.0.1:${caPort}` }), CA_ADDR: `127.0.0.1:${caPort}`,
        POD_NAMESPACE: 'shop', SERVICE_ACCOUNT: 'cart', POD_NAME: 'cart-0',
      },
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout!.resume();
    try {
      await expect.poll(() => /health on http:\/\/[^:]+:(\d+)\/healthz\/ready/.exec(stderr), { timeout: 30_000 }).not.toBeNull();
      const health = Number(/health on http:\/\/[^:]+:(\d+)\/healthz\/ready/.exec(stderr)![1]);
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${health}/healthz/ready`)).status, { timeout: 20_000 }).toBe(200);
      expect(stderr).toContain(`no config at ${join(dir, 'not-mounted')}: taking it from the control plane at 127.0.0.1:${caPort}`);
      expect(stderr).toMatch(/certificate for spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart serial/);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }, 90_000);

  it('refuses with the reason: another audience, expired, a deleted ServiceAccount\'s token, a user token for other audiences, garbage', async () => {
    const wrongAud = kubectl(['create', 'token', 'cart', '-n', 'shop', '--audience', 'vault', '--duration', '1h']).trim();
    let r = await csrCall(wrongAud);
    expect(r.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.err?.details).toMatch(/^token refused by the Kubernetes API server \(TokenReview\): not authenticated: .*audience/);

    // The TokenRequest API gives at least 10 minutes: an expired token is made with the API server's own key.
    const uid = JSON.parse(kubectl(['get', 'serviceaccount', 'cart', '-n', 'shop', '-o', 'json'])).metadata.uid as string;
    const now = Math.floor(Date.now() / 1000);
    const expired = signedByApiServer({
      iss: 'https://kubernetes.default.svc.cluster.local', aud: ['istio-ca'], sub: 'system:serviceaccount:shop:cart',
      iat: now - 7200, nbf: now - 7200, exp: now - 3600,
      'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'cart', uid } },
    });
    r = await csrCall(expired);
    expect(r.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.err?.details).toMatch(/not authenticated: .*expired/);

    kubectl(['create', 'serviceaccount', 'gone', '-n', 'shop']);
    const goneToken = kubectl(['create', 'token', 'gone', '-n', 'shop', '--audience', 'istio-ca', '--duration', '1h']).trim();
    kubectl(['delete', 'serviceaccount', 'gone', '-n', 'shop']);
    r = await csrCall(goneToken, 'shop', 'gone');
    expect(r.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.err?.details).toMatch(/not authenticated/);

    // The test's static token is for the API server's audiences only, not istio-ca.
    r = await csrCall(cluster!.token);
    expect(r.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.err?.details).toMatch(/not authenticated/);

    r = await csrCall('garbage');
    expect(r.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.err?.details).toMatch(/^token refused by the Kubernetes API server \(TokenReview\): not authenticated/);
  }, 60_000);

  it('caches a positive answer (keyed by the token\'s hash) until min(exp, 60 s), bounded; refuses a user who is no service account; without the RBAC the review is forbidden', async () => {
    const cpToken = kubectl(['create', 'token', 'wasmesh-control-plane', '-n', 'istio-system', '--duration', '1h']).trim();
    let clock = Date.now();
    const reviewer = new KubeTokenReviewer({ server: cluster!.server, insecureSkipTlsVerify: true, token: () => cpToken }, { now: () => clock, cacheMax: 2 });
    try {
      const token = kubectl(['create', 'token', 'cart', '-n', 'shop', '--audience', 'istio-ca', '--duration', '1h']).trim();
      expect(await reviewer.review(token)).toEqual({ namespace: 'shop', serviceAccount: 'cart' });
      expect(await reviewer.review(token)).toEqual({ namespace: 'shop', serviceAccount: 'cart' });
      expect(reviewer.reviews).toBe(1);
      clock += 60_001;
      await reviewer.review(token);
      expect(reviewer.reviews).toBe(2);
      // Bounded: a third token pushes the oldest out.
      const t2 = kubectl(['create', 'token', 'cart', '-n', 'shop', '--audience', 'istio-ca', '--duration', '1h']).trim();
      const t3 = kubectl(['create', 'token', 'cart', '-n', 'shop', '--audience', 'istio-ca', '--duration', '1h']).trim();
      await reviewer.review(t2);
      await reviewer.review(t3);
      expect(reviewer.cached).toBe(2);
      await reviewer.review(token);
      expect(reviewer.reviews).toBe(5);
      // Never past the token's own exp: 59 s before it, the answer lives 59 s, not 60.
      const exp = JSON.parse(Buffer.from(t3.split('.')[1]!, 'base64url').toString()).exp as number;
      clock = exp * 1000 - 59_000;
      const r0 = reviewer.reviews;
      await reviewer.review(t3);
      clock += 59_500;
      // (The API server's own clock has not moved: it answers yes again, but it was asked.)
      await reviewer.review(t3);
      expect(reviewer.reviews).toBe(r0 + 2);
    } finally {
      reviewer.close();
    }

    // A user who is no service account: the test's static token, reviewed for the API server's own audience.
    const apiAudience = new KubeTokenReviewer({ server: cluster!.server, insecureSkipTlsVerify: true, token: () => cpToken }, { audience: 'https://kubernetes.default.svc.cluster.local' });
    try {
      await expect(apiAudience.review(cluster!.token)).rejects.toMatchObject({
        code: 'token_review_refused',
        message: 'token refused (TokenReview): user "wasmesh-test" is not a service account (system:serviceaccount:<namespace>:<name>)',
      });
    } finally {
      apiAudience.close();
    }

    kubectl(['create', 'serviceaccount', 'nobody', '-n', 'istio-system']);
    const noRbac = kubectl(['create', 'token', 'nobody', '-n', 'istio-system', '--duration', '1h']).trim();
    const forbidden = new KubeTokenReviewer({ server: cluster!.server, insecureSkipTlsVerify: true, token: () => noRbac });
    try {
      const token = kubectl(['create', 'token', 'cart', '-n', 'shop', '--audience', 'istio-ca', '--duration', '1h']).trim();
      await expect(forbidden.review(token)).rejects.toMatchObject({
        code: 'token_review_unavailable',
        message: expect.stringMatching(/the API server answered 403: .*tokenreviews.*bind it to system:auth-delegator/),
      });
    } finally {
      forbidden.close();
    }
  }, 60_000);

  it('fails closed: with the API server stopped, a token not yet reviewed is refused UNAVAILABLE and nothing is issued', async () => {
    const fresh = kubectl(['create', 'token', 'cart', '-n', 'shop', '--audience', 'istio-ca', '--duration', '1h']).trim();
    await cluster!.stop();
    cluster = null;
    const r = await csrCall(fresh);
    expect(r.res).toBeUndefined();
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.err?.details).toMatch(/^cannot verify the Kubernetes token: .*\(TokenReview at https:\/\/127\.0\.0\.1:\d+\); refused, never issued unverified$/);
  }, 60_000);
});
