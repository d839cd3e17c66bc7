// A node for the Kubernetes end-to-end test (test/kube/mesh-e2e-apiserver.test.ts): what the
// kubelet, the scheduler and the node's network would do for pods that the real API server and
// controllers made and the injection webhook injected, with network namespaces as the pods.
//
// - The node's network: a "node" network namespace with a bridge (10.244.0.1/24); each pod is a
//   namespace with a veth on that bridge, its pod IP, and a default route through the node (so a
//   Service's ClusterIP is routable, then captured by the pod's rules before it leaves). Names come
//   from /etc/netns/<pod>/hosts, which `ip netns exec` mounts over /etc/hosts: the cluster's DNS
//   (Service names → ClusterIPs, istiod.istio-system.svc → the node). Nothing is added to the
//   machine's own network: the control plane on the machine's loopback is reached through two
//   relays joined by a unix socket (test/kube/fixtures/tcp-relay.mjs).
// - The scheduler: a Binding of each pod to the node (POST pods/<name>/binding).
// - The kubelet: for the pod as stored (injected), the env of each container with the downward
//   API resolved (fieldRef); the volumes the containers mount made under the pod's folder
//   (<folder>/<mountPath>): emptyDir, downwardAPI, configMap (istio-ca-root-cert, from the API
//   server) and projected ones (the service-account token from the TokenRequest API with the
//   projection's audience — istio-ca — and lifetime; kube-api-access's kube-root-ca.crt and
//   namespace); the init containers run to completion in the pod (istio-init: the image's entrypoint
//   with its args, i.e. docker/iptables-init.sh), then the app containers (a command the test
//   gives per container) and istio-proxy (docker/entrypoint.sh with the container's args and env,
//   which starts `wasmesh sidecar` as uid 1337); the readiness probes of the stored spec probed
//   from the node (the app's, rewritten by injection to the sidecar's 15020, and the proxy's
//   15021); and the pod's status written (podIP, hostIP, phase Running, Ready) once they pass.
//   Also Secret volumes (keys as files, defaultMode), KUBERNETES_SERVICE_HOST/PORT in every
//   container, HOSTNAME (the pod's name) for the apps, and, for a container the test runs with
//   IMAGE_ENTRYPOINT (test/kube/install-e2e-apiserver.test.ts: the control plane's own pod), its
//   args through the image's entrypoint in its own mount namespace with each volume bind-mounted
//   at its absolute mountPath (missing folders made in an overlay visible to that process only).
// - kube-proxy (serviceRules): a Service port's ClusterIP DNAT'ed in the node's namespace to the
//   given endpoints; and the API server's "cluster" egress (connectProxy): an HTTP CONNECT proxy on
//   a unix socket in the node's namespace, so webhooks called by Service reference reach pods.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeCluster } from './kube-cluster.js';
import { run } from './netns.js';

type Obj = Record<string, any>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRYPOINT = join(ROOT, 'docker', 'entrypoint.sh');
const HTTP_GET = fileURLToPath(new URL('../sidecar/fixtures/http-get.mjs', import.meta.url));
const RELAY = fileURLToPath(new URL('../kube/fixtures/tcp-relay.mjs', import.meta.url));
const CONNECT_PROXY = fileURLToPath(new URL('../kube/fixtures/connect-proxy.mjs', import.meta.url));
/**
 * Run as root in a container's own mount namespace (unshare) before its command: each volume's
 * folder bind-mounted at its absolute mountPath (read-only when so mounted). A mountPath whose
 * folders do not exist on this machine is made inside an overlay of its deepest existing ancestor
 * (in that namespace only: the machine's own /etc, /run stay untouched). Arguments: the upper
 * folders' base, then `src dst ro|rw` triples, then `--` and the command.
 */
const MOUNT_SCRIPT = `set -euo pipefail
base="$1"; shift
exec 9<"$WASMESH_HOME"
declare -A overlaid=(); n=0; binds=()
while [[ "$1" != -- ]]; do binds+=("$1" "$2" "$3"); shift 3; done
shift
for ((i = 0; i < \${#binds[@]}; i += 3)); do
  dst="\${binds[i+1]}"
  [[ -e "$dst" ]] && continue
  a="$dst"; while [[ ! -e "$a" ]]; do a="$(dirname "$a")"; done
  a="$(realpath "$a")"
  if [[ -z "\${overlaid[$a]:-}" ]]; then
    n=$((n + 1)); mkdir -p "$base/o$n/u" "$base/o$n/w"
    mount -t overlay overlay -o "lowerdir=$a,upperdir=$base/o$n/u,workdir=$base/o$n/w" "$a"
    overlaid[$a]=1
  fi
  mkdir -p "$dst"
done
# A mountPath over the volumes' own folders (e.g. /tmp) is bound last, so the others stay reachable.
holds() { local j; for ((j = 0; j < \${#binds[@]}; j += 3)); do [[ "\${binds[j]}" == "$1"/* ]] && return 0; done; return 1; }
for pass in 1 2; do
  for ((i = 0; i < \${#binds[@]}; i += 3)); do
    if holds "\${binds[i+1]}"; then [[ $pass == 2 ]] || continue; else [[ $pass == 1 ]] || continue; fi
    mount --bind "\${binds[i]}" "\${binds[i+1]}"
    if [[ "\${binds[i+2]}" == ro ]]; then mount -o remount,bind,ro "\${binds[i+1]}"; fi
  done
done
# The checkout itself (WASMESH_HOME) may lie under a mountPath (a clone in /tmp, with /tmp an
# emptyDir): the directory opened before the binds is bound back at its path, inside the volume.
if [[ ! -e "$WASMESH_HOME/docker/entrypoint.sh" ]]; then mkdir -p "$WASMESH_HOME"; mount --no-canonicalize --bind /proc/self/fd/9 "$WASMESH_HOME"; fi
exec 9<&-
exec "$@"
`;

/** What `app` returns to run a container as its image would: its args through the image's entrypoint, its volumes at their paths. */
export const IMAGE_ENTRYPOINT = 'image-entrypoint' as const;
const PROXY_UID = 1337;

export const NODE_NAME = 'wasmesh-node-1';
export const NODE_IP = '10.244.0.1';
const POD_PREFIX = '10.244.0.';

export interface HttpResult { status?: number; body?: string; error?: string }

export interface RunningPod {
  readonly name: string;
  readonly namespace: string;
  /** The network namespace standing in for the pod. */
  readonly netns: string;
  readonly ip: string;
  /** The pod as stored in the API server when it was started (injected). */
  readonly spec: Obj;
  /** What its containers wrote, per container name. */
  readonly logs: Record<string, string>;
}

/** Starts a process with `ip netns exec`; the returned child is the process itself (ip execs it). */
function spawnIn(ns: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env });
}

export class KubeNode {
  readonly netns: string;
  readonly #id: string;
  readonly #dir: string;
  readonly #children: ChildProcess[] = [];
  readonly #pods = new Map<string, RunningPod>();
  readonly #namespaces: string[] = [];
  readonly #serviceChains = new Set<string>();
  #nextIp = 10;

  /** `dir`: a folder of the test's (readable by uid 1337) where pods' volumes are written. */
  constructor(readonly kube: KubeCluster, dir: string, tag = 'wmk') {
    this.#id = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    this.netns = `${tag}-node-${this.#id}`;
    this.#dir = dir;
  }

  /** The node's namespace and bridge, and the Node object (so the endpointslice controller takes its pods). */
  create(): void {
    run('ip', ['netns', 'add', this.netns]);
    this.#namespaces.push(this.netns);
    run('ip', ['-n', this.netns, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', this.netns, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'br0']);
    run('ip', ['-n', this.netns, 'link', 'set', 'br0', 'up']);
    run('ip', ['-n', this.netns, 'link', 'set', 'lo', 'up']);
    const node = this.kube.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME } },
    }));
    if (node.status !== 0) throw new Error(`creating Node ${NODE_NAME}: ${node.stderr}`);
  }

  /**
   * Makes `host:port` on the node (e.g. istiod's 15012 at NODE_IP) reach `target` on the machine's
   * loopback: a relay in the machine's namespace on a unix socket, and one in the node's.
   */
  async relay(nodePort: number, target: string): Promise<void> {
    const sock = join(this.#dir, `relay-${nodePort}.sock`);
    await this.#ready(spawn(process.execPath, [RELAY, `unix:${sock}`, target], { stdio: ['pipe', 'pipe', 'pipe'] }), `relay unix → ${target}`);
    await this.#ready(spawnIn(this.netns, [process.execPath, RELAY, `${NODE_IP}:${nodePort}`, `unix:${sock}`], process.env), `relay ${NODE_IP}:${nodePort} → unix`);
  }

  async #ready(child: ChildProcess, what: string): Promise<void> {
    this.#children.push(child);
    let err = '';
    child.stderr!.on('data', (d) => { err += d; });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: not ready in 10 s: ${err}`)), 10_000);
      child.stdout!.on('data', (d) => { if (String(d).includes('ready')) { clearTimeout(timer); resolve(); } });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${what}: exited ${code}: ${err}`)); });
    });
  }

  /**
   * The API server's "cluster" egress (see startKubeCluster's clusterEgressUds): an HTTP CONNECT
   * proxy on `uds` in the node's namespace, so the webhooks the API server calls at a Service's
   * ClusterIP go through this node's Service rules (serviceRules) to the pod.
   */
  async connectProxy(uds: string): Promise<void> {
    await this.#ready(spawnIn(this.netns, [process.execPath, CONNECT_PROXY, uds], process.env), `CONNECT proxy on ${uds}`);
  }

  /**
   * kube-proxy's part (iptables mode) for one Service port: in the node's namespace, connections to
   * `clusterIp:port` — from the pods (routed through the node) and from the node itself (the CONNECT
   * proxy, the probes) — DNAT'ed to one of `endpoints` (`ip:port`, chosen at random with equal
   * weights as kube-proxy's statistic rules), and masqueraded, so a pod on the same bridge
   * answers through the node. Calling it again for the same Service port replaces its endpoints.
   */
  serviceRules(clusterIp: string, port: number, endpoints: string[]): void {
    const chain = `WMSVC-${clusterIp.replace(/\./g, '-')}-${port}`.slice(0, 28);
    const ipt = (...args: string[]): { status: number | null; stderr: string } => {
      const r = spawnSync('ip', ['netns', 'exec', this.netns, 'iptables', '-w', '-t', 'nat', ...args], { encoding: 'utf8' });
      return { status: r.status, stderr: r.stderr };
    };
    const must = (...args: string[]): void => {
      const r = ipt(...args);
      if (r.status !== 0) throw new Error(`node ${this.netns}: iptables -t nat ${args.join(' ')}: ${r.stderr}`);
    };
    if (!this.#serviceChains.has(chain)) {
      run('ip', ['netns', 'exec', this.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      if (this.#serviceChains.size === 0) must('-A', 'POSTROUTING', '-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'MASQUERADE');
      must('-N', chain);
      // The node's own connections (the CONNECT proxy's) need a route to the ClusterIP before OUTPUT's DNAT.
      run('ip', ['-n', this.netns, 'route', 'replace', `${clusterIp}/32`, 'dev', 'br0']);
      for (const hook of ['PREROUTING', 'OUTPUT']) must('-A', hook, '-d', `${clusterIp}/32`, '-p', 'tcp', '--dport', String(port), '-j', chain);
      this.#serviceChains.add(chain);
    }
    must('-F', chain);
    endpoints.forEach((ep, i) => {
      const left = endpoints.length - i;
      const pick = left > 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', (1 / left).toFixed(5)] : [];
      must('-A', chain, '-p', 'tcp', ...pick, '-j', 'DNAT', '--to-destination', ep);
    });
    // No endpoint: refused, as kube-proxy's REJECT.
    if (endpoints.length === 0) must('-A', chain, '-p', 'tcp', '-j', 'DNAT', '--to-destination', `${NODE_IP}:1`);
  }

  /** The scheduler's part: binds the pod to this node. */
  async bind(namespace: string, name: string): Promise<void> {
    const r = await this.kube.api('POST', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, {
      apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: NODE_NAME },
    });
    if (r.status !== 201) throw new Error(`binding pod ${namespace}/${name} to ${NODE_NAME}: ${r.status} ${r.body}`);
  }

  /**
   * The kubelet's part for one bound pod: network, volumes, init containers, containers, probes,
   * status. `app(container, env)` gives the command for an app container (not istio-proxy); `hosts`
   * the pod's /etc/hosts lines.
   */
  async start(namespace: string, name: string, opts: {
    app: (container: Obj, env: Record<string, string>) => string[] | typeof IMAGE_ENTRYPOINT;
    hosts: string;
  }): Promise<RunningPod> {
    const got = this.kube.kubectl(['get', 'pod', '-n', namespace, name, '-o', 'json']);
    if (got.status !== 0) throw new Error(`get pod ${namespace}/${name}: ${got.stderr}`);
    const pod = JSON.parse(got.stdout) as Obj;
    if (pod.spec.nodeName !== NODE_NAME) throw new Error(`pod ${namespace}/${name} is not bound to ${NODE_NAME} (nodeName ${pod.spec.nodeName})`);

    // ---- network: a namespace on the node's bridge, the pod IP, DNS as a hosts file --------------
    const ip = `${POD_PREFIX}${this.#nextIp++}`;
    const netns = `wmk-p${this.#nextIp}-${this.#id}`;
    run('ip', ['netns', 'add', netns]);
    this.#namespaces.push(netns);
    const hostVeth = `veth${this.#nextIp}`;
    run('ip', ['-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', hostVeth, 'netns', this.netns]);
    run('ip', ['-n', this.netns, 'link', 'set', hostVeth, 'master', 'br0']);
    run('ip', ['-n', this.netns, 'link', 'set', hostVeth, 'up']);
    run('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', netns, 'route', 'add', 'default', 'via', NODE_IP]);
    mkdirSync(join('/etc/netns', netns), { recursive: true });
    writeFileSync(join('/etc/netns', netns, 'hosts'), `127.0.0.1 localhost\n${ip} ${name}\n${opts.hosts}`);

    // ---- the downward API: what fieldRef env values read -------------------------------------------
    pod.status = { ...(pod.status ?? {}), podIP: ip, podIPs: [{ ip }], hostIP: NODE_IP };
    const field = (path: string): string => {
      // The kubelet serves status.podIPs as the addresses joined by commas (dual-stack: both families).
      if (path === 'status.podIPs') return (pod.status.podIPs as Array<{ ip: string }>).map((p) => p.ip).join(',');
      const v = path.split('.').reduce<any>((o, k) => (o === undefined ? undefined : o[k]), pod);
      if (typeof v === 'string') return v;
      throw new Error(`pod ${namespace}/${name}: fieldRef ${path} is not served by this kubelet stand-in`);
    };
    // The kubelet gives every container the `kubernetes` Service's address (what in-cluster clients read).
    const kubernetesSvc = this.kube.kubectl(['get', 'service', 'kubernetes', '-n', 'default', '-o', 'json']);
    if (kubernetesSvc.status !== 0) throw new Error(`pod ${namespace}/${name}: the kubernetes Service: ${kubernetesSvc.stderr}`);
    const kubernetesIp = (JSON.parse(kubernetesSvc.stdout) as Obj).spec.clusterIP as string;
    const envOf = (c: Obj): Record<string, string> => {
      const env: Record<string, string> = { KUBERNETES_SERVICE_HOST: kubernetesIp, KUBERNETES_SERVICE_PORT: '443' };
      for (const e of c.env ?? []) {
        if (e.value !== undefined) env[e.name] = String(e.value);
        else if (e.valueFrom?.fieldRef) env[e.name] = field(e.valueFrom.fieldRef.fieldPath);
        else throw new Error(`pod ${namespace}/${name} container ${c.name}: env ${e.name}: only value and fieldRef are resolved here`);
      }
      return env;
    };

    // ---- volumes, each "mounted" at <pod folder>/<mountPath> (readable by the proxy's uid) ------------
    const podDir = join(this.#dir, 'pods', name);
    const at = (containerPath: string): string => join(podDir, containerPath);
    const volumes = new Map<string, Obj>(((pod.spec.volumes ?? []) as Obj[]).map((v) => [v.name as string, v]));
    const mounted = new Set<string>();
    const mount = async (m: Obj): Promise<void> => {
      if (mounted.has(m.mountPath)) return;
      mounted.add(m.mountPath);
      const v = volumes.get(m.name);
      if (v === undefined) throw new Error(`pod ${namespace}/${name}: volumeMount ${m.name} names no volume`);
      const d = at(m.mountPath);
      mkdirSync(d, { recursive: true, mode: 0o755 });
      for (let p = d; p.startsWith(this.#dir) && p !== this.#dir; p = dirname(p)) chmodSync(p, 0o755);
      const write = (file: string, text: string, mode = 0o644): void => {
        writeFileSync(join(d, file), text, { mode });
        chownSync(join(d, file), PROXY_UID, PROXY_UID);
      };
      if (v.emptyDir !== undefined) { chmodSync(d, 0o777); return; }
      if (v.secret !== undefined) {
        // As the kubelet: the Secret's keys as files with defaultMode, owned by the pod's fsGroup.
        const sec = this.kube.kubectl(['get', 'secret', '-n', namespace, v.secret.secretName, '-o', 'json']);
        if (sec.status !== 0) throw new Error(`pod ${namespace}/${name}: Secret ${v.secret.secretName} for volume ${m.name}: ${sec.stderr}`);
        for (const [k, b64] of Object.entries((JSON.parse(sec.stdout) as Obj).data ?? {})) {
          write(k, Buffer.from(String(b64), 'base64').toString('utf8'), v.secret.defaultMode ?? 0o644);
        }
        return;
      }
      if (v.configMap !== undefined) {
        // As the kubelet: the ConfigMap's keys as files; a missing optional one is an empty folder.
        const cm = this.kube.kubectl(['get', 'configmap', '-n', namespace, v.configMap.name, '-o', 'json']);
        if (cm.status !== 0) {
          if (v.configMap.optional === true) return;
          throw new Error(`pod ${namespace}/${name}: ConfigMap ${v.configMap.name} for volume ${m.name}: ${cm.stderr}`);
        }
        for (const [k, text] of Object.entries((JSON.parse(cm.stdout) as Obj).data ?? {})) write(k, String(text));
        return;
      }
      if (v.downwardAPI !== undefined) {
        for (const item of v.downwardAPI.items as Obj[]) {
          const value = (item.fieldRef.fieldPath as string).split('.').reduce<any>((o, k) => o?.[k], pod) ?? {};
          write(item.path, Object.entries(value as Obj).map(([k, x]) => `${k}="${String(x)}"`).join('\n'));
        }
        return;
      }
      if (v.projected !== undefined) {
        for (const src of v.projected.sources as Obj[]) {
          if (src.serviceAccountToken !== undefined) {
            // The TokenRequest API, for the pod's service account, with the projection's audience and lifetime.
            const t = src.serviceAccountToken as Obj;
            const token = this.kube.kubectl(['create', 'token', pod.spec.serviceAccountName ?? 'default', '-n', namespace,
              ...(t.audience !== undefined ? ['--audience', t.audience] : []), '--duration', `${t.expirationSeconds ?? 3600}s`]);
            if (token.status !== 0) throw new Error(`pod ${namespace}/${name}: TokenRequest for volume ${m.name}: ${token.stderr}`);
            write(t.path, token.stdout.trim(), 0o600);
          } else if (src.configMap !== undefined) {
            // kube-api-access's kube-root-ca.crt (the root-ca-cert-publisher controller's).
            const cm = this.kube.kubectl(['get', 'configmap', '-n', namespace, src.configMap.name, '-o', 'json']);
            if (cm.status !== 0) throw new Error(`pod ${namespace}/${name}: ConfigMap ${src.configMap.name} for volume ${m.name}: ${cm.stderr}`);
            const data = ((JSON.parse(cm.stdout) as Obj).data ?? {}) as Obj;
            for (const item of (src.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }))) as Obj[]) write(item.path, String(data[item.key] ?? ''));
          } else if (src.downwardAPI !== undefined) {
            for (const item of src.downwardAPI.items as Obj[]) write(item.path, field(item.fieldRef.fieldPath));
          } else {
            throw new Error(`pod ${namespace}/${name}: volume ${m.name}: a projection this kubelet stand-in does not make (${Object.keys(src).join(', ')})`);
          }
        }
        return;
      }
      throw new Error(`pod ${namespace}/${name}: volume ${m.name} is of a kind this kubelet stand-in does not make`);
    };
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers] as Obj[]) {
      for (const m of (c.volumeMounts ?? []) as Obj[]) await mount(m);
    }

    const running: RunningPod = { name, namespace, netns, ip, spec: pod, logs: {} };
    this.#pods.set(`${namespace}/${name}`, running);
    const baseEnv = { PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
    const collect = (cname: string, child: ChildProcess): void => {
      running.logs[cname] = '';
      const add = (d: Buffer): void => { running.logs[cname] = (running.logs[cname]! + d.toString()).slice(-64_000); };
      child.stdout!.on('data', add);
      child.stderr!.on('data', add);
    };

    // The sidecar container as the kubelet runs it, through the image's entrypoint with the injected args and env.
    const startProxy = (c: Obj): void => {
      const child = spawnIn(netns, [ENTRYPOINT, ...(c.args ?? [])], {
        ...baseEnv, ...envOf(c), WASMESH_HOME: ROOT,
        // The entrypoint's default paths, under the pod's folder where the volumes were "mounted"
        // (its overrides; there is no mount namespace per container here).
        WASMESH_TOKEN_FILE: at('/var/run/secrets/tokens/istio-token'), WASMESH_CA_ROOT: at('/var/run/secrets/istio/root-cert.pem'),
        // Nothing mounted at /etc/wasmesh: the config comes from the control plane.
        WASMESH_CONFIG: at('/etc/wasmesh'),
      });
      this.#children.push(child);
      collect(c.name, child);
    };
    const deadline = Date.now() + 60_000;
    /** Polls one container's httpGet probe from the node, as the kubelet does, until it passes. */
    const probeUntilPassed = async (c: Obj, probe: Obj, kind: string): Promise<void> => {
      for (;;) {
        const r = this.get(this.netns, ip, Number(probe.port), probe.path ?? '/');
        if (r.status !== undefined && r.status >= 200 && r.status < 400) return;
        if (Date.now() > deadline) {
          throw new Error(`pod ${namespace}/${name}: container ${c.name}'s ${kind} probe ${probe.port}${probe.path} never passed (last ${JSON.stringify(r)})\n${this.logs(running)}`);
        }
        await new Promise((res) => setTimeout(res, 250));
      }
    };

    // ---- init containers, in order: each to completion, or (a native sidecar, restartPolicy Always)
    // started and, as the kubelet does, its startupProbe passed before the next one starts ---------------
    for (const c of (pod.spec.initContainers ?? []) as Obj[]) {
      if (c.name === 'istio-proxy' && c.restartPolicy === 'Always') {
        startProxy(c);
        const probe = (c.startupProbe ?? c.readinessProbe)?.httpGet as Obj | undefined;
        if (probe !== undefined) await probeUntilPassed(c, probe, c.startupProbe !== undefined ? 'startup' : 'readiness');
        continue;
      }
      if (c.name !== 'istio-init') throw new Error(`pod ${namespace}/${name}: init container ${c.name} is not one this stand-in runs`);
      const r = spawnSync('ip', ['netns', 'exec', netns, ENTRYPOINT, ...(c.args ?? [])], {
        encoding: 'utf8', timeout: 30_000, env: { ...baseEnv, ...envOf(c), WASMESH_HOME: ROOT },
      });
      running.logs[c.name] = `${r.stdout ?? ''}${r.stderr ?? ''}`;
      if (r.status !== 0) throw new Error(`pod ${namespace}/${name}: init container ${c.name} (${(c.args ?? []).join(' ')}) exited ${r.status}: ${r.stderr}`);
    }

    // ---- containers, in order ------------------------------------------------------------------------
    for (const c of pod.spec.containers as Obj[]) {
      if (c.name === 'istio-proxy') {
        startProxy(c);
      } else {
        const env = envOf(c);
        const argv = opts.app(c, env);
        const child = argv === IMAGE_ENTRYPOINT
          ? spawnIn(netns, ['unshare', '--mount', '--propagation', 'private', 'bash', '--norc', '-c', MOUNT_SCRIPT, 'mounts', join(podDir, '.overlays', c.name),
            ...((c.volumeMounts ?? []) as Obj[]).flatMap((m) => [at(m.mountPath), m.mountPath, m.readOnly === true ? 'ro' : 'rw']),
            '--', ENTRYPOINT, ...(c.args ?? [])], { ...baseEnv, ...env, WASMESH_HOME: ROOT })
          // HOSTNAME: the pod's name, as a container runtime sets it (there is no UTS namespace here).
          : spawnIn(netns, argv, { ...baseEnv, HOSTNAME: name, ...env });
        this.#children.push(child);
        collect(c.name, child);
      }
    }

    // ---- readiness probes (from the node, as the kubelet), then the status ---------------------------
    for (const c of pod.spec.containers as Obj[]) {
      const probe = c.readinessProbe?.httpGet as Obj | undefined;
      if (probe !== undefined) await probeUntilPassed(c, probe, 'readiness');
    }
    const now = new Date().toISOString();
    const cond = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
    const status = {
      status: {
        phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: NODE_IP, hostIPs: [{ ip: NODE_IP }], startTime: now,
        conditions: [cond('PodScheduled'), cond('Initialized'), cond('ContainersReady'), cond('Ready')],
        containerStatuses: (pod.spec.containers as Obj[]).map((c) => ({ name: c.name, image: c.image, imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } })),
      },
    };
    const patched = this.kube.kubectl(['patch', 'pod', '-n', namespace, name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    if (patched.status !== 0) throw new Error(`pod ${namespace}/${name}: status patch: ${patched.stderr}`);
    return running;
  }

  /** One HTTP GET from inside a network namespace (a pod's, or the node's), as root: a pod's app would be captured. */
  get(netns: string, host: string, port: number, path: string, headers: string[] = []): HttpResult {
    const r = spawnSync('ip', ['netns', 'exec', netns, process.execPath, HTTP_GET, host, String(port), path, ...headers], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) return { error: `http-get exited ${r.status}: ${r.stderr}` };
    return JSON.parse(r.stdout) as HttpResult;
  }

  /** Every container's output of a pod, for failure messages. */
  logs(pod: RunningPod): string {
    return Object.entries(pod.logs).map(([c, l]) => `--- ${pod.name}/${c} ---\n${l.slice(-4_000)}`).join('\n');
  }

  /** Stops every process started here, then removes the namespaces and their hosts files. */
  destroy(): void {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) { try { child.kill('SIGKILL'); } catch { /* gone */ } }
    }
    for (const ns of this.#namespaces) {
      // Anything still inside these namespaces was started by this test (e.g. a sidecar's children).
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
      }
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(join('/etc/netns', ns), { recursive: true, force: true });
    }
  }
}
