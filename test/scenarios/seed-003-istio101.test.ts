// Seed 003 (Istio101) over real sockets: frontend → middleware → backend, each app behind its
// own sidecar (the proxy in mesh mode, routing by Host) and the ingress gateway in front, with
// examples/003-istio101's YAML unchanged. The `fail` header makes every hop answer 500 with
// that probability; x-dev-user: super-secret reaches the middleware canary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startScenario, type RunningScenario } from '../../host/demo/scenario-mesh.js';
import { ISTIO101 } from '../../host/demo/istio101-scenario.js';
import { closeClient, get, many, stats, statSum } from '../helpers/scenario-client.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RETRY_ON_5XX = readFileSync(join(ROOT, 'examples/003-istio101/variants/03-retry-on-5xx.yaml'), 'utf8');

function start(extraFiles?: Record<string, string>, seed = 3): Promise<RunningScenario> {
  return startScenario(ISTIO101, {
    root: ROOT,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    freeAppPorts: true,
    seed,
    extraFiles,
  });
}

/** The names in a chain answer, in order: `frontend-prod`, `middleware-canary`, `backend-prod`. */
function servedBy(body: string): string[] {
  return [...body.matchAll(/(?:^|-> )(\w+-\w+) - /gm)].map((m) => m[1]);
}

/**
 * The chance a request through the gateway fails when each of the three hops answers 500 with
 * probability p and each proxy makes `tries` attempts (1 + retries) on 5xx. A hop's attempt
 * fails when the app draws a failure or, having passed, its own downstream hop failed after
 * all its attempts; the gateway's hop is the last to give up.
 */
export function chainErrorRate(p: number, tries: number): number {
  let hop = p ** tries; // backend, as middleware's sidecar sees it
  for (let i = 0; i < 2; i++) hop = (p + (1 - p) * hop) ** tries; // middleware, then frontend
  return hop;
}

describe('seed 003 (Istio101): the chain through the gateway and the sidecars', () => {
  let mesh: RunningScenario;
  beforeAll(async () => {
    mesh = await start();
  });
  afterAll(async () => {
    closeClient();
    await mesh?.close();
  });

  it('answers through all three hops, forwarding the trace headers to the end', async () => {
    const r = await get(`${mesh.gateway.url}/`, { 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-sampled': '1' });
    expect(r.status).toBe(200);
    expect(servedBy(r.body)).toEqual(['frontend-prod', 'middleware-prod', 'backend-prod']);
    expect(r.body).toMatch(/^frontend-prod - [\d.]+secs\nhttp:\/\/middleware\/ -> middleware-prod - [\d.]+secs\nhttp:\/\/backend\/ -> backend-prod - [\d.]+secs\n$/);
    const front = mesh.apps.get('frontend-prod')!.seen.at(-1)!;
    const back = mesh.apps.get('backend-prod')!.seen.at(-1)!;
    // The gateway made the request id; each app forwarded it and the trace headers, hop by hop.
    expect(front.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(back.headers['x-request-id']).toBe(front.headers['x-request-id']);
    expect(back.headers['x-b3-traceid']).toBe('463ac35c9f6413ad');
    // The sidecars routed by Host, as the apps called http://middleware/ and http://backend/.
    expect(mesh.apps.get('middleware-prod')!.seen.at(-1)!.host).toBe('middleware');
    expect(back.host).toBe('backend');
  });

  it('sends x-dev-user: super-secret to the middleware canary, everyone else to prod', async () => {
    const results = await many(60, 6, (i) =>
      get(`${mesh.gateway.url}/`, i % 2 === 0 ? { 'x-dev-user': 'super-secret' } : i % 4 === 1 ? { 'x-dev-user': 'someone-else' } : {}),
    );
    const canary = results.filter((r) => servedBy(r.body)[1] === 'middleware-canary');
    const prod = results.filter((r) => servedBy(r.body)[1] === 'middleware-prod');
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect([canary.length, prod.length]).toEqual([30, 30]);
    // The header travelled: the canary saw it, prod never did.
    expect(mesh.apps.get('middleware-canary')!.seen.every((s) => s.headers['x-dev-user'] === 'super-secret')).toBe(true);
    expect(mesh.apps.get('middleware-prod')!.seen.some((s) => s.headers['x-dev-user'] === 'super-secret')).toBe(false);
    // Straight through the frontend's sidecar (mesh mode), as the frontend app calls it.
    const frontendSidecar = mesh.sidecars.get('frontend-prod')!.url;
    const direct = await get(`${frontendSidecar}/`, { host: 'middleware', 'x-dev-user': 'super-secret' });
    expect(servedBy(direct.body)).toEqual(['middleware-canary', 'backend-prod']);
    expect(servedBy((await get(`${frontendSidecar}/`, { host: 'middleware' })).body)).toEqual(['middleware-prod', 'backend-prod']);
  });

  it('fail: 0.3 with the seed YAML as written: current Istio does not retry a 500, so ≈ 1 − 0.7³ fail', async () => {
    const before = await stats(mesh.gateway.adminUrl);
    const n = 600;
    const results = await many(n, 16, () => get(`${mesh.gateway.url}/`, { fail: '0.3' }));
    const rate = results.filter((r) => r.status !== 200).length / n;
    const expected = chainErrorRate(0.3, 1); // 0.657
    const sd = Math.sqrt((expected * (1 - expected)) / n);
    console.log(`seed 003, fail 0.3, seed YAML: ${(rate * 100).toFixed(1)} % failed (expected ${(expected * 100).toFixed(1)} %)`);
    expect(Math.abs(rate - expected)).toBeLessThan(5 * sd);
    expect(results.every((r) => r.status === 200 || r.status === 500)).toBe(true);
    // Every attempt was the first: the retry policy ({attempts: 3} with Istio's default
    // retryOn) saw the 500s and did not retry them.
    const after = await stats(mesh.gateway.adminUrl);
    expect(statSum(after, 'frontend', 'upstream_rq_retry') - statSum(before, 'frontend', 'upstream_rq_retry')).toBe(0);
    expect(mesh.apps.get('backend-prod')!.seen.slice(-50).every((s) => s.headers['x-envoy-attempt-count'] === '1')).toBe(true);
  });

  it('fail: 0.3 with the seed-era retryOn (5xx): 3 retries per hop and the errors are (almost) gone', async () => {
    const seedEra = await start({ '03-retry-on-5xx.yaml': RETRY_ON_5XX }, 33);
    try {
      const before = await stats(seedEra.gateway.adminUrl);
      const n = 800;
      const results = await many(n, 16, () => get(`${seedEra.gateway.url}/`, { fail: '0.3' }));
      const failures = results.filter((r) => r.status !== 200).length;
      const expected = chainErrorRate(0.3, 4); // ≈ 0.0088: the 0.3⁴ of one hop, compounded by the chain
      const mean = n * expected;
      expect(failures).toBeLessThanOrEqual(Math.ceil(mean + 5 * Math.sqrt(mean)));
      // The drop is the retries' doing: the gateway retried the frontend about as often as a
      // frontend attempt fails (f + f² + f³ retries per request, f = 0.3 + 0.7·(middleware's
      // failure rate)).
      const middlewareHop = (0.3 + 0.7 * 0.3 ** 4) ** 4;
      const fFront = 0.3 + 0.7 * middlewareHop;
      const retriesPerRequest = fFront + fFront ** 2 + fFront ** 3;
      const after = await stats(seedEra.gateway.adminUrl);
      const retries = statSum(after, 'frontend', 'upstream_rq_retry') - statSum(before, 'frontend', 'upstream_rq_retry');
      console.log(`seed 003, fail 0.3, retryOn 5xx: ${failures}/${n} failed (expected ${mean.toFixed(1)}), ${retries} gateway retries (expected ${(retriesPerRequest * n).toFixed(0)})`);
      expect(Math.abs(retries / n - retriesPerRequest)).toBeLessThan(0.1);
      // Retried attempts carry their number.
      const counts = new Set(seedEra.apps.get('frontend-prod')!.seen.map((s) => s.headers['x-envoy-attempt-count']));
      expect([...counts].sort()).toEqual(['1', '2', '3', '4']);
    } finally {
      await seedEra.close();
    }
  });
});
