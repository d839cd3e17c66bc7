// `node dist/bench/protocols/h2-frame-tap.js`: what each gRPC load puts on the wire through each
// proxy, frame by frame (issue 15: grpc-js load at 0.97x Envoy while h2load's gRPC calls are at
// 1.15x). A grpc-js echo server, a TCP tap in front of it (the proxy's upstream side) and one in
// front of the proxy (the client side); the load is grpc-js (`--load grpc`: 4 channels × 16
// concurrent unary calls, as bench:protocols' grpc mode) or h2load (`--load h2load`: -c 4 -m 16,
// the grpc-h2load mode), a fixed number of calls. Each tap decodes the HTTP/2 frames of both
// directions (RFC 9113 §4.1) and prints, per call: frames by type, bytes, HEADERS block bytes,
// the socket reads the tap saw (an upper bound on the segments the receiver had to read), and
// the SETTINGS / WINDOW_UPDATE / PING / RST_STREAM counts in the whole run.
//
// Options: --proxies wasmesh,envoy (default both)  --load grpc|h2load (default grpc)  --calls <n> (20000)
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { findH2load } from './h2load.js';
import { protocolMeshYaml } from './mesh-yaml.js';
import { startProxy, type ProxyName } from './proxies.js';
import { GRPC_ECHO_PATH, GRPC_ECHO_SERVICE } from './servers.js';

const FRAME_NAMES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'] as const;

/** One direction's frames over every connection: counts and bytes by type, stream-0 WINDOW_UPDATEs apart, socket reads. */
export class FrameCounter {
  readonly frames = new Map<string, number>();
  readonly bytes = new Map<string, number>();
  reads = 0;
  total = 0;
  readonly #clientSide: boolean;

  constructor(clientSide: boolean) {
    this.#clientSide = clientSide;
  }

  /** One connection's parser: counts the frames of each chunk it is given (frames may span chunks). */
  connection(): (chunk: Buffer) => void {
    const state = { pending: Buffer.alloc(0), preface: this.#clientSide ? 24 : 0 };
    return (chunk) => this.#push(state, chunk);
  }

  #push(st: { pending: Buffer; preface: number }, chunk: Buffer): void {
    this.reads++;
    this.total += chunk.length;
    let b = st.pending.length === 0 ? chunk : Buffer.concat([st.pending, chunk]);
    if (st.preface > 0) {
      const skip = Math.min(st.preface, b.length);
      st.preface -= skip;
      b = b.subarray(skip);
    }
    let at = 0;
    while (b.length - at >= 9) {
      const len = b.readUIntBE(at, 3);
      if (b.length - at < 9 + len) break;
      const type = b[at + 3]!;
      const flags = b[at + 4]!;
      const stream = b.readUInt32BE(at + 5) & 0x7fffffff;
      let name: string = FRAME_NAMES[type] ?? `type${type}`;
      if (type === 8) name += stream === 0 ? '(conn)' : '(stream)';
      if (type === 0 && (flags & 1) !== 0) name += '+ES';
      if (type === 1) name += (flags & 1) !== 0 ? '+ES' : '';
      if (type === 4 && (flags & 1) !== 0) name += '(ACK)';
      if (type === 6 && (flags & 1) !== 0) name += '(ACK)';
      this.frames.set(name, (this.frames.get(name) ?? 0) + 1);
      this.bytes.set(name, (this.bytes.get(name) ?? 0) + len);
      at += 9 + len;
    }
    st.pending = Buffer.from(b.subarray(at));
  }

  /** `name count/call (payload bytes/call)` lines. */
  report(calls: number): string {
    const rows = [...this.frames.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    const per = (n: number): string => (n / calls).toFixed(3);
    return [`  bytes/call ${per(this.total)}  reads/call ${per(this.reads)}`,
      ...rows.map(([n, c]) => `  ${n.padEnd(22)} ${per(c).padStart(8)}/call  ${per(this.bytes.get(n)!).padStart(8)} B/call  (${c})`)].join('\n');
  }
}

interface Tap { port: number; up: FrameCounter; down: FrameCounter; server: Server; connections: number; close(): Promise<void> }

/** A TCP relay to `port` that counts what goes each way (`up`: towards `port`). */
async function tap(port: number): Promise<Tap> {
  const up = new FrameCounter(true);
  const down = new FrameCounter(false);
  const sockets: Socket[] = [];
  const t: Tap = {
    port: 0, up, down, connections: 0,
    server: createServer({ noDelay: true }, (c) => {
      t.connections++;
      const u = createConnection({ port, host: '127.0.0.1', noDelay: true });
      sockets.push(c, u);
      const [countUp, countDown] = [up.connection(), down.connection()];
      c.on('data', (d) => { countUp(d); u.write(d); });
      u.on('data', (d) => { countDown(d); c.write(d); });
      c.on('error', () => u.destroy());
      u.on('error', () => c.destroy());
      c.on('close', () => u.destroy());
      u.on('close', () => c.destroy());
    }),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => t.server.close(() => r()));
    },
  };
  await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', r));
  t.port = (t.server.address() as { port: number }).port;
  return t;
}

const EchoClient = grpc.makeGenericClientConstructor(GRPC_ECHO_SERVICE, 'Echo');

async function grpcJsCalls(port: number, calls: number): Promise<number> {
  const payload = Buffer.alloc(64, 'g');
  const clients = Array.from({ length: 4 }, () => new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': 'grpc-echo.bench.internal', 'grpc.use_local_subchannel_pool': 1,
  }));
  let left = calls;
  let failed = 0;
  const loop = async (c: InstanceType<typeof EchoClient>): Promise<void> => {
    while (left-- > 0) {
      await new Promise<void>((resolve) => c.Say(payload, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null) => { if (e) failed++; resolve(); }));
    }
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, () => loop(c))));
  for (const c of clients) c.close();
  return failed;
}

async function h2loadCalls(port: number, calls: number): Promise<number> {
  const bin = findH2load();
  if (bin === null) throw new Error('h2load not found (H2LOAD_BIN, bench/.bin or PATH)');
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-tap-'));
  try {
    const body = Buffer.alloc(69, 'g');
    body[0] = 0;
    body.writeUInt32BE(64, 1);
    writeFileSync(join(dir, 'body'), body);
    const out = await new Promise<string>((resolve, reject) => execFile(bin, ['-c', '4', '-m', '16', '-t', '1', '-n', String(calls), '-d', join(dir, 'body'),
      '-H', ':authority: grpc-echo.bench.internal', '-H', 'content-type: application/grpc', '-H', 'te: trailers', `http://127.0.0.1:${port}${GRPC_ECHO_PATH}`],
    (err, stdout) => (err ? reject(err) : resolve(stdout))));
    const m = /(\d+) failed, (\d+) errored/.exec(out);
    return m === null ? calls : Number(m[1]) + Number(m[2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const arg = (name: string, def: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1]! : def;
  };
  const proxies = arg('proxies', 'wasmesh,envoy').split(',') as ProxyName[];
  const load = arg('load', 'grpc');
  const calls = Number(arg('calls', '20000'));
  const server = new grpc.Server();
  server.addService(GRPC_ECHO_SERVICE, { Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
  const grpcPort = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
  for (const name of proxies) {
    const upTap = await tap(grpcPort);
    const meshDir = mkdtempSync(join(tmpdir(), 'wasmesh-tap-mesh-'));
    for (const [f, y] of Object.entries(protocolMeshYaml({ h2: 1, grpc: upTap.port, ws: 1, tcp: 1 }))) writeFileSync(join(meshDir, f), y);
    const proxy = await startProxy(name, meshDir);
    const downTap = await tap(proxy.httpPort);
    try {
      const failed = load === 'h2load' ? await h2loadCalls(downTap.port, calls) : await grpcJsCalls(downTap.port, calls);
      await new Promise((r) => setTimeout(r, 300));
      console.log(`== ${name}, load ${load}, ${calls} calls (${failed} failed); connections client→proxy ${downTap.connections}, proxy→upstream ${upTap.connections}`);
      console.log(`client → proxy\n${downTap.up.report(calls)}`);
      console.log(`proxy → client\n${downTap.down.report(calls)}`);
      console.log(`proxy → upstream\n${upTap.up.report(calls)}`);
      console.log(`upstream → proxy\n${upTap.down.report(calls)}`);
    } finally {
      await downTap.close();
      await proxy.stop();
      await upTap.close();
      rmSync(meshDir, { recursive: true, force: true });
    }
  }
  server.forceShutdown();
}

if (process.argv[1]?.endsWith('h2-frame-tap.js')) {
  main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
}
