// `npm run bench:kube-sync [-- <services>]`: how long `wasmesh control-plane --kube` takes to a
// full sync of a real API server holding N Services (default 1,000), each with an EndpointSlice
// of 3 endpoints, plus the Istio CRDs, and the control plane's RSS once synced. The API server
// is test/helpers/kube-cluster.ts's (built by scripts/install-kube.sh). A measurement, not a
// test: it prints figures and asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../host/common/free-port.js';
import { kubeUnavailableReason, startKubeCluster } from '../../test/helpers/kube-cluster.js';

const BIN = fileURLToPath(new URL('../../../bin/wasmesh.js', import.meta.url));
const N = Number(process.argv[2] ?? 1000);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function main(): Promise<void> {
  const reason = kubeUnavailableReason();
  if (reason !== null) throw new Error(reason);
  const kube = await startKubeCluster();
  try {
    const crds = spawnSync(process.execPath, [BIN, 'install', '--crds-only'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (kube.kubectl(['apply', '--server-side', '-f', '-'], crds.stdout).status !== 0) throw new Error('CRDs not applied');
    await kube.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    const t0 = Date.now();
    // POSTed directly, 16 at a time (kubectl create of large lists is slower than this).
    const objects: Array<{ path: string; body: unknown }> = [];
    for (let i = 0; i < N; i++) {
      objects.push({ path: '/api/v1/namespaces/bench/services', body: { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'bench' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } } });
      objects.push({
        path: '/apis/discovery.k8s.io/v1/namespaces/bench/endpointslices',
        body: {
          apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
          metadata: { name: `svc-${i}-1`, namespace: 'bench', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
          addressType: 'IPv4',
          endpoints: [1, 2, 3].map((k) => ({ addresses: [`10.${1 + (i >> 8)}.${i & 255}.${k}`], conditions: { ready: true } })),
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
      });
    }
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < objects.length) {
        const o = objects[next++]!;
        const r = await kube.api('POST', o.path, o.body);
        if (r.status !== 201) throw new Error(`POST ${o.path}: ${r.status} ${r.body}`);
      }
    }));
    console.log(`created ${N} Services + ${N} EndpointSlices in ${Date.now() - t0} ms`);

    const mon = await freePort('127.0.0.1');
    const started = Date.now();
    const cp = spawn(process.execPath, [BIN, 'control-plane', '--kube', '--kubeconfig', kube.kubeconfig, '--xds-listen', `127.0.0.1:${await freePort('127.0.0.1')}`, '--monitoring', `127.0.0.1:${mon}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    cp.stderr!.on('data', (d) => (log += d));
    for (;;) {
      if (cp.exitCode !== null) throw new Error(`control plane exited:\n${log}`);
      const ok = await fetch(`http://127.0.0.1:${mon}/ready`).then((r) => r.status === 200, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const syncMs = Date.now() - started;
    const configz = JSON.parse(await (await fetch(`http://127.0.0.1:${mon}/debug/configz`)).text()) as { warnings: string[] };
    console.log(`control-plane --kube: ready (every kind listed, config version 1 read) ${syncMs} ms after spawn; RSS ${rssMiB(cp.pid!)} MiB; ${configz.warnings.length} warning(s)`);
    await new Promise((r) => setTimeout(r, 3000));
    console.log(`RSS 3 s later: ${rssMiB(cp.pid!)} MiB`);
    // One change: how long until the control plane has read version 2.
    const changed = Date.now();
    await kube.api('POST', '/api/v1/namespaces/bench/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc-new', namespace: 'bench' }, spec: { ports: [{ name: 'http', port: 80 }] } });
    while (!/config version 2 loaded/.test(log)) await new Promise((r) => setTimeout(r, 20));
    console.log(`one Service added: version 2 read ${Date.now() - changed} ms after the POST was sent (includes the 100 ms debounce)`);
    cp.kill('SIGTERM');
  } finally {
    await kube.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
