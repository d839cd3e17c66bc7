// A sidecar pod on real packets, shared by the namespace suites of test/sidecar (TPROXY,
// outbound planes, inbound passthrough): a throwaway pod and peer namespace (TEST-NET-2, a
// default route via the peer so connects to unknown addresses reach the capture), a watched YAML
// folder, the Istio YAML the suites route with (service VIPs nobody owns, so only the sidecar's
// routing reaches the peer's servers), iptables capture (docker/iptables-init.sh), and the
// sidecar itself — `wasmesh sidecar` behind the socket-activation helper with transparent
// listeners (files or xDS), or stock Envoy from `wasmesh envoy-bootstrap --proxy-type sidecar`
// served by `wasmesh control-plane` — plus the clients the suites talk with (the fixtures in
// test/sidecar/fixtures run inside the pod) and the proxy's counters as one flat map whichever
// plane. Everything is removed by destroy().
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodNetwork } from './netns.js';
import { ensureBuilt } from './wasmesh-process.js';
import { listenHelper } from './listen-helper.js';
import { leaf } from './test-certs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const IPTABLES_SCRIPT = join(ROOT, 'docker/iptables-init.sh');
export const BIN = join(ROOT, 'bin/wasmesh.js');
const FIXTURE = (f: string): string => fileURLToPath(new URL(`../sidecar/fixtures/${f}`, import.meta.url));
export const WHOAMI = FIXTURE('whoami-http.mjs');
export const HTTP_GET = FIXTURE('http-get.mjs');
export const TCP_SERVERS = FIXTURE('tcp-servers.mjs');
export const TCP_TALK = FIXTURE('tcp-talk.mjs');
export const H2C_GET = FIXTURE('h2c-get.mjs');
export const TLS_WHOAMI = FIXTURE('tls-whoami.mjs');
export const TLS_GET = FIXTURE('tls-get.mjs');

// TEST-NET-2, apart from the other sidecar suites' ranges.
export const POD = '198.51.100.2';
export const PEER = '198.51.100.1';
/** Service VIPs nobody owns (as ClusterIPs): only original-destination routing reaches them. */
export const REDIS_VIP = '198.51.100.50';
export const PLAIN_VIP = '198.51.100.51';
export const WEB_VIP = '198.51.100.52';
export const SECURE_VIP = '198.51.100.53';
export const SECURE_B_VIP = '198.51.100.54';
export const REDIS_B_VIP = '198.51.100.55';
export const PROXY_UID = 1337;

/** meshConfig with an outbound policy and protocolDetectionTimeout. */
export function meshYaml(mode: 'ALLOW_ANY' | 'REGISTRY_ONLY', detectMs: number): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    outboundTrafficPolicy: {mode: ${mode}}
    protocolDetectionTimeout: ${detectMs}ms
`;
}

/** A ServiceEntry for `<name>.example.internal` (or `host`), STATIC with the peer as its endpoint unless told (a YAML document; `ports` as YAML). */
export function serviceEntry(name: string, o: { host?: string; addresses?: string[]; ports: string; location?: 'MESH_INTERNAL' | 'MESH_EXTERNAL'; resolution?: 'STATIC' | 'NONE' }): string {
  const resolution = o.resolution ?? 'STATIC';
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${o.host ?? `${name}.example.internal`}]
${o.addresses !== undefined ? `  addresses: [${o.addresses.map((a) => `'${a}'`).join(', ')}]\n` : ''}  location: ${o.location ?? 'MESH_INTERNAL'}
  resolution: ${resolution}
  ports: ${o.ports}
${resolution === 'STATIC' ? `  endpoints: [{address: ${PEER}}]\n` : ''}`;
}

/** The YAML both outbound suites share: a REDIS VIP, TLS VIPs with a tls: rule by SNI, an HTTP VIP. */
export const REDIS_SE = serviceEntry('redis', { addresses: [REDIS_VIP], ports: '[{number: 6379, name: redis, protocol: REDIS}]' });
export const SECURE_B_SE = serviceEntry('secure-b', { addresses: [SECURE_B_VIP], ports: '[{number: 443, name: https, targetPort: 9443}]' });
export const SECURE_BY_SNI_VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: secure-by-sni, namespace: default}
spec:
  hosts: [secure.example.internal, '*.secure.example.internal']
  tls:
  - match: [{port: 443, sniHosts: [v2.secure.example.internal]}]
    route: [{destination: {host: secure-b.example.internal, port: {number: 443}}}]
`;

/** Joins YAML documents. */
export function docs(...parts: string[]): string {
  return parts.map((p) => p.trimEnd()).join('\n---\n') + '\n';
}

export interface Talk { received: string; greetedMs: number | null; ended: string; ms: number }
export interface Got { status?: number; server?: string | null; body?: string; error?: string }

/** Which sidecar: wasmesh (TPROXY only: Node cannot read SO_ORIGINAL_DST), stock Envoy behind either capture, or Envoy with the wasmesh filters (TPROXY). */
export type Plane = 'wasmesh' | 'envoy' | 'envoy-redirect' | 'envoy-filters';

export class SidecarPod {
  readonly net: PodNetwork;
  /** The watched YAML folder (services.yaml, mesh.yaml, and whatever a suite adds). */
  dir = '';
  #envoyDir = '';
  /** Everything the proxy and control plane printed. */
  log = '';
  /** The pod's loopback the control plane and admin API listen on (::1 in an IPv6-only pod). */
  readonly loopback: string;
  /** The pod's address in its node id. */
  readonly podIp: string;

  /** `ipv6Only`: the pod and peer have no IPv4 address (addIpv6 gives them theirs), the control plane and admin on ::1. */
  constructor(tag: string, opts: { ipv6Only?: { pod: string; peer: string } } = {}) {
    this.net = new PodNetwork({ tag, podAddr: POD, peerAddr: PEER, ipv4: opts.ipv6Only === undefined });
    this.#ipv6Only = opts.ipv6Only ?? null;
    this.loopback = opts.ipv6Only === undefined ? '127.0.0.1' : '::1';
    this.podIp = opts.ipv6Only?.pod ?? POD;
  }

  readonly #ipv6Only: { pod: string; peer: string } | null;

  /** host:port on the pod's loopback (bracketed for ::1). */
  at(port: number): string {
    return this.loopback.includes(':') ? `[${this.loopback}]:${port}` : `${this.loopback}:${port}`;
  }

  /** The namespaces (with the pod's default route via the peer) and the YAML folder. */
  async create(files: Record<string, string>): Promise<void> {
    await ensureBuilt();
    this.net.create();
    // The app's connects to unknown addresses need a route before the mangle OUTPUT rule marks them.
    if (this.#ipv6Only === null) this.net.exec(this.net.pod, ['ip', 'route', 'add', 'default', 'via', PEER]);
    else this.net.addIpv6(this.#ipv6Only.pod, this.#ipv6Only.peer);
    this.dir = mkdtempSync(join(tmpdir(), `wasmesh-${this.net.pod}-`));
    chmodSync(this.dir, 0o755);
    for (const [name, text] of Object.entries(files)) this.write(name, text);
  }

  /** Writes (or rewrites: a live edit) a file of the watched folder. */
  write(name: string, text: string): void {
    writeFileSync(join(this.dir, name), text, { mode: 0o644 });
  }

  /** A certificate for secure.example.internal in the folder's sibling files, for the TLS servers. */
  tlsCert(): { cert: string; key: string } {
    const cert = leaf({ dns: ['secure.example.internal'], noSpiffe: true });
    writeFileSync(join(this.dir, 'tls-cert.pem'), cert.certPem, { mode: 0o644 });
    writeFileSync(join(this.dir, 'tls-key.pem'), cert.keyPem, { mode: 0o644 });
    return { cert: join(this.dir, 'tls-cert.pem'), key: join(this.dir, 'tls-key.pem') };
  }

  /** docker/iptables-init.sh in the pod: `-b` the inbound ports captured ('' none, '*' all). */
  capture(mode: 'TPROXY' | 'REDIRECT', inboundPorts: string, extra: string[] = []): void {
    this.net.exec(this.net.pod, ['bash', IPTABLES_SCRIPT, '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', mode, '-i', '*', '-b', inboundPorts, ...extra]);
  }

  /** `wasmesh control-plane` on the pod's loopback (never captured), watching the folder. */
  controlPlane(): ChildProcess {
    const cp = this.net.spawn(this.net.pod, [process.execPath, BIN, 'control-plane', '-f', this.dir, '--xds-listen', this.at(15010), '--monitoring', this.at(15014)]);
    this.#logged(cp, '[cp] ');
    return cp;
  }

  /**
   * `wasmesh sidecar` behind the socket-activation helper (transparent listeners on `bind`:
   * 0.0.0.0, or `[::]` for dual-stack), dropped to uid 1337: from the folder, or over xDS.
   */
  wasmesh(appPorts: string, source: 'files' | 'xds', extra: string[] = [], bind = '0.0.0.0'): ChildProcess {
    const from = source === 'files' ? ['-f', this.dir] : ['--xds', this.at(15010)];
    const proxy = this.net.spawn(this.net.pod, ['timeout', '--foreground', '300', listenHelper(), '--transparent',
      '--listen', `outbound=${bind}:15001`, '--listen', `inbound=${bind}:15006`, '--user', String(PROXY_UID), '--',
      process.execPath, BIN, 'sidecar', ...from, '--app-ports', appPorts, ...extra]);
    this.#logged(proxy, '');
    return proxy;
  }

  /**
   * Stock Envoy as Istio's proxy runs: uid 1337 (excluded from capture), with NET_ADMIN for
   * TPROXY's transparent listeners (behind REDIRECT none: SO_ORIGINAL_DST), from
   * `wasmesh envoy-bootstrap --proxy-type sidecar` against the control plane.
   */
  envoy(envoyBin: string, mode: 'TPROXY' | 'REDIRECT', extra: string[] = []): ChildProcess {
    const bootstrap = this.net.exec(this.net.pod, [process.execPath, BIN, 'envoy-bootstrap', '--xds', this.at(15010), '--admin', this.at(15000),
      '--proxy-type', 'sidecar', '--interception-mode', mode, '--labels', 'app=client', '--node-id', `sidecar~${this.podIp}~client.default~default.svc.cluster.local`, ...extra]).stdout;
    // Beside the watched folder: the control plane reads every YAML file in it.
    this.#envoyDir = mkdtempSync(join(tmpdir(), 'wasmesh-envoy-bootstrap-'));
    chmodSync(this.#envoyDir, 0o755);
    writeFileSync(join(this.#envoyDir, 'envoy.yaml'), bootstrap, { mode: 0o644 });
    const caps = mode === 'TPROXY' ? ['--inh-caps=+net_admin', '--ambient-caps=+net_admin'] : [];
    const proxy = this.net.spawn(this.net.pod, ['timeout', '--foreground', '300', 'setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups',
      ...caps, '--', envoyBin, '-c', join(this.#envoyDir, 'envoy.yaml'), '--concurrency', '1', '--disable-hot-restart', '-l', 'warning']);
    this.#logged(proxy, '');
    return proxy;
  }

  /** Polls `ready` until it holds; fails naming the log when a watched process exits or time runs out. */
  async until(what: string, ready: () => boolean, watched: ChildProcess[], tries = 300): Promise<void> {
    for (let i = 0; i < tries; i++) {
      const gone = watched.find((p) => p.exitCode !== null);
      if (gone !== undefined) throw new Error(`${what}: a process exited early (${gone.spawnargs.slice(4, 8).join(' ')}):\n${this.log}`);
      if (ready()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what} not ready:\n${this.log}`);
  }

  #logged(child: ChildProcess, prefix: string): void {
    child.stdout!.on('data', (d) => { this.log += `${prefix}${d}`; });
    child.stderr!.on('data', (d) => { this.log += `${prefix}${d}`; });
  }

  /** A TCP exchange from the pod (tcp-talk.mjs): `wait` reads a server-first greeting before sending. */
  talk(host: string, port: number, text: string, wait = false, ns = this.net.pod): Talk {
    return JSON.parse(this.net.exec(ns, [process.execPath, TCP_TALK, host, String(port), wait ? 'wait' : 'send', text]).stdout);
  }

  /** An HTTP/1.1 GET from a namespace (the pod unless told), with `name:value` headers. */
  get(host: string, port: number, path: string, headers: string[] = [], ns = this.net.pod): Got {
    return JSON.parse(this.net.exec(ns, [process.execPath, HTTP_GET, host, String(port), path, ...headers]).stdout);
  }

  /** A GET over TLS with `sni` (the bytes pass the sidecar untouched). */
  tlsGet(host: string, port: number, sni: string, path: string): Got {
    return JSON.parse(this.net.exec(this.net.pod, [process.execPath, TLS_GET, host, String(port), sni, path]).stdout);
  }

  /** The sidecar's counters as one flat map, whichever plane (Envoy's JSON is a list of {name, value}). */
  stats(): Record<string, number> {
    const body = JSON.parse(this.get(this.loopback, 15000, '/stats?format=json').body!) as Record<string, number> | { stats: Array<{ name: string; value?: number }> };
    if (!('stats' in body) || !Array.isArray(body.stats)) return body as Record<string, number>;
    const out: Record<string, number> = {};
    for (const s of body.stats) if (typeof s.value === 'number') out[s.name] = s.value;
    return out;
  }

  /** Envoy's (or wasmesh's) Prometheus text. */
  prometheus(): string {
    return this.get(this.loopback, 15000, '/stats/prometheus').body!;
  }

  destroy(): void {
    this.net.destroy();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    if (this.#envoyDir) rmSync(this.#envoyDir, { recursive: true, force: true });
  }
}

/** A counter's change between two stats() maps. */
export function delta(before: Record<string, number>, after: Record<string, number>, name: string): number {
  return (after[name] ?? 0) - (before[name] ?? 0);
}
