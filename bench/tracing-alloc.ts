// What a request allocates in a running proxy when it continues a mesh peer's trace context
// (the app's sidecar: B3 multi-header and traceparent from the client side's proxy), with V8's
// sampling heap profiler (objects scavenges collected included): a real ProxyServer on
// loopback, a raw keep-alive client writing the same pre-built head each time and a raw
// upstream answering a fixed 200, both allocating next to nothing, so what is sampled is the
// proxy's path. Variants, one process each (`node dist/bench/tracing-alloc.js <variant>`):
// `off` (no tracing, the head without context), `trace0` (tracing at 0 %, the head with the
// peer's context), `start0` (tracing at 0 %, the head without context: the client side's proxy,
// which starts every trace). Run the same file against two builds for an A/B (copied next to another
// build's dist/bench). Prints heap bytes per request, all of the process, and the part
// allocated under host/ (the proxy's code).
import net from 'node:net';
import { Session } from 'node:inspector/promises';
import { ProxyServer } from '../host/server/proxy-server.js';
import { noHeaderOps, type MeshConfig } from '../host/model/mesh.js';

const variant = process.argv[2] ?? 'trace0';
const requests = Number(process.argv[3] ?? 20000);
if (variant !== 'off' && variant !== 'trace0' && variant !== 'start0') throw new Error(`variant '${variant}' is not off, trace0 or start0`);

const CONTEXT = 'x-b3-traceid: 463ac35c9f6413ad48485a3953bb6124\r\nx-b3-spanid: a2fb4a1d1a96d312\r\nx-b3-parentspanid: 0020000000000001\r\n' +
  'x-b3-sampled: 0\r\ntraceparent: 00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-00\r\n';
const HEAD = Buffer.from('GET /r/1 HTTP/1.1\r\nhost: reviews:9080\r\nuser-agent: Go-http-client/1.1\r\nx-request-id: 0a1b2c3d-4e5f-6789-abcd-ef0123456789\r\n' +
  `${variant === 'trace0' ? CONTEXT : ''}\r\n`, 'latin1');
const ANSWER = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok', 'latin1');

/** The upstream: a 200 per request head (no body). */
async function upstream(): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((s) => {
    let tail = 0;
    s.on('data', (d: Buffer) => {
      // Count head ends (\r\n\r\n), across reads.
      for (let i = 0; i < d.length; i++) {
        const c = d[i];
        tail = c === (tail === 0 || tail === 2 ? 0x0d : 0x0a) ? tail + 1 : c === 0x0d ? 1 : 0;
        if (tail === 4) {
          tail = 0;
          s.write(ANSWER);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

function mesh(port: number): MeshConfig {
  const ops = noHeaderOps();
  const m: MeshConfig = {
    clusters: [{ name: 'c', host: 'svc', port: 80, subset: null, endpoints: [{ address: '127.0.0.1', port, labels: {}, weight: 1 }], lb: 'ROUND_ROBIN' }],
    virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'r', matches: [], destinations: [{ cluster: 'c', weight: 100, requestHeaders: ops, responseHeaders: ops }], requestHeaders: ops, responseHeaders: ops, timeoutMs: null }] }],
  };
  if (variant !== 'off') {
    m.tracing = { provider: { name: 'zipkin', kind: 'zipkin', service: '127.0.0.1', port: 9, path: '/api/v2/spans', maxTagLength: 256 }, samplingPercentage: 0, customTags: [], disableSpanReporting: false };
  }
  return m;
}

/** `n` requests one after another on one keep-alive connection. */
async function drive(port: number, n: number): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  let left = n;
  await new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      // One answer per read in practice; count "ok" bodies.
      for (let i = d.indexOf('\r\n\r\nok'); i >= 0; i = d.indexOf('\r\n\r\nok', i + 1)) left--;
      if (left <= 0) resolve();
      else socket.write(HEAD);
    });
    socket.write(HEAD);
  });
  socket.destroy();
}

interface SampleNode { callFrame: { url: string; functionName: string }; selfSize: number; children: SampleNode[] }
function sum(node: SampleNode, hostOnly: boolean): number {
  let n = !hostOnly || node.callFrame.url.includes('/host/') ? node.selfSize : 0;
  for (const c of node.children) n += sum(c, hostOnly);
  return n;
}

const up = await upstream();
const p = new ProxyServer({ host: '127.0.0.1', port: 0, log: () => {}, limits: { drainTimeoutMs: 200 } });
p.apply(mesh(up.port), 1);
await p.listen();
await drive(p.port, 5000);
// CPU per request (user + system, the client and upstream included: both are the same in every variant), before the profiler.
const cpu0 = process.cpuUsage();
await drive(p.port, requests);
const cpu = process.cpuUsage(cpu0);
const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', { samplingInterval: 64, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
await drive(p.port, requests);
const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SampleNode } };
session.disconnect();
console.log(JSON.stringify({ variant, requests, bytesPerRequest: Math.round(sum(profile.head, false) / requests), hostBytesPerRequest: Math.round(sum(profile.head, true) / requests), cpuUsPerRequest: +((cpu.user + cpu.system) / requests).toFixed(2) }));
await p.close();
up.close();
