// meshConfig outboundTrafficPolicy REGISTRY_ONLY reaching a sidecar over xDS, on real packets:
// `wasmesh control-plane` and `wasmesh sidecar --xds` in a throwaway pod namespace with TPROXY
// interception (as sidecar-tproxy-netns.test.ts, which reads files). The app's connection to an
// address the mesh does not know is closed (BlackHoleCluster), not passed through — the policy
// and the service addresses travel in wasmesh's resource header (lost, the capture side would
// default to ALLOW_ANY and pass it: fail open); a service VIP the mesh knows is still proxied.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodNetwork, netnsUnavailableReason } from '../helpers/netns.js';
import { ensureBuilt } from '../helpers/wasmesh-process.js';
import { listenHelper } from '../helpers/listen-helper.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'docker/iptables-init.sh');
const BIN = join(ROOT, 'bin/wasmesh.js');
const WHOAMI = fileURLToPath(new URL('./fixtures/whoami-http.mjs', import.meta.url));
const HTTP_GET = fileURLToPath(new URL('./fixtures/http-get.mjs', import.meta.url));
const TCP_SERVERS = fileURLToPath(new URL('./fixtures/tcp-servers.mjs', import.meta.url));
const TCP_TALK = fileURLToPath(new URL('./fixtures/tcp-talk.mjs', import.meta.url));
// Namespaces of their own (tag wmq); the addresses live only inside them.
const POD = '198.51.100.2';
const PEER = '198.51.100.1';
const REDIS_VIP = '198.51.100.50';
const PROXY_UID = 1337;

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping the TPROXY-over-xDS namespace test: ${reason}`);

const MESH = `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    outboundTrafficPolicy: {mode: REGISTRY_ONLY}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis, namespace: default}
spec:
  hosts: [redis.example.internal]
  addresses: [${REDIS_VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 6379, name: redis, protocol: REDIS}]
  endpoints: [{address: ${PEER}}]
`;

interface Talk { received: string; ended: string }
interface Got { status?: number; body?: string; error?: string }

describe.skipIf(reason !== null)('wasmesh sidecar --xds with TPROXY interception: REGISTRY_ONLY from the control plane', () => {
  const net = new PodNetwork({ tag: 'wmq', podAddr: POD, peerAddr: PEER });
  let dir = '';
  let log = '';

  const talk = (host: string, port: number, text: string): Talk =>
    JSON.parse(net.exec(net.pod, [process.execPath, TCP_TALK, host, String(port), 'send', text]).stdout);
  const get = (ns: string, host: string, port: number, path: string): Got =>
    JSON.parse(net.exec(ns, [process.execPath, HTTP_GET, host, String(port), path]).stdout);
  const stats = (): Record<string, number> => JSON.parse(get(net.pod, '127.0.0.1', 15000, '/stats?format=json').body!);

  beforeAll(async () => {
    const helper = listenHelper();
    await ensureBuilt();
    net.create();
    net.exec(net.pod, ['ip', 'route', 'add', 'default', 'via', PEER]);
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-tproxy-xds-netns-'));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'mesh.yaml'), MESH, { mode: 0o644 });
    await net.start(net.peer, [process.execPath, TCP_SERVERS, `echo@${PEER}:6379`, `echo@${PEER}:9000`]);
    await net.start(net.pod, [process.execPath, WHOAMI, 'app@0.0.0.0:5005']);
    // The control plane in the pod, on loopback (not captured); the sidecar (uid 1337) is excluded from capture.
    const cp: ChildProcess = net.spawn(net.pod, [process.execPath, BIN, 'control-plane', '-f', dir, '--xds-listen', '127.0.0.1:15010', '--monitoring', '127.0.0.1:15014']);
    cp.stdout!.on('data', (d) => { log += `[cp] ${d}`; });
    cp.stderr!.on('data', (d) => { log += `[cp] ${d}`; });
    net.exec(net.pod, ['bash', SCRIPT, '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'TPROXY', '-i', '*', '-b', '5005']);
    const sidecar = net.spawn(net.pod, ['timeout', '--foreground', '300', helper, '--transparent',
      '--listen', 'outbound=0.0.0.0:15001', '--listen', 'inbound=0.0.0.0:15006', '--user', String(PROXY_UID), '--',
      process.execPath, BIN, 'sidecar', '--xds', '127.0.0.1:15010', '--app-ports', '5005', '--labels', 'app=web']);
    sidecar.stdout!.on('data', (d) => { log += d; });
    sidecar.stderr!.on('data', (d) => { log += d; });
    for (let i = 0; i < 200; i++) {
      if (sidecar.exitCode !== null) throw new Error(`sidecar exited early:\n${log}`);
      if (cp.exitCode !== null) throw new Error(`control plane exited early:\n${log}`);
      if (get(net.peer, POD, 15021, '/healthz/ready').status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sidecar not ready:\n${log}`);
  }, 300_000);

  afterAll(() => {
    net.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('closes a connection to an address the mesh does not know (BlackHoleCluster), never reaching it', () => {
    const before = stats();
    const got = talk(PEER, 9000, 'anyone');
    expect(got, log).toMatchObject({ received: '' });
    expect(got.ended).toMatch(/closed|error:ECONNRESET/);
    const after = stats();
    expect((after['sidecar_outbound.original_dst_blackhole'] ?? 0) - (before['sidecar_outbound.original_dst_blackhole'] ?? 0)).toBe(1);
    expect(after['sidecar_outbound.original_dst_passthrough'] ?? 0).toBe(0);
  });

  it('still proxies a service VIP the mesh knows (its address came over xDS too)', () => {
    expect(talk(REDIS_VIP, 6379, 'PING'), log).toMatchObject({ received: 'echo:6379:PING', ended: 'replied' });
    expect(stats()['sidecar_outbound.original_dst_tcp']).toBeGreaterThanOrEqual(1);
  });
});
