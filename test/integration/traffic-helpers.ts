// Shared setup for the traffic-management tests: a proxy per test (seeded draws), real
// upstreams, a mesh whose one route takes a patch of the optional Route fields, cleanup.
import { afterEach } from 'vitest';
import http from 'node:http';
import { ProxyServer } from '../../host/server/proxy-server.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';
import type { Limits } from '../../host/common/limits.js';
import type { MeshConfig, Route } from '../../host/model/mesh.js';
import { startHttpUpstream, startRawUpstream, type HttpUpstream, type RawUpstream } from '../helpers/upstream-servers.js';
import { mesh, type ClusterSpec } from '../helpers/mesh-fixtures.js';

let cleanups: Array<() => Promise<void> | void> = [];

/** Registers the per-test cleanup; call once at the top of a test file. */
export function useCleanup(): void {
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });
}

export async function proxy(m: MeshConfig, opts: { limits?: Partial<Limits>; seed?: number } = {}): Promise<{ p: ProxyServer; logs: AccessLogEntry[] }> {
  const logs: AccessLogEntry[] = [];
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e), limits: { drainTimeoutMs: 200, ...opts.limits }, seed: opts.seed ?? 42 });
  p.apply(m, 1);
  await p.listen();
  cleanups.push(() => p.close());
  return { p, logs };
}

export async function upstream(handler: http.RequestListener): Promise<HttpUpstream> {
  const up = await startHttpUpstream(handler);
  cleanups.push(() => up.close());
  return up;
}

export async function raw(onConn: Parameters<typeof startRawUpstream>[0]): Promise<RawUpstream> {
  const up = await startRawUpstream(onConn);
  cleanups.push(() => up.close());
  return up;
}

/**
 * Clusters plus one route `default/vs/0` (prefix `prefix`, or every request) to the first
 * cluster, with `patch` laid over the route (retry, fault, mirrors, rewrite, ...).
 */
export function meshWith(clusters: ClusterSpec[], patch: Partial<Route> = {}, prefix?: string): MeshConfig {
  const m = mesh(clusters, [{ name: 'default/vs/0', prefix, dests: [{ cluster: clusters[0]!.name }] }]);
  Object.assign(m.virtualHosts[0]!.routes[0]!, patch);
  return m;
}

export const waitFor = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** Reads the whole request body. */
export async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}
