// Tracing through a real ProxyServer on loopback: the stream span and one client span per
// upstream attempt reach a collector (Zipkin v2 JSON) with Envoy's and Istio's tags; each
// attempt's head carries its own span context; the propagated sampling decision, x-client-trace-id
// and malformed headers behave as in Envoy.
import { describe, it, expect } from 'vitest';
import http from 'node:http';
import { proxy, upstream, meshWith, useCleanup } from './traffic-helpers.js';
import { request } from '../helpers/http-client.js';
import { retryPolicyFromIstio } from '../../host/config/translate/retry-policy.js';
import type { TracingConfig } from '../../host/model/tracing.js';
import type { MeshConfig } from '../../host/model/mesh.js';

useCleanup();

interface Collected { spans: Array<Record<string, any>>; port: number; close(): Promise<void> }

async function zipkinCollector(): Promise<Collected> {
  const spans: Collected['spans'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/api/v2/spans') spans.push(...(JSON.parse(Buffer.concat(chunks).toString()) as Array<Record<string, any>>));
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { spans, port: (server.address() as { port: number }).port, close: () => new Promise((r) => server.close(() => r())) };
}

function traced(m: MeshConfig, port: number, patch: Partial<TracingConfig> = {}): MeshConfig {
  m.tracing = { provider: { name: 'zipkin', kind: 'zipkin', service: '127.0.0.1', port, path: '/api/v2/spans', maxTagLength: 256 }, samplingPercentage: 100, customTags: [], disableSpanReporting: false, ...patch };
  return m;
}

describe('tracing through the proxy', () => {
  it('a retried request: one trace, the stream span and a client span per attempt, each attempt with its own context', async () => {
    const collector = await zipkinCollector();
    const seen: Array<http.IncomingHttpHeaders> = [];
    const up = await upstream((req, res) => {
      seen.push(req.headers);
      res.writeHead(seen.length === 1 ? 503 : 200).end('ok');
    });
    const m = traced(meshWith([{ name: 'backend', ports: [up.port] }], { retry: retryPolicyFromIstio({ attempts: 2, retryOn: '5xx' }) }), collector.port, {
      customTags: [{ tag: 'team', kind: 'literal', value: 'reviews' }, { tag: 'user', kind: 'header', name: 'x-user', defaultValue: 'anon' }],
    });
    const { p } = await proxy(m);
    const r = await request(p.port, { path: '/a?b=1', headers: { host: 'svc.test', 'x-user': 'jason', 'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '1' } });
    expect(r.status).toBe(200);
    expect(seen).toHaveLength(2);
    // Both attempts continue the client's trace, each with its own span, child of the stream span.
    expect(seen.map((h) => h['x-b3-traceid'])).toEqual(['463ac35c9f6413ad48485a3953bb6124', '463ac35c9f6413ad48485a3953bb6124']);
    expect(seen[0]!['x-b3-spanid']).not.toBe(seen[1]!['x-b3-spanid']);
    expect(seen[0]!['x-b3-parentspanid']).toBe(seen[1]!['x-b3-parentspanid']);
    expect(seen[0]!['x-b3-sampled']).toBe('1');
    expect(seen[1]!['traceparent']).toBe(`00-463ac35c9f6413ad48485a3953bb6124-${seen[1]!['x-b3-spanid'] as string}-01`);
    await p.close();
    await collector.close();
    const spans = collector.spans;
    expect(spans).toHaveLength(3);
    const stream = spans.find((s) => s.name === 'svc.test/*')!;
    const attempts = spans.filter((s) => s.name === 'router backend egress');
    expect(stream.parentId).toBe('a2fb4a1d1a96d312');
    expect(stream.id).toBe(seen[0]!['x-b3-parentspanid']);
    expect(stream.kind).toBe('SERVER');
    expect(stream.tags).toMatchObject({
      'http.method': 'GET', 'http.url': 'http://svc.test/a?b=1', 'http.status_code': '200', upstream_cluster: 'backend', response_flags: '-',
      component: 'proxy', 'istio.canonical_service': 'unknown', 'istio.mesh_id': 'cluster.local', 'istio.namespace': 'default',
      node_id: 'sidecar~unknown~unknown.default~default.svc.cluster.local', team: 'reviews', user: 'jason', 'peer.address': '127.0.0.1',
    });
    expect(stream.tags['guid:x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(stream.tags.error).toBeUndefined();
    expect(attempts.map((s) => s.id)).toEqual(seen.map((h) => h['x-b3-spanid']));
    expect(attempts.map((s) => s.parentId)).toEqual([stream.id, stream.id]);
    expect(attempts.map((s) => s.tags['http.status_code'])).toEqual(['503', '200']);
    expect(attempts[0]!.tags.error).toBe('true');
    expect(attempts[1]!.tags['retry.count']).toBe('1');
    expect(attempts[0]!.remoteEndpoint).toEqual({ ipv4: '127.0.0.1', port: up.port });
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set(['463ac35c9f6413ad48485a3953bb6124']));
    expect(p.stats.downstream.get('tracing.zipkin.spans_sent')).toBe(3);
  });

  it('honours x-b3-sampled: 0 (propagated, nothing reported); x-client-trace-id forces a trace at 0 %', async () => {
    const collector = await zipkinCollector();
    const seen: Array<http.IncomingHttpHeaders> = [];
    const up = await upstream((req, res) => {
      seen.push(req.headers);
      res.writeHead(200).end();
    });
    const { p } = await proxy(traced(meshWith([{ name: 'backend', ports: [up.port] }]), collector.port, { samplingPercentage: 0 }));
    await request(p.port, { headers: { host: 'svc.test', 'x-b3-traceid': '48485a3953bb6124', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '0', 'x-client-trace-id': 'x' } });
    expect(seen[0]).toMatchObject({ 'x-b3-traceid': '48485a3953bb6124', 'x-b3-sampled': '0', 'x-b3-parentspanid': expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(seen[0]!['traceparent']).toMatch(/^00-000000000000000048485a3953bb6124-[0-9a-f]{16}-00$/);
    // No context: the 0 % draw says no…
    await request(p.port, { headers: { host: 'svc.test' } });
    expect(seen[1]!['x-b3-sampled']).toBe('0');
    // …and x-client-trace-id forces it.
    await request(p.port, { headers: { host: 'svc.test', 'x-client-trace-id': 'abc' } });
    expect(seen[2]!['x-b3-sampled']).toBe('1');
    expect(seen[2]!['x-b3-traceid']).toMatch(/^[0-9a-f]{32}$/);
    expect(p.stats.downstream.get('tracing.client_enabled')).toBe(1);
    expect(p.stats.downstream.get('tracing.not_traceable')).toBe(1);
    await p.close();
    await collector.close();
    expect(collector.spans.map((s) => s.traceId)).toEqual([seen[2]!['x-b3-traceid'], seen[2]!['x-b3-traceid']]);
  });

  it('malformed propagation headers: no span, headers forwarded as received (Envoy\'s NullSpan)', async () => {
    const collector = await zipkinCollector();
    const seen: Array<http.IncomingHttpHeaders> = [];
    const up = await upstream((req, res) => {
      seen.push(req.headers);
      res.writeHead(200).end();
    });
    const { p } = await proxy(traced(meshWith([{ name: 'backend', ports: [up.port] }]), collector.port));
    const r = await request(p.port, { headers: { host: 'svc.test', 'x-b3-traceid': 'not-hex', 'x-b3-spanid': 'a2fb4a1d1a96d312' } });
    expect(r.status).toBe(200);
    expect(seen[0]!['x-b3-traceid']).toBe('not-hex');
    expect(seen[0]!['traceparent']).toBeUndefined();
    await p.close();
    await collector.close();
    expect(collector.spans).toEqual([]);
  });

  it('a context read from the head\'s bytes: upper-case ids written lower-case, repeats never forwarded; a malformed one forwarded with its repeats', async () => {
    const collector = await zipkinCollector();
    const seen: Array<http.IncomingHttpHeaders> = [];
    const raw: string[][] = [];
    const up = await upstream((req, res) => {
      seen.push(req.headers);
      raw.push(req.rawHeaders);
      res.writeHead(200).end();
    });
    const { p } = await proxy(traced(meshWith([{ name: 'backend', ports: [up.port] }]), collector.port, { samplingPercentage: 0 }));
    await request(p.port, { headers: { 'X-B3-TraceId': '463AC35C9F6413AD48485A3953BB6124', 'x-b3-spanid': ['A2FB4A1D1A96D312', '0000000000000001'], 'x-b3-sampled': '1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00', tracestate: 'congo=t61rcWkgMzE', 'x-app': 'kept' } });
    expect(seen[0]).toMatchObject({ 'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124', 'x-b3-parentspanid': expect.stringMatching(/^[0-9a-f]{16}$/), 'x-b3-sampled': '1', 'x-app': 'kept' });
    // The B3 context continued (the Zipkin provider's own format): W3C's tracestate does not go with it, as before.
    expect(seen[0]!['tracestate']).toBeUndefined();
    expect(seen[0]!['traceparent']).toMatch(/^00-463ac35c9f6413ad48485a3953bb6124-[0-9a-f]{16}-01$/);
    const names = raw[0]!.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const n of ['x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'traceparent']) expect(names.filter((m) => m === n)).toHaveLength(1);
    // Malformed (a span id not hex): no trace; every field as received, the repeat too.
    await request(p.port, { headers: { 'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124', 'x-b3-spanid': ['nothex', 'a2fb4a1d1a96d312'], tracestate: 'k=v' } });
    expect(seen[1]).toMatchObject({ 'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124', 'x-b3-spanid': 'nothex, a2fb4a1d1a96d312', tracestate: 'k=v' });
    expect(seen[1]!['traceparent']).toBeUndefined();
    await p.close();
    await collector.close();
    // The sampled request's spans carry the received ids, lower case.
    expect(new Set(collector.spans.map((s) => s.traceId))).toEqual(new Set(['463ac35c9f6413ad48485a3953bb6124']));
    expect(collector.spans.find((s) => s.name === 'svc.test/*')!.parentId).toBe('a2fb4a1d1a96d312');
  });

  it('stray propagation headers that make no context are replaced, never sent twice', async () => {
    const collector = await zipkinCollector();
    const seen: Array<http.IncomingHttpHeaders> = [];
    const up = await upstream((req, res) => {
      seen.push(req.headers);
      res.writeHead(200).end();
    });
    const { p } = await proxy(traced(meshWith([{ name: 'backend', ports: [up.port] }]), collector.port));
    await request(p.port, { headers: { host: 'svc.test', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-parentspanid': '0020000000000001', 'x-b3-sampled': 'maybe', tracestate: 'a=b' } });
    expect(seen[0]!['x-b3-spanid']).toMatch(/^[0-9a-f]{16}$/);
    expect(seen[0]!['x-b3-spanid']).not.toBe('a2fb4a1d1a96d312');
    expect(seen[0]!['x-b3-parentspanid']).toMatch(/^[0-9a-f]{16}$/);
    expect(seen[0]!['x-b3-sampled']).toBe('1');
    expect(seen[0]!['tracestate']).toBeUndefined();
    await p.close();
    await collector.close();
  });

  it('a W3C traceparent is continued and its tracestate passed on; 5xx answers are spans with error', async () => {
    const collector = await zipkinCollector();
    const seen: Array<http.IncomingHttpHeaders> = [];
    const up = await upstream((req, res) => {
      seen.push(req.headers);
      res.writeHead(500).end();
    });
    const { p } = await proxy(traced(meshWith([{ name: 'backend', ports: [up.port] }]), collector.port, { samplingPercentage: 0 }));
    await request(p.port, { headers: { host: 'svc.test', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'congo=t61rcWkgMzE' } });
    expect(seen[0]!['traceparent']).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(seen[0]!['tracestate']).toBe('congo=t61rcWkgMzE');
    expect(seen[0]!['x-b3-traceid']).toBe('0af7651916cd43dd8448eb211c80319c');
    await p.close();
    await collector.close();
    const stream = collector.spans.find((s) => s.name === 'svc.test/*')!;
    expect(stream.parentId).toBe('b7ad6b7169203331');
    expect(stream.tags).toMatchObject({ 'http.status_code': '500', error: 'true' });
  });

  it('no tracing config: no filter, trace headers pass through untouched', async () => {
    const seen: Array<http.IncomingHttpHeaders> = [];
    const up = await upstream((req, res) => {
      seen.push(req.headers);
      res.writeHead(200).end();
    });
    const { p } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }]));
    await request(p.port, { headers: { host: 'svc.test', 'x-b3-traceid': '48485a3953bb6124', 'x-b3-spanid': 'a2fb4a1d1a96d312' } });
    expect(seen[0]!['x-b3-spanid']).toBe('a2fb4a1d1a96d312');
    expect(seen[0]!['traceparent']).toBeUndefined();
  });

  it('an OpenTelemetry provider: OTLP/HTTP JSON to its path, traceparent continued', async () => {
    const bodies: any[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push({ path: req.url, body: JSON.parse(Buffer.concat(chunks).toString()) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const up = await upstream((_req, res) => res.writeHead(200).end());
    const m = traced(meshWith([{ name: 'backend', ports: [up.port] }]), port);
    m.tracing = { ...m.tracing!, provider: { name: 'otel', kind: 'opentelemetry', service: '127.0.0.1', port, path: '/otlp/v1/traces', maxTagLength: 256 } };
    const { p } = await proxy(m);
    await request(p.port, { headers: { host: 'svc.test', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    await p.close();
    await new Promise<void>((r) => server.close(() => r()));
    expect(bodies.map((b) => b.path)).toEqual(['/otlp/v1/traces']);
    const spans = bodies[0].body.resourceSpans[0].scopeSpans[0].spans as Array<Record<string, any>>;
    expect(spans.map((s) => [s.kind, s.traceId])).toEqual([[3, '0af7651916cd43dd8448eb211c80319c'], [2, '0af7651916cd43dd8448eb211c80319c']]);
    expect(spans[1]!.parentSpanId).toBe('b7ad6b7169203331');
    expect(p.stats.downstream.get('tracing.opentelemetry.spans_sent')).toBe(2);
  });

  it('a new config version changes tracing live: sampling, then off (headers untouched again)', async () => {
    const collector = await zipkinCollector();
    const seen: Array<http.IncomingHttpHeaders> = [];
    const up = await upstream((req, res) => {
      seen.push(req.headers);
      res.writeHead(200).end();
    });
    const m = traced(meshWith([{ name: 'backend', ports: [up.port] }]), collector.port, { samplingPercentage: 0 });
    const { p } = await proxy(m);
    await request(p.port, { headers: { host: 'svc.test' } });
    expect(seen[0]!['x-b3-sampled']).toBe('0');
    p.apply(traced(meshWith([{ name: 'backend', ports: [up.port] }]), collector.port, { samplingPercentage: 100 }), 2);
    await request(p.port, { headers: { host: 'svc.test' } });
    expect(seen[1]!['x-b3-sampled']).toBe('1');
    p.apply(meshWith([{ name: 'backend', ports: [up.port] }]), 3);
    await request(p.port, { headers: { host: 'svc.test', 'x-b3-traceid': '48485a3953bb6124', 'x-b3-spanid': 'a2fb4a1d1a96d312' } });
    expect(seen[2]!['x-b3-spanid']).toBe('a2fb4a1d1a96d312');
    await p.close();
    await collector.close();
    expect(collector.spans).toHaveLength(2);
  });
});
