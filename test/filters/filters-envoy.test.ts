// The wasmesh filters in the real Envoy binary (1.40, V8): counters in /stats, and a bad
// plugin configuration — at start-up Envoy refuses to start with the filter's error; as a
// listener update (LDS from a file) Envoy rejects the update and keeps routing with the last
// good table, and a later good update applies. Requests are never routed by a bad table.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'undici';
import { stringify } from 'yaml';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { freePort } from '../helpers/ports.js';
import { jsonList } from '../helpers/envoy-json.js';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';
import { dest, match, route, webCluster } from '../helpers/mesh-fixtures.js';
import type { MeshConfig } from '../../host/model/mesh.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const envoy = envoyForTests('filters-envoy');

/** Host web.example.com: /v1… and everything else to `to`; a 100% abort on /broken. */
function mesh(ports: { v1: number; v2: number }, to: 'v1' | 'v2'): MeshConfig {
  const v1 = webCluster('v1', ports.v1);
  const v2 = webCluster('v2', ports.v2);
  return {
    clusters: [v1, v2],
    virtualHosts: [{
      name: 'web', domains: ['web.example.com'], routes: [
        route('default/web/broken', [dest(v1.name)], { matches: [match({ uri: { kind: 'exact', value: '/broken' } })], fault: { delay: null, abort: { httpStatus: 503, percentage: 100 } } }),
        route('default/web/all', [dest((to === 'v1' ? v1 : v2).name)]),
      ],
    }],
  };
}

interface RunningEnvoy {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function runEnvoy(file: string): RunningEnvoy {
  let output = '';
  const child = spawn(envoy!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => { output += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { output += b.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function stats(adminPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/stats`)).text();
  return new Map(text.split('\n').filter((l) => l.includes(': ')).map((l) => {
    const [k, v] = l.split(': ');
    return [k, Number(v)] as [string, number];
  }));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** One request on a fresh connection (a listener update only applies to new connections). */
async function get(port: number, path: string, host = 'web.example.com'): Promise<{ status: number; body: string }> {
  const client = new Client(`http://127.0.0.1:${port}`);
  try {
    const res = await client.request({ method: 'GET', path, headers: { host } });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await client.close();
  }
}

function stop(e: RunningEnvoy): Promise<unknown> {
  if (e.child.exitCode === null && e.child.signalCode === null) e.child.kill('SIGTERM');
  return e.exited;
}

describe.skipIf(envoy === null)('wasmesh filters in Envoy', () => {
  let upstreams: Upstreams;
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-filters-envoy-'));
  beforeAll(async () => { upstreams = await startUpstreams(); });
  afterAll(async () => {
    await upstreams?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function bootstrapFor(m: MeshConfig): Promise<{ config: any; port: number; adminPort: number }> {
    const [port, adminPort] = [await freePort(), await freePort()];
    const { config } = envoyFiltersBootstrap({ mesh: m }, { listen: { host: '127.0.0.1', port }, admin: { host: '127.0.0.1', port: adminPort } });
    return { config, port, adminPort };
  }

  /** Replaces every wasm filter's configuration bytes in a listener. */
  function withConfiguration(listener: any, bytes: Buffer): any {
    const copy = structuredClone(listener);
    for (const f of copy.filter_chains[0].filters[0].typed_config.http_filters) {
      if (f.name === 'envoy.filters.http.wasm') f.typed_config.config.configuration.value = bytes.toString('base64');
    }
    return copy;
  }

  it('refuses to start on a bad plugin configuration, with the filter\'s error', async () => {
    const { config } = await bootstrapFor(mesh(upstreams.ports, 'v1'));
    const listeners = config.static_resources.listeners.map((l: any) => withConfiguration(l, Buffer.from('not a wasmesh configuration: a YAML string given as bytes')));
    const file = join(dir, 'bad-start.yaml');
    writeFileSync(file, stringify({ ...config, static_resources: { ...config.static_resources, listeners } }, { version: '1.1' }));
    const e = runEnvoy(file);
    const code = await Promise.race([e.exited, new Promise((r) => setTimeout(() => r('running'), 15_000))]);
    if (code === 'running') await stop(e);
    expect(code).not.toBe('running');
    expect(code).not.toBe(0);
    expect(e.output()).toMatch(/wasmesh_router: plugin configuration rejected \(wasmesh_config_bad_magic, 57 bytes\)/);
    expect(e.output()).toMatch(/Unable to create Wasm plugin/);
  });

  it('routes, counts in /stats, rejects a bad update while serving the last good table, applies a good one', async () => {
    const first = await bootstrapFor(mesh(upstreams.ports, 'v1'));
    const { port, adminPort } = first;
    const lds = join(dir, 'lds.yaml');
    const writeListener = (listener: any): void => {
      // Envoy reads path-based LDS when a file is moved into place.
      const tmp = join(dir, `lds-${Date.now()}.tmp`);
      writeFileSync(tmp, stringify({ resources: [{ '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', ...listener }] }, { version: '1.1' }));
      renameSync(tmp, lds);
    };
    const listener = first.config.static_resources.listeners[0];
    writeListener(listener);
    const bootstrap = {
      ...first.config,
      static_resources: { clusters: first.config.static_resources.clusters },
      dynamic_resources: { lds_config: { path_config_source: { path: lds }, resource_api_version: 'V3' } },
    };
    const file = join(dir, 'lds-bootstrap.yaml');
    writeFileSync(file, stringify(bootstrap, { version: '1.1' }));
    const e = runEnvoy(file);
    try {
      await until('Envoy ready', async () => ((await fetch(`http://127.0.0.1:${adminPort}/ready`)).status === 200 ? true : undefined), 15_000);
      await until('listener', async () => ((await get(port, '/')).status === 200 ? true : undefined));

      for (let i = 0; i < 10; i++) expect(await get(port, '/')).toEqual({ status: 200, body: 'Version: v0.1' });
      expect((await get(port, '/', 'elsewhere.example.com')).status).toBe(404);
      expect(await get(port, '/broken')).toEqual({ status: 503, body: 'fault filter abort' });
      // The filters hand counters to Envoy in batches, at the latest on their 1 s tick.
      let s = await until('the counters in /stats', async () => {
        const t = await stats(adminPort);
        return (t.get('wasmcustom.wasmesh_router_routed') ?? 0) >= 12 && t.get('wasmcustom.wasmesh_fault_aborts') === 1 ? t : undefined;
      }, 5000);
      // 1 readiness probe + 10 + /broken (routed, then aborted by the fault filter).
      expect(s.get('wasmcustom.wasmesh_router_routed')).toBe(12);
      expect(s.get('wasmcustom.wasmesh_router_no_route')).toBe(1);
      expect(s.get('wasmcustom.wasmesh_fault_aborts')).toBe(1);

      // A bad configuration as a listener update: rejected, logged, counted; v1 keeps serving.
      writeListener(withConfiguration(listener, Buffer.alloc(64, 7)));
      s = await until('the update to be rejected', async () => {
        const t = await stats(adminPort);
        return (t.get('listener_manager.lds.update_rejected') ?? 0) >= 1 ? t : undefined;
      });
      expect(s.get('wasmcustom.wasmesh_config_rejected')).toBeGreaterThanOrEqual(1);
      expect(e.output()).toMatch(/wasmesh_router: plugin configuration rejected \(wasmesh_config_bad_magic, 64 bytes\)/);
      for (let i = 0; i < 5; i++) expect(await get(port, '/')).toEqual({ status: 200, body: 'Version: v0.1' });

      // A good update (everything to v2) applies.
      const next = envoyFiltersBootstrap({ mesh: mesh(upstreams.ports, 'v2') }, { listen: { host: '127.0.0.1', port }, admin: { host: '127.0.0.1', port: adminPort } });
      writeListener(jsonList(next.config, 'static_resources.listeners')[0]);
      await until('v2 to answer', async () => ((await get(port, '/')).body === 'Version: v0.2' ? true : undefined));
      for (let i = 0; i < 5; i++) expect(await get(port, '/')).toEqual({ status: 200, body: 'Version: v0.2' });
      expect((await stats(adminPort)).get('listener_manager.lds.update_success')).toBeGreaterThanOrEqual(2);
    } finally {
      await stop(e);
    }
  }, 40_000);
});
