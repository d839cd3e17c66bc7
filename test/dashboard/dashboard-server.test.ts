// The dashboard server's API without a browser, over real loopback sockets: its PromQL goes to a
// recording stand-in for Prometheus' HTTP API (query and query_range, form-encoded POST) and the
// answers come back aggregated; the control plane views come from a real ControlPlane's
// monitoring port. Also: the page and its libraries are served from the package with a CSP, and
// bad input, a failing Prometheus and a foreign Host are refused with located errors.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusApi } from '../../host/dashboard/prometheus-api.js';
import { startDashboardServer, type DashboardServer } from '../../host/dashboard/dashboard-server.js';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { MonitoringServer } from '../../host/control-plane/monitoring-server.js';
import { webServices } from '../helpers/seed-000-yaml.js';

const edge = {
  source_workload: 'web-client', source_workload_namespace: 'default', source_canonical_service: 'client', source_canonical_revision: 'latest',
  destination_workload: 'web-v1', destination_workload_namespace: 'default', destination_canonical_service: 'web', destination_canonical_revision: 'v1',
  destination_service: 'web.default.svc.cluster.local', connection_security_policy: 'mutual_tls',
};

let prom: Server;
let promUrl: string;
const asked: Array<{ path: string; query: string; start?: string; end?: string; step?: string }> = [];
let promFails = false;
let dash: DashboardServer;
let dashNoCp: DashboardServer;
let cp: ControlPlane;
let monitoring: MonitoringServer;
let dir: string;

/** Prometheus' answer for a query: a few fixed samples for the shapes the dashboard asks. */
function answer(path: string, query: string): unknown {
  if (path === '/api/v1/query') {
    let result: unknown[] = [];
    if (query.startsWith('sum(rate(istio_requests_total{reporter="destination"}')) {
      result = [
        { metric: { ...edge, response_code: '200' }, value: [1000, '4.5'] },
        { metric: { ...edge, response_code: '503' }, value: [1000, '0.5'] },
      ];
    } else if (query.startsWith('histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination"}')) {
      result = [{ metric: edge, value: [1000, '24.75'] }];
    }
    return { status: 'success', data: { resultType: 'vector', result } };
  }
  // query_range: one series, a value at 1000 and 1010 only.
  return { status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1000, '2'], [1010, 'NaN']] }] } };
}

function raw(port: number, path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host: opts.host ?? `127.0.0.1:${port}` }, agent: false }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  prom = createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const path = new URL(req.url!, 'http://x').pathname;
      asked.push({ path, query: form.get('query') ?? '', start: form.get('start') ?? undefined, end: form.get('end') ?? undefined, step: form.get('step') ?? undefined });
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
        res.writeHead(405).end();
        return;
      }
      const out = promFails ? { status: 'error', errorType: 'bad_data', error: 'parse error: unexpected character' } : answer(path, form.get('query') ?? '');
      res.writeHead(promFails ? 400 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => prom.listen(0, '127.0.0.1', r));
  promUrl = `http://127.0.0.1:${(prom.address() as AddressInfo).port}`;

  dir = mkdtempSync(join(tmpdir(), 'wasmesh-dash-cp-'));
  writeFileSync(join(dir, '00-services.yaml'), webServices({ v1: 15101 }));
  writeFileSync(join(dir, '01-rules.yaml'), `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec: {hosts: [web], http: [{route: [{destination: {host: web}}]}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec: {host: web.default.svc.cluster.local, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: other}
spec: {host: other}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-allow}
spec: {selector: {matchLabels: {app: web}}, rules: [{from: [{source: {principals: ["*"]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: other-allow}
spec: {selector: {matchLabels: {app: other}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`);
  cp = new ControlPlane({ sources: [dir], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 20, maxDelayMs: 200 } });
  cp.start();
  await cp.listen('127.0.0.1', 0);
  monitoring = new MonitoringServer(cp);
  await monitoring.listen('127.0.0.1', 0);

  dash = await startDashboardServer({ prometheus: prometheusApi(promUrl), controlPlane: `http://127.0.0.1:${monitoring.port}`, host: '127.0.0.1', port: 0 });
  dashNoCp = await startDashboardServer({ prometheus: prometheusApi(promUrl + '/'), host: '127.0.0.1', port: 0, window: '5m' });
});

afterAll(async () => {
  await dash?.close();
  await dashNoCp?.close();
  await monitoring?.close();
  await cp?.close();
  if (prom) await new Promise((r) => prom.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dashboard server API', () => {
  it('/api/graph asks both reporters and answers the aggregated graph', async () => {
    asked.length = 0;
    const res = await fetch(`${dash.url}api/graph?window=30s`);
    expect(res.status).toBe(200);
    const g = await res.json() as { window: string; nodes: Array<{ id: string }>; edges: Array<Record<string, unknown>> };
    expect(g.window).toBe('30s');
    expect(g.nodes.map((n) => n.id)).toEqual(['default/web-client', 'default/web-v1']);
    expect(g.edges).toEqual([expect.objectContaining({ source: 'default/web-client', target: 'default/web-v1', rps: 5, errorRate: 0.1, p99Ms: 24.75, mtls: 'mutual_tls', reporter: 'destination' })]);
    expect(asked.map((a) => a.path)).toEqual(Array(6).fill('/api/v1/query'));
    expect(asked.map((a) => /reporter="(\w+)"/.exec(a.query)![1]).sort()).toEqual(['destination', 'destination', 'destination', 'source', 'source', 'source']);
    expect(asked.every((a) => a.query.includes('[30s]'))).toBe(true);
  });

  it('/api/graph uses the server\'s default window', async () => {
    asked.length = 0;
    expect((await fetch(`${dashNoCp.url}api/graph`)).status).toBe(200);
    expect(asked.every((a) => a.query.includes('[5m]'))).toBe(true);
  });

  it('/api/workload runs range queries for the workload\'s signals on one time axis', async () => {
    asked.length = 0;
    const res = await fetch(`${dash.url}api/workload?namespace=default&workload=web-v1&range=60&step=10`);
    expect(res.status).toBe(200);
    const body = await res.json() as { times: number[]; values: Record<string, Array<number | null>>; stepS: number };
    expect(asked).toHaveLength(6);
    expect(asked.every((a) => a.path === '/api/v1/query_range' && a.step === '10' && Number(a.end) - Number(a.start) === 60)).toBe(true);
    expect(asked.every((a) => a.query.includes('destination_workload="web-v1", destination_workload_namespace="default"'))).toBe(true);
    expect(body.times).toHaveLength(7);
    expect(body.times[1]! - body.times[0]!).toBe(10);
    // The stand-in's points (1000 → 2, 1010 → NaN) fall outside the window: nulls only.
    expect(Object.keys(body.values).sort()).toEqual(['errors', 'p50', 'p90', 'p99', 'requests', 'tcpBytes']);
    expect(body.values.requests!.every((v) => v === null)).toBe(true);
  });

  it('refuses bad parameters with 400 and names them', async () => {
    for (const [path, why] of [
      ['api/graph?window=1m)%20or%20vector(1', 'not a Prometheus duration'],
      ['api/workload?namespace=default', 'missing query parameter workload'],
      ['api/workload?namespace=default&workload=a%22b', 'not a workload name'],
      ['api/workload?namespace=default&workload=web&step=0', 'step must be an integer'],
    ] as const) {
      const res = await fetch(dash.url + path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: string }).error).toContain(why);
    }
  });

  it('a Prometheus error is a 502 with Prometheus\' message and the query', async () => {
    promFails = true;
    try {
      const res = await fetch(`${dash.url}api/graph`);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: string }).error).toMatch(/^prometheus: parse error: unexpected character \(query: .*istio_/);
    } finally {
      promFails = false;
    }
  });

  it('an unreachable Prometheus is a 502 naming its URL', async () => {
    const gone = await startDashboardServer({ prometheus: prometheusApi('http://127.0.0.1:1'), host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${gone.url}api/graph`);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: string }).error).toContain('http://127.0.0.1:1/ unreachable');
    } finally {
      await gone.close();
    }
  });

  it('/api/config lists what applies to a workload, from the control plane\'s configz', async () => {
    const res = await fetch(`${dash.url}api/config?namespace=default&workload=web-v1&app=web&service=web.default.svc.cluster.local`);
    expect(res.status).toBe(200);
    const body = await res.json() as { resources: Array<{ kind: string; namespace: string; name: string; why: string }> };
    expect(body.resources.map((r) => [r.kind, `${r.namespace}/${r.name}`, r.why])).toEqual([
      ['AuthorizationPolicy', 'default/web-allow', 'selector app=web'],
      ['DestinationRule', 'default/web', 'traffic policy for web.default.svc.cluster.local'],
      ['PeerAuthentication', 'istio-system/default', 'mesh-wide (root namespace, no selector)'],
      ['VirtualService', 'default/web', 'routes web.default.svc.cluster.local'],
    ]);
  });

  it('/api/proxies and /api/config without a control plane say so', async () => {
    expect(await (await fetch(`${dashNoCp.url}api/proxies`)).json()).toEqual({ controlPlane: null, proxies: [] });
    expect(await (await fetch(`${dashNoCp.url}api/config?namespace=default&workload=web-v1`)).json()).toEqual({ controlPlane: null, resources: [] });
    expect(await (await fetch(`${dash.url}api/proxies`)).json()).toEqual({ controlPlane: `http://127.0.0.1:${monitoring.port}/`, proxies: [] });
  });

  it('serves the page and the libraries from the package, same-origin only', async () => {
    const page = await raw(dash.port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    // Every script and stylesheet is a path on this origin.
    const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => !r.startsWith('/') && r !== 'data:,')).toEqual([]);
    for (const ref of refs.filter((r) => r.startsWith('/assets/'))) {
      const asset = await raw(dash.port, ref);
      expect(asset.status, ref).toBe(200);
      expect(asset.body.length, ref).toBeGreaterThan(100);
    }
    expect((await raw(dash.port, '/assets/cytoscape.min.js')).body).toContain('cytoscape');
    expect((await raw(dash.port, '/assets/nope.js')).status).toBe(404);
    expect((await raw(dash.port, '/api/nope')).status).toBe(404);
  });

  it('refuses other methods and foreign Host names', async () => {
    expect((await raw(dash.port, '/api/graph', { method: 'POST' })).status).toBe(405);
    const rebound = await raw(dash.port, '/api/graph', { host: 'evil.example:20001' });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain('DNS rebinding');
    expect((await raw(dash.port, '/', { host: 'localhost:20001' })).status).toBe(200);
  });
});
