// The protocol benchmark's Node load tools, run as a child process so the harness's own event
// loop never competes with the load: `grpc` (N channels × M concurrent unary calls, each channel
// its own HTTP/2 connection), `tcp-bytes` (C connections pumping 64 KiB chunks through an echo,
// W chunks in flight each: echoed bytes per second, chunk round trip), `tcp-conn` (C loops of
// connect, one 5-byte exchange, close: connections per second, the whole exchange's time) and
// `ws` (C WebSocket connections with W 64-byte messages in flight each against an echo:
// messages per second, round trip). Runs for `durationS` after `warmupS`, then prints one line
// `WASMESH_PROTO_LOAD <json>` (LoadFigures).
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { GRPC_ECHO_SERVICE } from './servers.js';

export type NodeLoadKind = 'grpc' | 'tcp-bytes' | 'tcp-conn' | 'ws';

export interface NodeLoad {
  kind: NodeLoadKind;
  host: string;
  port: number;
  /** Connections (channels for gRPC). */
  connections: number;
  /** Operations in flight per connection (calls per channel, chunks or messages per connection); tcp-conn: 1. */
  inFlight: number;
  durationS: number;
  warmupS: number;
  /** gRPC: the :authority sent (routes by host). */
  authority?: string;
  /** ws: the request path. */
  path?: string;
  /** Print `WASMESH_PROTO_MARK start` / `end` when the measuring window opens and closes (the
   * runner samples the proxy's CPU time on them: CPU per MiB, steadier than rates on a shared machine). */
  marks?: boolean;
}

export interface LoadFigures {
  /** Completed operations in the measured window (calls, chunks, connections, messages). */
  ops: number;
  /** Bytes echoed back in the window (tcp-bytes; else 0). */
  bytes: number;
  durationS: number;
  /** ops / s, or bytes / s for tcp-bytes. */
  rate: number;
  latencyMs: { p50: number; p99: number };
  errors: number;
  /** The first error seen, for the report. */
  firstError?: string;
}

/** Percentile `p` (0–100) of ascending `sorted`, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** What every kind shares: a measuring window after the warm-up, latencies recorded inside it. */
class Window {
  readonly start: number;
  readonly end: number;
  readonly latencies: number[] = [];
  ops = 0;
  bytes = 0;
  errors = 0;
  firstError: string | undefined;
  constructor(warmupS: number, private readonly durationS: number) {
    this.start = performance.now() + warmupS * 1000;
    this.end = this.start + durationS * 1000;
  }
  /** Prints the window's opening and closing marks on stdout (NodeLoad.marks). */
  mark(): void {
    setTimeout(() => console.log('WASMESH_PROTO_MARK start'), Math.max(0, this.start - performance.now())).unref();
    setTimeout(() => console.log('WASMESH_PROTO_MARK end'), Math.max(0, this.end - performance.now())).unref();
  }
  get running(): boolean {
    return performance.now() < this.end;
  }
  /** An operation started at `t0` finished now. */
  done(t0: number, bytes = 0): void {
    const now = performance.now();
    if (t0 >= this.start && now <= this.end) {
      this.ops++;
      this.bytes += bytes;
      this.latencies.push(now - t0);
    }
  }
  fail(e: unknown): void {
    if (performance.now() >= this.start && performance.now() <= this.end) this.errors++;
    this.firstError ??= e instanceof Error ? e.message : String(e);
  }
  figures(kind: NodeLoadKind): LoadFigures {
    const sorted = this.latencies.sort((a, b) => a - b);
    const durationS = this.durationS;
    return {
      ops: this.ops,
      bytes: this.bytes,
      durationS,
      rate: kind === 'tcp-bytes' ? this.bytes / durationS : this.ops / durationS,
      latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) },
      errors: this.errors,
      ...(this.firstError !== undefined ? { firstError: this.firstError } : {}),
    };
  }
}

const EchoClient = grpc.makeGenericClientConstructor(GRPC_ECHO_SERVICE, 'Echo');

async function grpcLoad(l: NodeLoad, w: Window): Promise<void> {
  const payload = Buffer.alloc(64, 'g');
  const clients = Array.from({ length: l.connections }, () => new EchoClient(`${l.host}:${l.port}`, grpc.credentials.createInsecure(), {
    ...(l.authority !== undefined ? { 'grpc.default_authority': l.authority } : {}),
    // Each channel its own connection (grpc-js shares subchannels between channels otherwise).
    'grpc.use_local_subchannel_pool': 1,
  }));
  const loop = async (c: InstanceType<typeof EchoClient>): Promise<void> => {
    while (w.running) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => c.Say(payload, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null) => {
        if (e) w.fail(e); else w.done(t0);
        resolve();
      }));
    }
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: l.inFlight }, () => loop(c))));
  for (const c of clients) c.close();
}

async function tcpBytesLoad(l: NodeLoad, w: Window): Promise<void> {
  const CHUNK = 64 * 1024;
  const chunk = Buffer.alloc(CHUNK, 't');
  const one = (): Promise<void> => new Promise((resolve) => {
    const s = connect({ host: l.host, port: l.port, noDelay: true });
    const sentAt: number[] = [];
    let received = 0;
    let sent = 0;
    const pump = (): void => {
      while (w.running && sentAt.length < l.inFlight) {
        sentAt.push(performance.now());
        sent++;
        s.write(chunk);
      }
      if (!w.running && sentAt.length === 0) s.end();
    };
    s.on('connect', pump);
    s.on('data', (d: Buffer) => {
      received += d.length;
      // Chunk k is back when (k + 1) × CHUNK bytes have come back.
      while (sentAt.length > 0 && received >= (sent - sentAt.length + 1) * CHUNK) w.done(sentAt.shift()!, CHUNK);
      pump();
    });
    s.on('error', (e) => w.fail(e));
    s.on('close', () => resolve());
  });
  await Promise.all(Array.from({ length: l.connections }, one));
}

async function tcpConnLoad(l: NodeLoad, w: Window): Promise<void> {
  const exchangeOnce = (): Promise<void> => new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect({ host: l.host, port: l.port, noDelay: true, allowHalfOpen: false });
    let got = 0;
    let ok = false;
    s.on('connect', () => s.write('ping\n'));
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 5 && !ok) {
        ok = true;
        s.end();
      }
    });
    s.on('error', (e) => w.fail(e));
    s.on('close', () => {
      if (ok) w.done(t0); else w.fail(new Error('closed before the echo'));
      resolve();
    });
  });
  const loop = async (): Promise<void> => {
    while (w.running) await exchangeOnce();
  };
  await Promise.all(Array.from({ length: l.connections }, loop));
}

async function wsLoad(l: NodeLoad, w: Window): Promise<void> {
  const message = Buffer.alloc(64, 'w');
  const one = (): Promise<void> => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${l.host}:${l.port}${l.path ?? '/ws'}`, { perMessageDeflate: false });
    const sentAt: number[] = [];
    const pump = (): void => {
      while (w.running && sentAt.length < l.inFlight) {
        sentAt.push(performance.now());
        ws.send(message, { binary: true });
      }
      if (!w.running && sentAt.length === 0) ws.close(1000);
    };
    ws.on('open', pump);
    ws.on('message', () => {
      w.done(sentAt.shift()!);
      pump();
    });
    ws.on('error', (e) => w.fail(e));
    ws.on('close', () => resolve());
  });
  await Promise.all(Array.from({ length: l.connections }, one));
}

export async function runNodeLoad(l: NodeLoad): Promise<LoadFigures> {
  const w = new Window(l.warmupS, l.durationS);
  if (l.marks === true) w.mark();
  const run = { grpc: grpcLoad, 'tcp-bytes': tcpBytesLoad, 'tcp-conn': tcpConnLoad, ws: wsLoad }[l.kind];
  await run(l, w);
  return w.figures(l.kind);
}

if (process.argv[1]?.endsWith('load-client.js')) {
  const load = JSON.parse(process.argv[2] ?? '{}') as NodeLoad;
  const figures = await runNodeLoad(load);
  console.log(`WASMESH_PROTO_LOAD ${JSON.stringify(figures)}`);
  process.exit(0);
}
