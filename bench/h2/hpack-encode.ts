// CPU per HPACK encode of what a proxied h2load request costs the core codec: the upstream
// request head (HTTP/1-style bytes → `encodeRequestHeadInPlace`, with an `x-request-id` new each
// time, as the router adds it) and the downstream response block (`encodeInPlace`), each on its
// own connection's encoder. process.cpuUsage over the loop, so a loaded machine moves it less
// than wall time; for an A/B, run each build's copy alternately:
//
//   node dist/bench/h2/hpack-encode.js [--n 200000] [--rounds 3]
import { randomUUID } from 'node:crypto';
import { Core } from '../../host/core/wasm.js';
import { HpackEncoder, type HeaderField } from '../../host/core/h2/hpack.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} wants a positive integer, got ${process.argv[i + 1] ?? 'nothing'}`);
  return n;
}

const n = option('--n', 200_000);
const rounds = option('--rounds', 3);
const core = new Core();
const upstream = new HpackEncoder(core);
const downstream = new HpackEncoder(core);
const heads = Array.from({ length: 1024 }, () => Buffer.from(
  'GET / HTTP/1.1\r\nHost: 127.0.0.1:41234\r\nuser-agent: h2load nghttp2/1.59.0\r\naccept: */*\r\n' +
  `x-forwarded-proto: http\r\nx-request-id: ${randomUUID()}\r\nx-envoy-expected-rq-timeout-ms: 15000\r\n\r\n`, 'latin1'));
const response: HeaderField[] = [
  [':status', '200'], ['content-type', 'text/plain'], ['content-length', '2'],
  ['date', 'Mon, 07 Dec 2026 15:55:00 GMT'], ['server', 'envoy'], ['x-envoy-upstream-service-time', '1'],
];

function run(k: number): number {
  let bytes = 0;
  for (let i = 0; i < k; i++) {
    const r = upstream.encodeRequestHeadInPlace(heads[i & 1023]!, 'http');
    if (typeof r === 'string') throw new Error(`request head refused: ${r}`);
    bytes += r + downstream.encodeInPlace(response);
  }
  return bytes;
}

run(20_000);
for (let r = 1; r <= rounds; r++) {
  const c0 = process.cpuUsage();
  const bytes = run(n);
  const c = process.cpuUsage(c0);
  console.log(`round ${r}: ${((c.user + c.system) / n).toFixed(3)} µs CPU per request + response encode (${(bytes / n).toFixed(1)} B of blocks)`);
}
