// Istio's metrics in seed 003 (Istio101) with STRICT mTLS, as `wasmesh demo istio101 --mtls` runs
// it: every proxy knows its workload from its xDS identity (no flag), peers learn each other
// through the metadata exchange, so each sidecar's destination reporter names its caller —
// the gateway for frontend, frontend for middleware — with mTLS and the caller's SPIFFE ID.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startScenario, type RunningScenario } from '../../host/demo/scenario-mesh.js';
import { ISTIO101 } from '../../host/demo/istio101-scenario.js';
import { closeClient, get } from '../helpers/scenario-client.js';
import { parseSamples, samples, sumOf } from '../helpers/prometheus-samples.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SPIFFE = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

describe('seed 003 (Istio101) with STRICT mTLS: istio_* on every hop', () => {
  let mesh: RunningScenario;
  beforeAll(async () => {
    mesh = await startScenario(ISTIO101, {
      root: ROOT, listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, freeAppPorts: true, strictMtls: true, seed: 3, log: () => {},
    });
  }, 60_000);
  afterAll(async () => {
    closeClient();
    await mesh?.close();
  });

  it('each sidecar names its caller, the gateway its callee', async () => {
    for (let i = 0; i < 4; i++) expect((await get(`${mesh.gateway.url}/`)).status).toBe(200);
    const scrape = async (adminUrl: string) => parseSamples((await get(`${adminUrl}/stats/prometheus`)).body);

    const front = await scrape(mesh.sidecars.get('frontend-prod')!.adminUrl);
    expect(sumOf(front, 'istio_requests_total', {
      reporter: 'destination', source_workload: 'istio-ingressgateway', source_principal: SPIFFE('istio-system', 'istio-ingressgateway-service-account'),
      destination_workload: 'frontend-prod', destination_app: 'frontend', destination_version: 'prod', connection_security_policy: 'mutual_tls', response_code: '200',
    }), JSON.stringify(samples(front, 'istio_requests_total').map((s) => s.labels))).toBe(4);
    // frontend's outbound (source reporter) names middleware, whichever version answered.
    expect(sumOf(front, 'istio_requests_total', { reporter: 'source', source_workload: 'frontend-prod', destination_app: 'middleware', response_code: '200' })).toBe(4);

    const gw = await scrape(mesh.gateway.adminUrl);
    expect(sumOf(gw, 'istio_requests_total', { reporter: 'source', source_workload: 'istio-ingressgateway', destination_workload: 'frontend-prod', destination_canonical_service: 'frontend', response_code: '200' })).toBe(4);

    const middleware = [...['middleware-prod', 'middleware-canary']].map((w) => mesh.sidecars.get(w)!.adminUrl);
    let fromFrontend = 0;
    for (const url of middleware) fromFrontend += sumOf(await scrape(url), 'istio_requests_total', { reporter: 'destination', source_workload: 'frontend-prod', source_app: 'frontend', connection_security_policy: 'mutual_tls' });
    expect(fromFrontend).toBe(4);
  }, 60_000);
});
