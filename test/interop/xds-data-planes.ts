// The xDS-driven data planes: a control plane (the in-process ControlPlane `wasmesh
// control-plane` runs) watching a folder of Istio YAML, and proxies that take everything from
// it — `wasmesh proxy --xds`, stock Envoy from `wasmesh envoy-bootstrap` (state of the world or
// delta), and stock Envoy with the wasmesh filters (`envoy-bootstrap --filters`). One control
// plane and one proxy per gateway serve a whole interop table: a scenario is swapped in by
// writing its YAML into the folder, then waiting until the control plane loaded it and the
// proxy is SYNCED on every type (and, for Envoy, nothing is left warming).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { envoyBootstrapCommand } from '../../host/cli/envoy-bootstrap-command.js';
import { syncState } from '../../host/xds/sync-status.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { findEnvoy } from '../../host/envoy/find-envoy.js';
import { envoyUnavailable, onFreePorts, ROOT, startAndWait, stopChild, wasmeshUnavailable } from './data-planes.js';
import type { Scenario } from './scenarios.js';
import type { UpstreamPorts } from '../helpers/seed-000-upstreams.js';
import { fakeIo } from '../helpers/fake-io.js';

/** The file-driven plane of the same engine: its `unservedBy` entries hold for this one too. */
export type Engine = 'envoy' | 'wasmesh' | 'envoy+filters';

/** A proxy connected to a control plane. */
export interface XdsProxy {
  /** Its listener on 127.0.0.1. */
  port: number;
  adminPort: number;
  /** The node id it gives the control plane. */
  nodeId: string;
  /** Whether its data path has taken in what it ACKed (Envoy: nothing warming). */
  settled(): Promise<boolean>;
  stop(): Promise<void>;
}

/** One kind of xDS client: how to start it against a control plane. */
export interface XdsProxyKind {
  name: string;
  engine: Engine;
  /** Why it cannot run here, or null. */
  unavailable: string | null;
  /** Starts one proxy serving `gateway` (a router), or the mesh outbound (a sidecar) without it. */
  start(xdsPort: number, gateway: string | undefined): Promise<XdsProxy>;
}

let podCounter = 0;
const podName = (what: string): string => `interop-${what}-${process.pid}-${++podCounter}`;

/** `wasmesh proxy --xds`, a router with --gateway or a sidecar. */
function wasmeshKind(): XdsProxyKind {
  return {
    name: 'wasmesh over xDS',
    engine: 'wasmesh',
    unavailable: wasmeshUnavailable(),
    start: (xdsPort, gateway) => onFreePorts(async (port, adminPort) => {
      const pod = podName('wasmesh');
      const args = [join(ROOT, 'bin', 'wasmesh.js'), 'proxy', '--xds', `127.0.0.1:${xdsPort}`, '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${adminPort}`, '--access-log', 'off'];
      if (gateway !== undefined) args.push('--gateway', gateway);
      const child = await startAndWait(process.execPath, args, adminPort, 'wasmesh proxy --xds', { ...process.env, POD_NAME: pod, INSTANCE_IP: '127.0.0.1' });
      return {
        port, adminPort,
        nodeId: nodeId(gateway !== undefined ? 'router' : 'sidecar', '127.0.0.1', pod, 'default'),
        settled: async () => true,
        stop: () => stopChild(child),
      };
    }),
  };
}

/** Envoy's warming gauges: 0 and 0 once every listener and cluster it was given is in use. */
export async function envoySettled(adminPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/stats?filter=${encodeURIComponent('^(listener_manager\\.total_listeners_warming|cluster_manager\\.warming_clusters)$')}`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    const values = [...text.matchAll(/: (\d+)$/gm)].map((m) => Number(m[1]));
    return res.status === 200 && values.length === 2 && values.every((v) => v === 0);
  } catch {
    return false;
  }
}

/** Stock Envoy bootstrapped by `wasmesh envoy-bootstrap` (the CLI itself prints its bootstrap). */
function envoyKind(opts: { filters: boolean; delta: boolean }): XdsProxyKind {
  const unavailable = envoyUnavailable(opts.filters);
  return {
    name: `${opts.filters ? 'envoy+filters' : 'envoy'} over xDS (${opts.delta ? 'delta' : 'state of the world'})`,
    engine: opts.filters ? 'envoy+filters' : 'envoy',
    unavailable,
    start: (xdsPort, gateway) => onFreePorts(async (port, adminPort) => {
      const type = gateway !== undefined ? 'router' : 'sidecar';
      const id = nodeId(type, '127.0.0.1', podName('envoy'), 'default');
      const argv = ['--xds', `127.0.0.1:${xdsPort}`, '--admin', `127.0.0.1:${adminPort}`, '--listen', `127.0.0.1:${port}`, '--node-id', id, '--proxy-type', type];
      if (gateway !== undefined) argv.push('--gateway', gateway);
      if (opts.filters) argv.push('--filters');
      if (opts.delta) argv.push('--delta');
      const io = fakeIo();
      if (await envoyBootstrapCommand(argv, io) !== 0) throw new Error(`envoy-bootstrap ${argv.join(' ')}: ${io.stderr}`);
      const dir = mkdtempSync(join(tmpdir(), 'wasmesh-interop-xds-envoy-'));
      const file = join(dir, 'envoy.yaml');
      writeFileSync(file, io.stdout);
      // --drain-strategy immediate, short drain: the connections of a listener replaced over
      // LDS (a scenario's filter chain differs from the last one's; with the filters, any route
      // change) close after their next response, rather than each by a chance that rises over
      // Envoy's default 10 minutes of gradual draining.
      const args = ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning', '--drain-strategy', 'immediate', '--drain-time-s', '1'];
      try {
        const child = await startAndWait(findEnvoy()!, args, adminPort, 'envoy');
        return {
          port, adminPort, nodeId: id,
          settled: () => envoySettled(adminPort),
          stop: async () => { await stopChild(child); rmSync(dir, { recursive: true, force: true }); },
        };
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }),
  };
}

/** Every kind of xDS client the interop table runs on. */
export function xdsProxyKinds(): XdsProxyKind[] {
  return [
    wasmeshKind(),
    envoyKind({ filters: false, delta: false }),
    envoyKind({ filters: false, delta: true }),
    envoyKind({ filters: true, delta: false }),
  ];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => Promise<boolean> | boolean, ms: number, detail: () => string = () => ''): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms${detail() ? `\n${detail()}` : ''}`);
    await sleep(25);
  }
}

/** A control plane watching a folder of its own, as `wasmesh control-plane -f <dir>` does. */
export class FolderControlPlane {
  readonly dir: string;
  readonly cp: ControlPlane;
  /** What the control plane logged (its errors name a rejected change). */
  readonly log: string[];
  xdsPort = 0;

  private constructor(dir: string, cp: ControlPlane, log: string[]) {
    this.dir = dir;
    this.cp = cp;
    this.log = log;
  }

  /** Starts on `files` (written before the first load) and listens on a free loopback port. */
  static async start(files: Record<string, string>): Promise<FolderControlPlane> {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-interop-xds-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const log: string[] = [];
    const cp = new ControlPlane({
      sources: [dir],
      read: (s) => readConfig(s),
      debounce: { quietMs: 30, maxDelayMs: 300 },
      log: (level, message) => log.push(`${level}: ${message}`),
      events: { rejected: (node, reason) => log.push(`rejected from ${node?.id ?? '?'}: ${reason}`) },
    });
    const self = new FolderControlPlane(dir, cp, log);
    try {
      cp.start();
      self.xdsPort = await cp.listen('127.0.0.1', 0);
    } catch (e) {
      await self.close();
      throw e;
    }
    return self;
  }

  /** What the control plane serves, in /debug/configz's form. */
  #served(): string {
    return JSON.stringify(this.cp.resources());
  }

  /** What the folder holds now, in the same form (throws when it does not load). */
  #onDisk(): string {
    return JSON.stringify(readConfig([this.dir]).effective.map((r) => ({ kind: r.resource.kind, namespace: r.resource.namespace, name: r.resource.name, file: r.resource.file, spec: r.resource.spec })));
  }

  /**
   * Replaces the folder's YAML with `files` (new contents first, then the files no longer there
   * removed) and waits until the control plane serves exactly it, without an error.
   */
  async replace(files: Record<string, string>): Promise<void> {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(this.dir, name), text);
    for (const name of readdirSync(this.dir)) if (!(name in files)) rmSync(join(this.dir, name), { force: true });
    const want = this.#onDisk();
    this.cp.requestReload();
    await until('the control plane loads the new YAML', () => this.#served() === want && this.cp.status().lastError === null, 10_000, () => this.log.slice(-5).join('\n'));
  }

  /**
   * Whether `proxy` ACKed everything sent to it, and holds the current version of each wildcard
   * type (LDS, CDS, wasmesh's). RDS and EDS versions cover every proxy's names, so a proxy may
   * rightly hold an older one (delta sends nothing when its own resources did not change, and
   * nothing goes to a type it asks for nothing of: IGNORED): the names it now needs arriving is
   * what Envoy's warming gauges tell.
   */
  synced(proxyId: string): boolean {
    const snapshot = this.cp.cache.get(proxyId);
    const sync = this.cp.ads.proxies().find((p) => p.proxyId === proxyId);
    if (!snapshot || !sync) return false;
    for (const [type, snap] of snapshot) {
      const t = sync.types.get(type);
      if (!t) {
        if (snap.wildcard) return false;
        continue;
      }
      const state = syncState(t);
      if (state === 'IGNORED' && !snap.wildcard) continue;
      if (state !== 'SYNCED' || (snap.wildcard && t.sentVersion !== snap.version)) return false;
    }
    return true;
  }

  /** Waits until `proxy` is SYNCED on the current version and its data path settled. */
  async waitSynced(proxy: XdsProxy, ms = 15_000): Promise<void> {
    await until(`proxy ${proxy.nodeId} SYNCED`, async () => {
      // A NACK is an answer: it fails at once, with the proxy's reason.
      const sync = this.cp.ads.proxies().find((p) => p.proxyId === proxy.nodeId);
      if (sync && [...sync.types.values()].some((t) => syncState(t) === 'NACKED')) throw new Error(`proxy ${proxy.nodeId} NACKed: ${this.describe(proxy.nodeId)}`);
      return this.synced(proxy.nodeId) && (await proxy.settled());
    }, ms, () => this.describe(proxy.nodeId));
  }

  /** The proxy's sync record and the control plane's last log lines, for failure messages. */
  describe(proxyId: string): string {
    const sync = this.cp.ads.proxies().find((p) => p.proxyId === proxyId);
    const types = sync ? [...sync.types].map(([t, s]) => `${t.split('.').pop()}: ${syncState(s)} sent ${s.sentVersion} ${s.nack ? `NACK ${s.nack.message}` : ''}`).join('; ') : 'not connected';
    return `${types}\n${this.log.slice(-(Number(process.env.WASMESH_INTEROP_LOG_LINES) || 5)).join('\n')}`;
  }

  async close(): Promise<void> {
    await this.cp.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts a proxy of `kind` at `control` and waits until it is SYNCED; again on new ports (up to
 * 3 tries) when Envoy NACKed its listener for an address taken since it was found free (Envoy
 * binds its listener only when LDS brings it, so the file-driven planes' retry on a failed
 * start does not see this).
 */
export async function startSynced(kind: XdsProxyKind, control: FolderControlPlane, gateway: string | undefined): Promise<XdsProxy> {
  for (let attempt = 1; ; attempt++) {
    const proxy = await kind.start(control.xdsPort, gateway);
    try {
      await control.waitSynced(proxy);
      return proxy;
    } catch (err) {
      await proxy.stop();
      if (!/cannot bind|Address already in use|EADDRINUSE/i.test((err as Error).message) || attempt === 3) throw err;
    }
  }
}

/** A control plane and the proxies of one kind it serves, across a table's scenarios. */
export interface XdsSession {
  /**
   * Serves `scenario`: its YAML into the watched folder, the proxy for its gateway (started on
   * first use) SYNCED on it. Returns that proxy's listener and admin ports.
   */
  load(scenario: Scenario, ports: UpstreamPorts): Promise<{ port: number; adminPort: number }>;
  close(): Promise<void>;
}

export interface XdsDataPlane {
  name: string;
  engine: Engine;
  unavailable: string | null;
  open(): Promise<XdsSession>;
}

function planeOf(kind: XdsProxyKind): XdsDataPlane {
  return {
    name: kind.name,
    engine: kind.engine,
    unavailable: kind.unavailable,
    async open() {
      let control: FolderControlPlane | null = null;
      const proxies = new Map<string, XdsProxy>();
      return {
        async load(scenario, ports) {
          const files = scenario.files(ports);
          if (control === null) control = await FolderControlPlane.start(files);
          else await control.replace(files);
          const key = scenario.gateway ?? '(mesh)';
          let proxy = proxies.get(key);
          if (!proxy) proxies.set(key, (proxy = await startSynced(kind, control, scenario.gateway)));
          else await control.waitSynced(proxy);
          return { port: proxy.port, adminPort: proxy.adminPort };
        },
        async close() {
          for (const p of proxies.values()) await p.stop();
          await control?.close();
        },
      };
    },
  };
}

/** Every xDS-driven plane, or those named in WASMESH_INTEROP_XDS_PLANES (comma-separated names). */
export function xdsDataPlanes(): XdsDataPlane[] {
  const only = process.env.WASMESH_INTEROP_XDS_PLANES?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return xdsProxyKinds().filter((k) => !only || only.includes(k.name)).map(planeOf);
}
