// RateLimitPolicy on the sidecar inbound on both planes: the rules a SIDECAR_INBOUND policy gives
// (loaded from YAML), served by a wasmesh ProxyServer with the sidecar's inbound routes
// (inboundWithRateLimits) and by the real Envoy's inbound listener (envoyInbound: the
// local_ratelimit filter's own buckets, the routes' descriptors): the same 200/429 sequence.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inboundWithRateLimits } from '../../host/sidecar/inbound-rate-limits.js';
import { inboundMesh } from '../../host/sidecar/inbound-mesh.js';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { loadConfig } from '../../host/config/index.js';
import { freePort } from '../../host/common/free-port.js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { request } from '../helpers/http-client.js';
import { startHttpUpstream } from '../helpers/upstream-servers.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import type { RateLimitConfig } from '../../host/model/rate-limit.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
function inboundLimits(): RateLimitConfig {
  const { dir } = tempYaml({ 'p.yaml': `apiVersion: policy.wasmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: protect, namespace: default}
spec:
  context: SIDECAR_INBOUND
  local:
    rules:
    - name: all
      tokenBucket: {maxTokens: 4, tokensPerFill: 1, fillInterval: 1h}
    - name: per-user
      descriptor: [{requestHeader: {name: x-user}}]
      tokenBucket: {maxTokens: 2, tokensPerFill: 1, fillInterval: 1h}
` });
  return loadConfig([dir]).mesh.inboundRateLimit!;
}

describe('inboundWithRateLimits', () => {
  it('sets the rules for every request and each service\'s descriptors on every inbound route; the base config is left as it was', () => {
    const base = inboundMesh([5005, 8080]);
    const limits: RateLimitConfig = {
      local: inboundLimits().local,
      services: [{ policy: 'default/p', host: '127.0.0.1', port: 8081, domain: 'd', timeoutMs: 20, failureModeDeny: false, responseHeaders: true, rules: [{ name: 'g', descriptor: [{ kind: 'genericKey', key: 'generic_key', value: 'x' }] }] }],
    };
    const m = inboundWithRateLimits(base, limits);
    expect(m.rateLimit).toBe(limits);
    expect(m.virtualHosts[0]!.routes.map((r) => r.rateLimit?.global.map((g) => g.rule.name))).toEqual([['g'], ['g'], ['g']]);
    expect(base.rateLimit).toBeUndefined();
    expect(base.virtualHosts[0]!.routes.every((r) => r.rateLimit === undefined)).toBe(true);
    expect(inboundWithRateLimits(base, undefined)).toBe(base);
  });

  it('Envoy: local_ratelimit carries the buckets itself (one set for the chain), routes carry the descriptor actions', () => {
    const { listener } = envoyInbound({ listen: { host: '127.0.0.1', port: 15006 }, appPorts: [5005], mode: 'DISABLE', rateLimit: inboundLimits() });
    const hcm = (listener.filter_chains as any[])[0].filters[0].typed_config;
    const local = hcm.http_filters.find((f: any) => f.name === 'envoy.filters.http.local_ratelimit');
    expect(local.typed_config.value.token_bucket).toEqual({ max_tokens: 4, tokens_per_fill: 1, fill_interval: '3600s' });
    expect(local.typed_config.value.descriptors).toEqual([{ entries: [{ key: 'x-user' }], token_bucket: { max_tokens: 2, tokens_per_fill: 1, fill_interval: '3600s' } }]);
    expect(hcm.http_filters.map((f: any) => f.name).slice(-2)).toEqual(['envoy.filters.http.local_ratelimit', 'envoy.filters.http.router']);
    for (const vh of hcm.route_config.virtual_hosts) {
      expect(vh.routes[0].route.rate_limits).toEqual([{ stage: 10, actions: [{ request_headers: { header_name: 'x-user', descriptor_key: 'x-user' } }] }]);
      expect(vh.routes[0].typed_per_filter_config).toBeUndefined();
    }
  });
});

const envoy = envoyForTests('inbound-rate-limits');

describe.skipIf(envoy === null)('the inbound rate limits on both planes (real Envoy, wasmesh)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-inbound-rl-'));
  const cleanups: Array<() => unknown> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the same 200/429 sequence: per-user buckets of 2, 4 requests for the whole listener', async () => {
    const app = await startHttpUpstream((_req, res) => res.end('app'));
    cleanups.push(() => app.close());
    const limits = inboundLimits();
    const [port, admin] = [await freePort('127.0.0.1'), await freePort('127.0.0.1')];
    const { listener, clusters } = envoyInbound({ listen: { host: '127.0.0.1', port }, appPorts: [app.port], mode: 'DISABLE', rateLimit: limits });
    const file = join(dir, 'envoy.json');
    writeFileSync(file, JSON.stringify({ admin: { address: { socket_address: { address: '127.0.0.1', port_value: admin } } }, static_resources: { listeners: [listener], clusters } }));
    let output = '';
    const child = spawn(envoy!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    cleanups.push(() => (child.exitCode === null ? (child.kill('SIGTERM'), exited) : undefined));
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200) break;
      } catch {}
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`Envoy not ready: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const wasmesh = new ProxyServer({ host: '127.0.0.1', port: 0, role: 'sidecar-inbound', limits: { drainTimeoutMs: 100 } });
    wasmesh.apply({ ...inboundWithRateLimits(inboundMesh([app.port]), limits), authorization: [] }, 1);
    await wasmesh.listen();
    cleanups.push(() => wasmesh.close());

    const users = ['alice', 'alice', 'alice', 'bob', 'carol', 'dave'];
    const want = [200, 200, 429, 200, 200, 429];
    for (const [at, p] of [['envoy', port], ['wasmesh', wasmesh.port]] as const) {
      const got: number[] = [];
      for (const user of users) {
        const r = await request(p, { path: '/', headers: { host: `app:${app.port}`, 'x-user': user } });
        got.push(r.status);
        if (r.status === 429) expect([at, r.body.toString()]).toEqual([at, 'local_rate_limited']);
      }
      expect([at, got], output).toEqual([at, want]);
    }
  }, 30_000);
});
