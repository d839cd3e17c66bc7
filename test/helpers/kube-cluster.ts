// A real Kubernetes API server for tests (issue 16): etcd and kube-apiserver built by
// scripts/install-kube.sh (cached outside the repository by version), started on loopback with a
// temporary data directory, a test bearer token in system:masters, a service-account key pair
// made here with node:crypto, RBAC, and a kubeconfig for the built kubectl. One per test file
// (start it in beforeAll): it is ready in seconds but holds ~300 MB. Absent binaries skip the
// suite with the reason, unless WASMESH_REQUIRE_KUBE=1 (set by .ci/run), where absence fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../host/common/free-port.js';

/** The versions scripts/install-kube.sh builds (its cache directory is named after them). */
const KUBE_CACHE = `kube-1.34.4-etcd-3.6.16`;
const BINARIES = ['etcd', 'kube-apiserver', 'kubectl'] as const;

/** Where the binaries are: $KUBE_BIN_DIR, else install-kube.sh's default cache. */
export function kubeBinDir(): string {
  const fromEnv = process.env.KUBE_BIN_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return join(process.env.WASMESH_CACHE_DIR ?? join(homedir(), '.cache', 'wasmesh'), KUBE_CACHE);
}

/**
 * Why the API server tests cannot run here, or null when they can. With WASMESH_REQUIRE_KUBE=1
 * (set by .ci/run after building them) a reason is an error, so CI fails instead of skipping.
 */
export function kubeUnavailableReason(): string | null {
  const dir = kubeBinDir();
  let reason: string | null = null;
  for (const bin of BINARIES) {
    try {
      accessSync(join(dir, bin), constants.X_OK);
    } catch {
      reason = `${bin} not found in ${dir} (run scripts/install-kube.sh, or set KUBE_BIN_DIR to its output)`;
      break;
    }
  }
  if (reason !== null && process.env.WASMESH_REQUIRE_KUBE === '1') {
    throw new Error(`Kubernetes API server tests: WASMESH_REQUIRE_KUBE=1 but ${reason}`);
  }
  return reason;
}

export interface KubeCluster {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** The bearer token of the test user (group system:masters). */
  readonly token: string;
  /** A kubeconfig file for kubectl (and clients) pointing at this server with that token. */
  readonly kubeconfig: string;
  /** Runs the built kubectl against this server; never throws: the caller checks status. */
  kubectl(args: readonly string[], input?: string): { status: number; stdout: string; stderr: string };
  /** GET/POST/… on the API with the test token (the serving certificate is self-signed). */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  /** What etcd and the API server wrote (for failure messages). */
  log(): string;
  /** Stops only kube-apiserver (SIGTERM), etcd and its data kept: clients see the server away. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and etcd, and waits for /readyz. */
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts etcd, then kube-apiserver on it, and waits until /readyz answers ok (or throws with their logs).
 * `clusterEgressUds`: the API server's "cluster" traffic (admission webhooks called by Service
 * reference, at the Service's ClusterIP) goes through an HTTP CONNECT proxy on that unix socket
 * (an EgressSelectorConfiguration, as with Konnectivity; test/kube/fixtures/connect-proxy.mjs).
 */
export async function startKubeCluster(opts: { readyTimeoutMs?: number; clusterEgressUds?: string } = {}): Promise<KubeCluster> {
  const bin = kubeBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-kube-'));
  const children: ChildProcess[] = [];
  let output = '';
  const capture = (name: string, child: ChildProcess): void => {
    // Only the tail is kept: the API server logs every request at its default level.
    const add = (b: Buffer): void => {
      output = (output + b.toString().split('\n').map((l) => (l === '' ? l : `[${name}] ${l}`)).join('\n')).slice(-64_000);
    };
    child.stdout!.on('data', add);
    child.stderr!.on('data', add);
  };
  const stop = async (): Promise<void> => {
    // The API server first, so it does not spin on a vanished etcd; SIGTERM, then SIGKILL.
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // ---- etcd: one member on loopback, no fsync (the data is thrown away) --------------------
    const clientPort = await freePort('127.0.0.1');
    let peerPort = await freePort('127.0.0.1');
    while (peerPort === clientPort) peerPort = await freePort('127.0.0.1');
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const etcd = spawn(join(bin, 'etcd'), [
      '--name=wasmesh-test', `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=wasmesh-test=http://127.0.0.1:${peerPort}`,
      '--log-level=warn', '--unsafe-no-fsync', '--listen-metrics-urls=',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(etcd);
    capture('etcd', etcd);

    // ---- credentials: a static token in system:masters, a service-account key pair --------------
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},wasmesh-test,wasmesh-test-uid,"system:masters"\n`);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

    // ---- kube-apiserver on 127.0.0.1 ---------------------------------------------------------
    const port = await freePort('127.0.0.1');
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--api-audiences=https://kubernetes.default.svc.cluster.local',
      '--authorization-mode=RBAC',
      // An address range for ClusterIPs only: nothing is ever sent to it (no kube-proxy here).
      '--service-cluster-ip-range=10.96.0.0/16',
      // What a test server does not need, off so that it starts fast: the `kubernetes` Service's
      // endpoints (a loopback address is not a valid endpoint), priority and fairness, profiling.
      '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--enable-logs-handler=false',
      '--v=0',
    ];
    if (opts.clusterEgressUds !== undefined) {
      writeFileSync(join(dir, 'egress.yaml'), [
        'apiVersion: apiserver.k8s.io/v1beta1',
        'kind: EgressSelectorConfiguration',
        'egressSelections:',
        '- name: cluster',
        '  connection:',
        '    proxyProtocol: HTTPConnect',
        '    transport:',
        '      uds:',
        `        udsName: ${opts.clusterEgressUds}`,
        '',
      ].join('\n'));
      apiserverArgs.push(`--egress-selector-config-file=${join(dir, 'egress.yaml')}`);
    }
    const spawnApiServer = (): ChildProcess => {
      const child = spawn(join(bin, 'kube-apiserver'), apiserverArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      capture('kube-apiserver', child);
      return child;
    };
    let apiserver = spawnApiServer();

    const server = `https://127.0.0.1:${port}`;
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: wasmesh-test',
      '  cluster:',
      `    server: ${server}`,
      // The serving certificate is self-signed by the API server in --cert-dir.
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: wasmesh-test',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: wasmesh-test',
      '  context: {cluster: wasmesh-test, user: wasmesh-test, namespace: default}',
      'current-context: wasmesh-test',
      '',
    ].join('\n'));

    const api = (method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(`${server}${path}`, {
          method,
          rejectUnauthorized: false,
          headers: { authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
          timeout: 10_000,
        }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', reject);
        req.end(payload);
      });

    const waitReady = async (): Promise<void> => {
      const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
      for (;;) {
        for (const [name, child] of [['etcd', etcd], ['kube-apiserver', apiserver]] as const) {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before the API server was ready`);
        }
        const ready = await api('GET', '/readyz').catch(() => null);
        if (ready !== null && ready.status === 200 && ready.body.trim() === 'ok') break;
        if (Date.now() > deadline) throw new Error(`the API server was not ready within ${opts.readyTimeoutMs ?? 60_000} ms (last /readyz: ${ready === null ? 'no answer' : `${ready.status} ${ready.body.slice(0, 500)}`})`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await waitReady();

    return {
      server,
      token,
      kubeconfig,
      kubectl(args, input) {
        const r = spawnSync(join(bin, 'kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], { encoding: 'utf8', input, timeout: 60_000 });
        return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error !== undefined ? String(r.error) : '') };
      },
      api,
      log: () => output,
      async stopApiServer() {
        if (apiserver.exitCode !== null || apiserver.signalCode !== null) return;
        const exited = new Promise<void>((r) => apiserver.once('exit', () => r()));
        apiserver.kill('SIGTERM');
        const timer = setTimeout(() => apiserver.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      },
      async startApiServer() {
        apiserver = spawnApiServer();
        await waitReady();
      },
      stop,
    };
  } catch (err) {
    const log = output;
    await stop();
    throw new Error(`${(err as Error).message}\n--- etcd / kube-apiserver output (tail) ---\n${log.slice(-8_000)}`);
  }
}
