// The benchmark's real data planes: the hot service's upstreams (tiny node HTTP servers that
// answer with the version header the route set, so an answer says which route served it) and one
// stock Envoy gateway configured only by the control plane (a bootstrap from
// `wasmesh envoy-bootstrap`), polled until it serves a given route version.
import { execFileSync } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startReady, stopChild, type Started } from '../e2e/processes.js';
import { BENCH_NAMESPACE, GATEWAY_LABELS, VERSION_HEADER, serviceHost } from './mesh-yaml.js';

export interface HotUpstreams {
  ports: number[];
  spare: number;
  close(): Promise<void>;
}

/** `count` echo servers plus a spare (the port an endpoint change moves to). */
export async function startHotUpstreams(count: number): Promise<HotUpstreams> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i <= count; i++) {
    const port = await freePort();
    const s = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${String(req.headers[VERSION_HEADER] ?? 'none')}\n`);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    servers.push(s);
    ports.push(port);
  }
  return {
    ports: ports.slice(0, count),
    spare: ports[count]!,
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      })));
    },
  };
}

/** One GET through the gateway with the hot service's Host: the body (the version), or null. */
export function getVersion(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: serviceHost(0) }, agent: false, timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : null));
      res.on('error', () => resolve(null));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Polls every `everyMs` until the gateway answers `version`; the time it took (ms), or null after `timeoutMs`. */
export async function untilServes(port: number, version: string, since: number, timeoutMs: number, everyMs = 2): Promise<number | null> {
  while (performance.now() - since < timeoutMs) {
    if ((await getVersion(port)) === version) return performance.now() - since;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return null;
}

export interface StockEnvoy {
  started: Started;
  adminPort: number;
  close(): Promise<void>;
}

/** Stock Envoy as the bench Gateway's proxy, taking everything from the control plane at `xdsPort`. */
export async function startStockEnvoy(envoyBin: string, root: string, xdsPort: number, delta: boolean): Promise<StockEnvoy> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-bench-xds-envoy-'));
  const admin = await freePort();
  const labels = Object.entries(GATEWAY_LABELS).map(([k, v]) => `${k}=${v}`).join(',');
  const yaml = execFileSync(process.execPath, [join(root, 'bin', 'wasmesh.js'), 'envoy-bootstrap', '--xds', `127.0.0.1:${xdsPort}`, '--admin', `127.0.0.1:${admin}`,
    '--proxy-type', 'router', '--namespace', BENCH_NAMESPACE, '--labels', labels, '--node-id', `router~127.0.0.1~bench-gateway.${BENCH_NAMESPACE}~${BENCH_NAMESPACE}.svc.cluster.local`,
    ...(delta ? ['--delta'] : [])], { encoding: 'utf8' });
  const file = join(dir, 'envoy.yaml');
  writeFileSync(file, yaml);
  const started = await startReady(envoyBin, ['-c', file, '--concurrency', '1', '--log-level', 'warn', '--base-id', String(10_000 + Math.floor(Math.random() * 50_000))], { url: `http://127.0.0.1:${admin}/ready` }, 'stock Envoy', { timeoutMs: 60_000 });
  return {
    started,
    adminPort: admin,
    close: async () => {
      await stopChild(started.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The endpoints (`ip:port`) Envoy's admin /clusters lists for `cluster`. */
export async function clusterHosts(adminPort: number, cluster: string): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/clusters`)).text();
  const hosts = new Set<string>();
  for (const line of text.split('\n')) {
    const parts = line.split('::');
    if (parts[0] === cluster && parts.length >= 3 && /^\d+\.\d+\.\d+\.\d+:\d+$/.test(parts[1]!)) hosts.add(parts[1]!);
  }
  return [...hosts].sort();
}
