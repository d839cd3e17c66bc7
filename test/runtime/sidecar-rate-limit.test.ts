// RateLimitPolicy on a sidecar's inbound listener (context SIDECAR_INBOUND), where Istio users
// protect a workload with local rate limits: the app's callers get 429 local_rate_limited once the
// bucket is empty; a policy without context (gateways and outbound) leaves the inbound alone.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { request } from '../helpers/http-client.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

const policy = (name: string, context: string) => `apiVersion: policy.wasmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: ${name}, namespace: default}
spec:
${context}  local:
    rules:
    - name: per-user
      descriptor: [{requestHeader: {name: x-user}}]
      tokenBucket: {maxTokens: 2, tokensPerFill: 1, fillInterval: 1h}
`;

async function sidecarWith(yaml: string): Promise<{ inbound: number; appPort: number; seen: () => number }> {
  let seen = 0;
  const app: Server = createServer((_req, res) => {
    seen++;
    res.end('app');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => app.close(r)));
  const appPort = (app.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-rl-sidecar-'));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'policy.yaml'), yaml);
  const sidecar = await startSidecarRuntime({
    sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort], accessLog: () => {}, log: () => {},
  });
  closers.push(() => sidecar.close());
  return { inbound: sidecar.ports.inbound, appPort, seen: () => seen };
}

describe('RateLimitPolicy on the sidecar inbound', () => {
  it('SIDECAR_INBOUND: two requests per user reach the app, the third is 429 local_rate_limited with x-ratelimit-*', async () => {
    const s = await sidecarWith(policy('inbound', '  context: SIDECAR_INBOUND\n'));
    const get = (user: string) => request(s.inbound, { headers: { host: `app:${s.appPort}`, 'x-user': user } });
    expect((await get('alice')).status).toBe(200);
    expect((await get('alice')).status).toBe(200);
    const limited = await get('alice');
    expect([limited.status, limited.body.toString()]).toEqual([429, 'local_rate_limited']);
    expect(limited.headers['x-ratelimit-limit']).toBe('2');
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect((await get('bob')).status).toBe(200);
    expect(s.seen()).toBe(3);
  });

  it('no context (gateways and outbound): the inbound is not limited', async () => {
    const s = await sidecarWith(policy('outbound', ''));
    for (let i = 0; i < 4; i++) expect((await request(s.inbound, { headers: { host: `app:${s.appPort}`, 'x-user': 'alice' } })).status).toBe(200);
    expect(s.seen()).toBe(4);
  });
});
