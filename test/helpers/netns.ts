// Disposable network namespaces for the sidecar tests: a "pod" and a "peer" joined by a veth pair
// on a TEST-NET range (never routed; TEST-NET-1 192.0.2.0/24 unless another is asked for), so
// capture rules are exercised on real packets without touching the machine's own network.
// Everything made here is removed by destroy().
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const POD_ADDR = '192.0.2.2';
export const PEER_ADDR = '192.0.2.1';

/** Runs a command, returning its output; throws with stderr when it fails. */
export function run(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: 20_000 });
  if (!opts.allowFail && (r.error || r.status !== 0)) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  }
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Why the namespace tests cannot run here, or null when they can (root, ip netns, iptables).
 * With WASMESH_REQUIRE_NETNS=1 (set by .ci/run) a reason is an error, so CI fails instead of
 * skipping the suites that need namespaces.
 */
export function netnsUnavailableReason(): string | null {
  const reason = probeNetns();
  if (reason !== null && process.env.WASMESH_REQUIRE_NETNS === '1') {
    throw new Error(`network namespace tests: WASMESH_REQUIRE_NETNS=1 but ${reason}`);
  }
  return reason;
}

/**
 * True where the tests that need root must skip; with WASMESH_REQUIRE_NETNS=1 not being root
 * is an error instead (CI runs as root).
 */
export function skipUnlessRoot(): boolean {
  if (process.getuid?.() === 0) return false;
  if (process.env.WASMESH_REQUIRE_NETNS === '1') throw new Error('WASMESH_REQUIRE_NETNS=1 but the tests do not run as root');
  return true;
}

function probeNetns(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const bin of ['ip', 'iptables', 'iptables-save', 'setpriv']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      return `'${bin}' is missing (apt-get install -y iproute2 iptables util-linux)`;
    }
  }
  const probe = `wmfprobe${randomBytes(3).toString('hex')}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return `'ip netns add' does not work here: ${add.stderr.trim()}`;
  try {
    const nat = spawnSync('ip', ['netns', 'exec', probe, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' });
    if (nat.status !== 0) return `iptables nat table unavailable in a namespace: ${nat.stderr.trim()}`;
  } finally {
    spawnSync('ip', ['netns', 'del', probe]);
  }
  return null;
}

export interface PodNetworkOptions {
  /** Namespace name prefix (`wmf` unless given), so concurrent suites never share names. */
  tag?: string;
  /** Addresses of the two ends, in one /24 (default POD_ADDR, PEER_ADDR). */
  podAddr?: string;
  peerAddr?: string;
  /** false: no IPv4 address on the veth pair (an IPv6-only pod: loopback's 127.0.0.1 only; addIpv6 gives it IPv6). */
  ipv4?: boolean;
}

export class PodNetwork {
  readonly pod: string;
  readonly peer: string;
  readonly podAddr: string;
  readonly peerAddr: string;
  readonly ipv4: boolean;
  readonly #children: ChildProcess[] = [];

  constructor(opts: PodNetworkOptions = {}) {
    const id = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    const tag = opts.tag ?? 'wmf';
    this.pod = `${tag}-pod-${id}`;
    this.peer = `${tag}-peer-${id}`;
    this.podAddr = opts.podAddr ?? POD_ADDR;
    this.peerAddr = opts.peerAddr ?? PEER_ADDR;
    this.ipv4 = opts.ipv4 ?? true;
  }

  /** Makes both namespaces and the veth pair (interface names fit IFNAMSIZ, 15 chars). */
  create(): void {
    const vPod = `wmp${this.pod.slice(-8)}`;
    const vPeer = `wmq${this.pod.slice(-8)}`;
    run('ip', ['netns', 'add', this.pod]);
    run('ip', ['netns', 'add', this.peer]);
    run('ip', ['-n', this.pod, 'link', 'add', vPod, 'type', 'veth', 'peer', 'name', vPeer, 'netns', this.peer]);
    for (const [ns, dev, addr] of [[this.pod, vPod, this.podAddr], [this.peer, vPeer, this.peerAddr]] as const) {
      if (this.ipv4) run('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
      run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }

  /**
   * Adds IPv6 to the pair (after create()): `podAddr6` and `peerAddr6` on the veth ends in one
   * /64, without duplicate address detection (usable at once), and the pod's default IPv6 route
   * via the peer.
   */
  addIpv6(podAddr6: string, peerAddr6: string): void {
    const vPod = `wmp${this.pod.slice(-8)}`;
    const vPeer = `wmq${this.pod.slice(-8)}`;
    for (const [ns, dev, addr] of [[this.pod, vPod, podAddr6], [this.peer, vPeer, peerAddr6]] as const) {
      run('ip', ['-n', ns, '-6', 'addr', 'add', `${addr}/64`, 'dev', dev, 'nodad']);
    }
    run('ip', ['-n', this.pod, '-6', 'route', 'add', 'default', 'via', peerAddr6]);
  }

  /** Runs a command inside a namespace (optionally as another uid) and returns its result. */
  exec(ns: string, argv: string[], opts: { uid?: number; allowFail?: boolean } = {}) {
    const inner = opts.uid === undefined
      ? argv
      : ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', '--', ...argv];
    return run('ip', ['netns', 'exec', ns, ...inner], { allowFail: opts.allowFail });
  }

  /** Starts a long-running process in a namespace, stopped by destroy() if still running. */
  spawn(ns: string, argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#children.push(child);
    return child;
  }

  /** Starts a long-running process in a namespace; resolves once it prints `ready`. */
  async start(ns: string, argv: string[]): Promise<ChildProcess> {
    const child = this.spawn(ns, argv);
    let err = '';
    child.stderr!.on('data', (d) => { err += d; });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} not ready in 10 s: ${err}`)), 10_000);
      child.stdout!.on('data', (d) => { if (String(d).includes('ready')) { clearTimeout(timer); resolve(); } });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`)); });
    });
    return child;
  }

  /** Stops what start() began, then deletes both namespaces (the veth pair goes with them). */
  destroy(): void {
    for (const child of this.#children) {
      if (child.exitCode === null && child.pid) { try { child.kill('SIGKILL'); } catch { /* already gone */ } }
    }
    for (const ns of [this.pod, this.peer]) {
      // Anything still inside our own namespaces was started by these tests.
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
      }
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }
}
