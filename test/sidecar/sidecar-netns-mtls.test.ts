// Mesh mTLS between two pods on real packets: pods A and B are network namespaces joined by a veth
// pair, each with an app on 5005, the capture rules docker/iptables-init.sh installs, and
// `wasmesh sidecar` as uid 1337 with a workload certificate (--cert-dir, issued by a test mesh CA)
// under a mesh-wide PeerAuthentication STRICT. A's app dials B's address in plaintext; A's capture
// sends it to A's outbound 15001, which originates Istio's mTLS (auto mTLS: B's WorkloadEntry has
// the tlsMode label and its service account); B's capture sends it to B's inbound 15006, which
// terminates it and hands B's app the request with A's SPIFFE ID in x-forwarded-client-cert.
// Plaintext straight to B's app port is captured into 15006 too, and refused there.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodNetwork, netnsUnavailableReason } from '../helpers/netns.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { ensureBuilt } from '../helpers/wasmesh-process.js';
import { meshServiceEntryYaml, peerAuthenticationYaml, workloadEntryYaml, yamlDocs } from '../../host/config/istio-yaml-builders.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'docker/iptables-init.sh');
const BIN = join(ROOT, 'bin/wasmesh.js');
const WHOAMI = fileURLToPath(new URL('./fixtures/whoami-http.mjs', import.meta.url));
const HTTP_GET = fileURLToPath(new URL('./fixtures/http-get.mjs', import.meta.url));
// TEST-NET-2, so this suite shares neither names nor addresses with sidecar-netns.test.ts.
const B_ADDR = '198.51.100.2';
const A_ADDR = '198.51.100.1';
const APP_PORT = 5005;
const PROXY_UID = 1337;
const STRICT_B_SVC = 'outbound|5005||b-svc.default.svc.cluster.local';

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the sidecar mTLS namespace test: ${reason}`);

/** The mesh both sidecars load: STRICT mesh-wide, and B's service with its one labelled endpoint. */
function meshYaml(): string {
  return yamlDocs(
    peerAuthenticationYaml('STRICT'),
    meshServiceEntryYaml({ name: 'b-svc', namespace: 'default', host: 'b-svc', port: { number: APP_PORT, name: 'http', protocol: 'HTTP' }, selector: { app: 'b' } }),
    workloadEntryYaml({ name: 'b-1', namespace: 'default', address: B_ADDR, serviceAccount: 'b', labels: { app: 'b', 'security.istio.io/tlsMode': 'istio' }, ports: { http: APP_PORT } }),
  );
}

interface Got { status?: number; server?: string | null; body?: string; error?: string }
interface Whoami { who: string; port: number; host: string | null; xff: string | null; path: string; from: string; xfcc?: string }

interface Pod {
  ns: string;
  sidecar: ChildProcess;
  log: string;
}

describe.skipIf(reason !== null)('two sidecar pods talk mTLS through the captured ports (STRICT)', () => {
  const net = new PodNetwork({ tag: 'wmm', podAddr: B_ADDR, peerAddr: A_ADDR });
  let ca: TestMeshCa;
  let dir = '';
  const pods: Record<'a' | 'b', Pod> = {} as Record<'a' | 'b', Pod>;

  const get = (ns: string, host: string, port: number, path: string, opts: { uid?: number; headers?: string[] } = {}): Got =>
    JSON.parse(net.exec(ns, [process.execPath, HTTP_GET, host, String(port), path, ...(opts.headers ?? [])], { uid: opts.uid }).stdout);
  const stats = (pod: Pod): Record<string, number> => JSON.parse(get(pod.ns, '127.0.0.1', 15000, '/stats?format=json').body!);
  const logs = (): string => `\n--- sidecar A ---\n${pods.a.log}\n--- sidecar B ---\n${pods.b.log}`;
  /** Waits (bounded) for a sidecar's output to match: the synchronous execs starve its reader. */
  const logged = async (pod: Pod, pattern: RegExp): Promise<void> => {
    for (let i = 0; i < 50 && !pattern.test(pod.log); i++) await new Promise((r) => setTimeout(r, 100));
    expect(pod.log).toMatch(pattern);
  };

  /** A --cert-dir for ns default / `sa`, readable only by the sidecar's uid (as a mounted secret). */
  async function certDir(sa: string): Promise<string> {
    const svid = await ca.svid('default', sa);
    const d = join(dir, `certs-${sa}`);
    mkdirSync(d, { mode: 0o700 });
    writeFileSync(join(d, 'cert-chain.pem'), svid.certChainPem, { mode: 0o644 });
    writeFileSync(join(d, 'key.pem'), svid.keyPem, { mode: 0o600 });
    writeFileSync(join(d, 'root-cert.pem'), ca.rootsPem, { mode: 0o644 });
    for (const f of ['', 'cert-chain.pem', 'key.pem', 'root-cert.pem']) chownSync(join(d, f), PROXY_UID, PROXY_UID);
    return d;
  }

  async function startPod(ns: string, sa: string, addr: string): Promise<Pod> {
    await net.start(ns, [process.execPath, WHOAMI, `${sa}@0.0.0.0:${APP_PORT}`]);
    net.exec(ns, ['bash', SCRIPT, '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-b', String(APP_PORT)]);
    // As sidecar-netns.test.ts runs it (see there for --foreground).
    const sidecar = net.spawn(ns, ['setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups', '--',
      'timeout', '--foreground', '300', process.execPath, BIN, 'sidecar', '-f', join(dir, 'mesh'), '--app-ports', String(APP_PORT),
      '--labels', `app=${sa}`, '--cert-dir', await certDir(sa)]);
    const pod: Pod = { ns, sidecar, log: '' };
    sidecar.stdout!.on('data', (d) => { pod.log += d; });
    sidecar.stderr!.on('data', (d) => { pod.log += d; });
    for (let i = 0; i < 100; i++) {
      if (sidecar.exitCode !== null) throw new Error(`sidecar in ${ns} exited early:\n${pod.log}`);
      if (get(ns, addr, 15021, '/healthz/ready').status === 200) return pod;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sidecar in ${ns} not ready:\n${pod.log}`);
  }

  beforeAll(async () => {
    await ensureBuilt();
    ca = await testMeshCa();
    net.create();
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-netns-mtls-'));
    chmodSync(dir, 0o755); // read by the sidecars as uid 1337
    mkdirSync(join(dir, 'mesh'), { mode: 0o755 });
    writeFileSync(join(dir, 'mesh', 'mesh.yaml'), meshYaml(), { mode: 0o644 });
    pods.b = await startPod(net.pod, 'b', B_ADDR);
    pods.a = await startPod(net.peer, 'a', A_ADDR);
  }, 300_000);

  afterAll(() => {
    net.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (ca) rmSync(ca.dir, { recursive: true, force: true });
  });

  it("A's app calls B's address in plaintext: captured, mTLS between the sidecars, B's app sees A's SPIFFE ID", async () => {
    const [aBefore, bBefore] = [stats(pods.a), stats(pods.b)];
    const got = get(pods.a.ns, B_ADDR, APP_PORT, '/hello', { headers: [`host:b-svc:${APP_PORT}`] });
    expect(got.status, JSON.stringify(got) + logs()).toBe(200);
    const seen = JSON.parse(got.body!) as Whoami;
    // B's app got it from B's sidecar over loopback, with A's identity in XFCC. Both sidecars append
    // their downstream's address to x-forwarded-for (A's outbound its app's, B's inbound A's
    // sidecar's): A's address twice (Istio's sidecars, use_remote_address false, append none).
    expect(seen).toMatchObject({ who: 'b', port: APP_PORT, host: `b-svc:${APP_PORT}`, xff: `${A_ADDR}, ${A_ADDR}`, path: '/hello', from: '127.0.0.1' });
    expect(seen.xfcc).toContain('URI=spiffe://cluster.local/ns/default/sa/a');
    expect(seen.xfcc).toContain('By=spiffe://cluster.local/ns/default/sa/b');
    const [aAfter, bAfter] = [stats(pods.a), stats(pods.b)];
    // One hop through each: A's outbound (auto mTLS cluster), B's inbound.
    expect(aAfter.downstream_rq_total).toBe(aBefore.downstream_rq_total + 1);
    expect(aAfter[`cluster.${STRICT_B_SVC}.upstream_rq_2xx`]).toBe((aBefore[`cluster.${STRICT_B_SVC}.upstream_rq_2xx`] ?? 0) + 1);
    expect(bAfter['http.inbound_0.0.0.0_15006.downstream_rq_total']).toBe(bBefore['http.inbound_0.0.0.0_15006.downstream_rq_total'] + 1);
    expect(bAfter['cluster.inbound|5005||.upstream_rq_2xx']).toBe((bBefore['cluster.inbound|5005||.upstream_rq_2xx'] ?? 0) + 1);
    await logged(pods.b, /"GET \/hello HTTP\/1\.1" 200 .* inbound\|5005\|\|/);
  });

  it("plaintext straight to B's app port (from A as uid 1337, past A's capture) is captured into 15006 and refused: nothing reaches B's app", async () => {
    const before = stats(pods.b);
    const got = get(pods.a.ns, B_ADDR, APP_PORT, '/direct', { uid: PROXY_UID, headers: [`host:b-svc:${APP_PORT}`] });
    expect(got.status, JSON.stringify(got) + logs()).toBeUndefined();
    expect(got.error).toBeDefined();
    const after = stats(pods.b);
    expect(after['cluster.inbound|5005||.upstream_rq_total'] ?? 0).toBe(before['cluster.inbound|5005||.upstream_rq_total'] ?? 0);
    expect(after['http.inbound_0.0.0.0_15006.downstream_rq_total']).toBe(before['http.inbound_0.0.0.0_15006.downstream_rq_total']);
    await logged(pods.b, /downstream tls handshake from 198\.51\.100\.1\S* failed: ssl\.connection_error/);
    // The same request still works through A's sidecar, so the refusal is STRICT, not a dead path.
    expect(get(pods.a.ns, B_ADDR, APP_PORT, '/again', { headers: [`host:b-svc:${APP_PORT}`] }).status).toBe(200);
  });

  it('both sidecars drain and exit 0 on SIGTERM', async () => {
    for (const pod of [pods.a, pods.b]) {
      const exited = new Promise((resolve) => pod.sidecar.on('close', (code, signal) => resolve({ code, signal })));
      pod.sidecar.kill('SIGTERM');
      const result = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
      expect(result, logs()).toEqual({ code: 0, signal: null });
    }
  });
});
