// `npm run bench:kube-sync [-- <services> [<pods> [<proxies>]]]`: how long `wasmesh control-plane
// --kube` takes to a full sync of a real API server holding N Services (default 1,000), each with
// an EndpointSlice, P Pods (default 5,000, spread over the Services, each slice naming its pods
// by targetRef, so labels and service accounts come from the Pods), a ServiceAccount per Service
// and the Istio CRDs; then how long until K connected proxies (default 20 simulated wasmesh
// sidecars over real gRPC delta ADS streams, bench/xds/sim-proxy.ts) hold their full config, and
// the control plane's CPU seconds and RSS (sampled every 100 ms) during both; then one Service
// added: time until every proxy received the change. The API server is
// test/helpers/kube-cluster.ts's (built by scripts/install-kube.sh). A measurement, not a test:
// it prints figures and asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../host/common/free-port.js';
import { kubeUnavailableReason, startKubeCluster } from '../../test/helpers/kube-cluster.js';
import { cpuSeconds, statusMiB, UsageMeter } from '../e2e/proc-stats.js';
import { BENCH_NAMESPACE } from '../xds/mesh-yaml.js';
import { SimProxy } from '../xds/sim-proxy.js';

const BIN = fileURLToPath(new URL('../../../bin/wasmesh.js', import.meta.url));
const N = Number(process.argv[2] ?? 1000);
const P = Number(process.argv[3] ?? 5000);
const K = Number(process.argv[4] ?? 20);
const NS = BENCH_NAMESPACE;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (n: number): string => `${n.toFixed(0)} MiB`;

/** The address of pod j (10.64.0.0/10: room for 5,000 and more, none of them reachable). */
const podIp = (j: number): string => `10.${64 + (j >> 16)}.${(j >> 8) & 255}.${j & 255}`;

/** Resolves when every proxy received something since `since` and then nothing for `settleMs`; the last arrival. */
async function converged(sims: SimProxy[], since: number, settleMs: number, timeoutMs: number, what: string): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const failed = sims.find((s) => s.error !== null);
    if (failed) throw new Error(`${what}: proxy ${failed.id} lost its stream: ${failed.error}`);
    let last = -1;
    let all = true;
    for (const s of sims) {
      const got = s.since(since);
      if (got.length === 0) all = false;
      else last = Math.max(last, got[got.length - 1]!.at);
    }
    if (all && performance.now() - last >= settleMs) return last;
    if (performance.now() > deadline) throw new Error(`${what}: not converged within ${timeoutMs / 1000} s`);
    await sleep(20);
  }
}

async function main(): Promise<void> {
  const reason = kubeUnavailableReason();
  if (reason !== null) throw new Error(reason);
  const kube = await startKubeCluster();
  try {
    const crds = spawnSync(process.execPath, [BIN, 'install', '--crds-only'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (kube.kubectl(['apply', '--server-side', '-f', '-'], crds.stdout).status !== 0) throw new Error('CRDs not applied');
    await kube.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const t0 = Date.now();
    const podsOf = (i: number): number[] => Array.from({ length: Math.ceil((P - i) / N) }, (_, k) => i + k * N).filter((j) => j < P);
    // ServiceAccounts first (a pod's admission looks its account up), then the rest; POSTed directly, 16 at a time.
    const waves: Array<Array<{ path: string; body: unknown }>> = [[], []];
    for (let i = 0; i < N; i++) {
      waves[0]!.push({ path: `/api/v1/namespaces/${NS}/serviceaccounts`, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `svc-${i}`, namespace: NS } } });
      waves[1]!.push({ path: `/api/v1/namespaces/${NS}/services`, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: NS }, spec: { selector: { app: `svc-${i}` }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } } });
      waves[1]!.push({
        path: `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`,
        body: {
          apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
          metadata: { name: `svc-${i}-1`, namespace: NS, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
          addressType: 'IPv4',
          endpoints: podsOf(i).map((j) => ({ addresses: [podIp(j)], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `pod-${j}`, namespace: NS } })),
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
      });
    }
    for (let j = 0; j < P; j++) {
      const i = j % N;
      waves[1]!.push({
        path: `/api/v1/namespaces/${NS}/pods`,
        body: {
          apiVersion: 'v1', kind: 'Pod',
          metadata: { name: `pod-${j}`, namespace: NS, labels: { app: `svc-${i}`, version: j % 2 === 0 ? 'v1' : 'v2' } },
          spec: { serviceAccountName: `svc-${i}`, containers: [{ name: 'app', image: 'example/app:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      });
    }
    for (const objects of waves) {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < objects.length) {
          const o = objects[next++]!;
          const r = await kube.api('POST', o.path, o.body);
          if (r.status !== 201) throw new Error(`POST ${o.path}: ${r.status} ${r.body}`);
        }
      }));
    }
    console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`created ${N} Services + ${N} EndpointSlices + ${P} Pods + ${N} ServiceAccounts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const mon = await freePort('127.0.0.1');
    const xds = await freePort('127.0.0.1');
    const started = performance.now();
    const cp = spawn(process.execPath, [BIN, 'control-plane', '--kube', '--kubeconfig', kube.kubeconfig, '--xds-listen', `127.0.0.1:${xds}`, '--monitoring', `127.0.0.1:${mon}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    cp.stderr!.on('data', (d) => (log += d));
    const meter = new UsageMeter(cp.pid!);
    for (;;) {
      if (cp.exitCode !== null) throw new Error(`control plane exited:\n${log}`);
      const ok = await fetch(`http://127.0.0.1:${mon}/ready`).then((r) => r.status === 200, () => false);
      if (ok) break;
      await sleep(20);
    }
    const readyAt = performance.now();
    // The control plane's own log: when it began listing (node and module start-up before that).
    const listingAt = /^\[([^\]]+)\]\[info\] kube: listing and watching/m.exec(log)?.[1];
    const syncCpu = cpuSeconds(cp.pid!);
    const syncRss = statusMiB(cp.pid!, 'VmRSS');
    const configz = JSON.parse(await (await fetch(`http://127.0.0.1:${mon}/debug/configz`)).text()) as { warnings: string[] };
    const startupMs = listingAt !== undefined ? Date.parse(listingAt) - (Date.now() - (performance.now() - started)) : NaN;
    console.log(`full sync: ready (every kind listed, config version 1 read) ${((readyAt - started) / 1000).toFixed(2)} s after spawn (listing began ${(startupMs / 1000).toFixed(2)} s after spawn); ${syncCpu.toFixed(2)} CPU s; RSS ${mib(syncRss)}; ${configz.warnings.length} warning(s); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (machine shared)`);

    const sims: SimProxy[] = [];
    const connectAt = performance.now();
    for (let k = 0; k < K; k++) sims.push(new SimProxy({ port: xds, kind: 'wasmesh-delta', index: k }));
    const convergedAt = await converged(sims, connectAt, 500, 300_000, 'connecting');
    const usage = meter.stop();
    const bytes = sims.reduce((n, s) => n + s.received.reduce((m, r) => m + r.bytes, 0), 0);
    console.log(`${K} proxies connected at ready: all hold their full config ${((convergedAt - connectAt) / 1000).toFixed(2)} s later (${(bytes / K / 1024).toFixed(0)} KiB each); spawn → every proxy converged ${((convergedAt - started) / 1000).toFixed(2)} s`);
    console.log(`control plane from spawn to converged: ${usage.cpuSeconds.toFixed(2)} CPU s, peak RSS ${mib(usage.peakRssMiB)} (anon ${mib(usage.peakAnonMiB)}), VmHWM ${mib(statusMiB(cp.pid!, 'VmHWM'))}`);

    // One change: a Service with a slice of one pod; until every proxy received it.
    const meter2 = new UsageMeter(cp.pid!);
    const changed = performance.now();
    await kube.api('POST', `/api/v1/namespaces/${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc-new', namespace: NS }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    await kube.api('POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'svc-new-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'svc-new' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.127.0.1'], conditions: { ready: true } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
    const changeAt = await converged(sims, changed, 300, 120_000, 'the change');
    const u2 = meter2.stop();
    console.log(`one Service + EndpointSlice added: every proxy received it ${(changeAt - changed).toFixed(0)} ms after the first POST was sent (includes the 100 ms debounce); ${u2.cpuSeconds.toFixed(2)} CPU s, RSS ${mib(statusMiB(cp.pid!, 'VmRSS'))}`);
    for (const s of sims) s.close();
    cp.kill('SIGTERM');
  } finally {
    await kube.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
