// The span exporter's cost on the proxy's thread per report (issue 14): CPU time
// (process.cpuUsage, user + system) around N reports of a batch to a sink collector in another
// process (node's http server answering 202), one report at a time as the exporter sends them.
// Three ways of posting, in alternating rounds so that the shared machine's drift hits them alike:
//   idle     nothing (the loop and, with --gap, its timer: subtracted from the others);
//   http     node's http.request with a keep-alive Agent (maxSockets 1): what the exporter used
//            before the raw client;
//   raw      the exporter's CollectorClient (one keep-alive socket, pre-built head, one write);
//   exporter the whole SpanExporter (queue, counters, the Zipkin v2 body built from the spans,
//            the raw client), per report of `--spans` spans.
// Also the body's serialization alone (zipkinBody / otlpBody of the batch).
// With --gap, the loop idles between reports (the timer's own cost is in every way's figure).
// Usage: node dist/bench/exporter-cost.js [--reports 2000] [--rounds 6] [--spans 5] [--gap 0]
import { spawn } from 'node:child_process';
import { request, Agent } from 'node:http';
import { CollectorClient } from '../host/telemetry/tracing/collector-client.js';
import { SpanExporter } from '../host/telemetry/tracing/span-exporter.js';
import { zipkinBody } from '../host/telemetry/tracing/zipkin-json.js';
import { otlpBody } from '../host/telemetry/tracing/otlp-json.js';
import type { FinishedSpan } from '../host/telemetry/tracing/span.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const REPORTS = arg('reports', 2000);
const ROUNDS = arg('rounds', 6);
const SPANS = arg('spans', 5);
/** Idle milliseconds between reports (the exporter's are ≥ 100 ms apart: caches go cold between). */
const GAP_MS = arg('gap', 0);

function span(i: number): FinishedSpan {
  return {
    traceId: '463ac35c9f6413ad48485a3953bb6124', spanId: (0x1000 + i).toString(16).padStart(16, '0'), parentId: i % 2 === 0 ? null : '0000000000001000',
    name: 'productpage.default.svc.cluster.local:9080/*', kind: i % 2 === 0 ? 'SERVER' : 'CLIENT', startUs: 1_700_000_000_000_000 + i, durationUs: 1500,
    tags: {
      'http.url': 'http://productpage:9080/productpage', 'http.method': 'GET', 'http.status_code': '200', 'http.protocol': 'HTTP/1.1',
      'upstream_cluster': 'inbound|9080||', 'response_flags': '-', 'istio.canonical_service': 'productpage', 'istio.mesh_id': 'cluster.local',
      'istio.namespace': 'default', 'node_id': 'sidecar~10.0.0.7~productpage-v1.default~default.svc.cluster.local', component: 'proxy',
      'request_size': '0', 'response_size': '5183', 'peer.address': '10.0.0.9', 'user_agent': 'wrk', 'guid:x-request-id': 'f4c6a2b0-4c1e-4bd8-9f5e-0d2b1c3a7e88',
    },
    localService: 'productpage.default', localIp: '10.0.0.7', remote: i % 2 === 0 ? '10.0.0.9:43210' : '10.0.0.12:9080',
  };
}

async function sink(): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, ['-e', `
    const http = require('node:http');
    const s = http.createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(202).end()); });
    s.keepAliveTimeout = 600000;
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  return { port, stop: () => child.kill() };
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function main(): Promise<void> {
  const { port, stop } = await sink();
  const batch = Array.from({ length: SPANS }, (_, i) => span(i));
  const body = zipkinBody(batch);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const postHttp = (): Promise<void> => new Promise<void>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: '/api/v2/spans', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 5000,
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
  const client = new CollectorClient('127.0.0.1', port, '/api/v2/spans', 5000);
  const postRaw = async (): Promise<void> => {
    const o = await client.post(body);
    if (o !== 202) throw new Error(`outcome ${o}`);
  };
  const counts: Record<string, number> = {};
  const exporter = new SpanExporter({ name: 'zipkin', kind: 'zipkin', service: '127.0.0.1', port, path: '/api/v2/spans', maxTagLength: 256 },
    { inc: (n) => { counts[n] = (counts[n] ?? 0) + 1; } }, { minFlushSpans: SPANS, minReportGapMs: 0, flushIntervalMs: 600_000 });
  const viaExporter = async (): Promise<void> => {
    for (const s of batch) exporter.report(s);
    await exporter.flush();
  };

  const idle = async (): Promise<void> => {};
  const ways: Array<[string, () => Promise<void>]> = [['idle', idle], ['http', postHttp], ['raw', postRaw], ['exporter', viaExporter]];
  for (const [, f] of ways) for (let i = 0; i < 200; i++) await f(); // warm-up
  const results: Record<string, number[]> = { idle: [], http: [], raw: [], exporter: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, f] of r % 2 === 0 ? ways : [...ways].reverse()) {
      const t0 = cpuUs();
      for (let i = 0; i < REPORTS; i++) {
        await f();
        if (GAP_MS > 0) await new Promise((res) => setTimeout(res, GAP_MS));
      }
      results[name]!.push((cpuUs() - t0) / REPORTS);
    }
  }
  // Serialization alone.
  const ser = (f: (s: readonly FinishedSpan[]) => string): number => {
    for (let i = 0; i < 2000; i++) f(batch);
    const t0 = cpuUs();
    for (let i = 0; i < 20000; i++) f(batch);
    return (cpuUs() - t0) / 20000;
  };
  const zip = ser(zipkinBody);
  const otlp = ser(otlpBody);
  await exporter.close();
  client.close();
  agent.destroy();
  stop();
  const fmt = (xs: number[]): string => `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)} µs (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  console.log(`exporter cost: ${REPORTS} reports × ${ROUNDS} alternating rounds, ${GAP_MS} ms apart, ${SPANS} spans (${Buffer.byteLength(body)} B Zipkin body) per report; CPU per report, mean (min–max of rounds)`);
  for (const name of Object.keys(results)) console.log(`  ${name.padEnd(9)} ${fmt(results[name]!)}`);
  // Each round's figure less that round's idle loop (the gap's timer), then raw over http.
  const net = (name: string): number[] => results[name]!.map((x, i) => x - results['idle']![i]!);
  for (const name of ['http', 'raw', 'exporter']) console.log(`  ${name.padEnd(9)} less idle: ${fmt(net(name))}`);
  const ratios = net('raw').map((x, i) => x / net('http')[i]!);
  console.log(`  raw / http per round: ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`  zipkinBody of ${SPANS} spans ${zip.toFixed(1)} µs, otlpBody ${otlp.toFixed(1)} µs`);
  if (counts['tracing.zipkin.reports_sent'] !== 200 + ROUNDS * REPORTS) throw new Error(`exporter sent ${counts['tracing.zipkin.reports_sent']} reports: ${JSON.stringify(counts)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
