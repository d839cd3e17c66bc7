// Seed 002's security step over real sockets: its enable-strict-mode.yml (PeerAuthentication
// default, STRICT, for the workloads' namespace) loaded with the bookinfo rules, as `wasmesh demo
// bookinfo --mtls` runs it — the control plane's CA, every app behind its own sidecar with a
// workload identity (bookinfo-<service>), the WorkloadEntries at the sidecars' inbound ports. The
// product page still answers through the gateway, each callee sees its caller's SPIFFE ID, and
// plaintext to an inbound port is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { startScenario, type RunningScenario } from '../../host/demo/scenario-mesh.js';
import { BOOKINFO } from '../../host/demo/bookinfo-scenario.js';
import { closeClient, get } from '../helpers/scenario-client.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const SPIFFE = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;

function plain(url: string): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode! }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('seed 002 (bookinfo rules) with its enable-strict-mode.yml', () => {
  let mesh: RunningScenario;
  const logs: string[] = [];
  beforeAll(async () => {
    mesh = await startScenario(BOOKINFO, {
      root: ROOT,
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      freeAppPorts: true,
      strictMtls: true,
      log: (level, message) => logs.push(`${level} ${message}`),
    });
  }, 60_000);
  afterAll(async () => {
    closeClient();
    await mesh?.close();
  });

  it('loads the seed\'s file as written, enforced (no unenforced-security warning)', () => {
    expect(readFileSync(mesh.mtls!.peerAuthentication, 'utf8')).toBe(readFileSync(join(ROOT, 'test/config/fixtures/seed-002/enable-strict-mode.yml'), 'utf8'));
    expect(logs.filter((l) => /NOT ENFORCED|unenforced/i.test(l))).toEqual([]);
  });

  it('jason on Chrome: the page with reviews v2 and its ratings, every hop over mTLS naming its caller', async () => {
    const r = await get(`${mesh.gateway.url}/productpage`, { 'end-user': 'jason', 'user-agent': CHROME });
    expect(r.status, r.body).toBe(200);
    const page = JSON.parse(r.body);
    expect(page.reviews.status).toBe(200);
    expect(page.reviews.body).toMatchObject({ version: 'v2', ratings: { status: 200 } });
    expect(page.details.status).toBe(200);
    // productpage answers who called it, as its sidecar verified: the gateway.
    expect(r.headers['x-caller-identity']).toBe('spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
    const xfcc = (workload: string) => String(mesh.apps.get(workload)!.seen.at(-1)?.headers['x-forwarded-client-cert'] ?? '');
    expect(xfcc('productpage-v1')).toContain(`URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account`);
    expect(xfcc('reviews-v2')).toContain(`URI=${SPIFFE('bookinfo-productpage')}`);
    // reviews v2 called one of the two ratings versions (the seed routes ratings by weight).
    expect(`${xfcc('ratings-v1')} ${xfcc('ratings-v2')}`).toContain(`URI=${SPIFFE('bookinfo-reviews')}`);
  });

  it('refuses plaintext on every inbound sidecar port', async () => {
    for (const [workload, sidecar] of mesh.sidecars) {
      const before = mesh.apps.get(workload)!.seen.length;
      expect(await plain(`${sidecar.inboundUrl}/`), workload).toHaveProperty('error');
      expect(mesh.apps.get(workload)!.seen.length, workload).toBe(before);
    }
    expect(mesh.sidecars.size).toBe(8);
  });
});
