// The protocol benchmark's Node load tools, run as a child process so the harness's own event
// loop never competes with the load: `grpc` (N channels × M concurrent unary calls, each channel
// its own HTTP/2 connection), `tcp-bytes` (C connections pumping 64 KiB chunks through an echo,
// W chunks in flight each: echoed bytes per second, chunk round trip), `tcp-conn` (C loops of
// connect, one 5-byte exchange, close: connections per second, the whole exchange's time) and
// `ws` (C WebSocket connections with W 64-byte messages in flight each against an echo:
// messages per second, round trip). Runs for `durationS` after `warmupS`, then prints one line
// `WASMESH_PROTO_LOAD <json>` (LoadFigures, with the latency histogram the runner merges:
// load-split.ts). With `handshake` (the runner's several load processes) it first prints
// `WASMESH_PROTO_READY` once loaded and waits for `GO <Date.now() ms>` on stdin: the warm-up
// counts from that instant in every process, so their windows are one window however long each
// took to start. With `threads` > 1 the process runs its load in that many worker threads, each
// with its share of the connections (ready before the process says so), and prints their merged
// figures.
import { connect } from 'node:net';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { LatencyHistogram, type HistogramJson } from './latency-histogram.js';
import { mergeFigures, splitLoad } from './load-split.js';
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
  /** When the measuring window opens (Date.now() ms); default: `warmupS` after the load starts. */
  startAtEpochMs?: number;
  /** Worker threads in this process, each with its share of the connections (default 1: none). */
  threads?: number;
  /** Print WASMESH_PROTO_READY and start on `GO <epoch ms>` from stdin (the runner's load processes). */
  handshake?: boolean;
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
  /** Every latency of the window, bucketed: what a merge of several loads' figures reads p50 / p99 from. */
  histogram?: HistogramJson;
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
  readonly latencies = new LatencyHistogram();
  ops = 0;
  bytes = 0;
  errors = 0;
  firstError: string | undefined;
  constructor(warmupS: number, private readonly durationS: number, startAtEpochMs?: number) {
    this.start = performance.now() + (startAtEpochMs !== undefined ? startAtEpochMs - Date.now() : warmupS * 1000);
    this.end = this.start + durationS * 1000;
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
      this.latencies.record(now - t0);
    }
  }
  fail(e: unknown): void {
    if (performance.now() >= this.start && performance.now() <= this.end) this.errors++;
    this.firstError ??= e instanceof Error ? e.message : String(e);
  }
  figures(kind: NodeLoadKind): LoadFigures {
    const durationS = this.durationS;
    return {
      ops: this.ops,
      bytes: this.bytes,
      durationS,
      rate: kind === 'tcp-bytes' ? this.bytes / durationS : this.ops / durationS,
      latencyMs: { p50: this.latencies.percentile(50), p99: this.latencies.percentile(99) },
      errors: this.errors,
      ...(this.firstError !== undefined ? { firstError: this.firstError } : {}),
      histogram: this.latencies.toJSON(),
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

/**
 * Runs `l`. `go`, when given, is awaited once everything is loaded (worker threads included) and
 * returns the instant (Date.now() ms) the warm-up starts; without it the warm-up starts then.
 */
export async function runNodeLoad(l: NodeLoad, go?: () => Promise<number>): Promise<LoadFigures> {
  if ((l.threads ?? 1) > 1) return runInThreads(l, go);
  const startAtEpochMs = go !== undefined ? (await go()) + l.warmupS * 1000 : l.startAtEpochMs;
  const w = new Window(l.warmupS, l.durationS, startAtEpochMs);
  const run = { grpc: grpcLoad, 'tcp-bytes': tcpBytesLoad, 'tcp-conn': tcpConnLoad, ws: wsLoad }[l.kind];
  await run(l, w);
  return w.figures(l.kind);
}

/** What a load thread posts: `ready` once loaded, then its figures. */
type ThreadMessage = { ready: true } | { figures: LoadFigures };

/**
 * `l` split over `l.threads` worker threads of this process (each runs this file): once every
 * thread has loaded, they get one window start; their figures are merged.
 */
async function runInThreads(l: NodeLoad, go?: () => Promise<number>): Promise<LoadFigures> {
  const parts = splitLoad({ ...l, threads: 1, handshake: false }, l.threads!);
  let readyCount = 0;
  let allReady: () => void = () => {};
  const ready = new Promise<void>((r) => (allReady = r));
  const workers: Worker[] = [];
  const figures = Promise.all(parts.map((part, i) => new Promise<LoadFigures>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: part });
    workers.push(worker);
    worker.on('message', (m: ThreadMessage) => {
      if ('figures' in m) resolve(m.figures);
      else if (++readyCount === parts.length) allReady();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`${l.kind} load thread ${i + 1} of ${parts.length} exited (${code}) without figures`)));
  })));
  // A thread that fails before it is ready rejects `figures`: do not wait for `ready` then.
  await Promise.race([ready, figures]);
  const startAtEpochMs = (go !== undefined ? await go() : Date.now()) + l.warmupS * 1000;
  for (const w of workers) w.postMessage({ startAtEpochMs });
  return mergeFigures(l.kind, await figures, `${l.kind} load threads`);
}

/** The runner's handshake: READY on stdout, then the instant from its `GO <ms>` line on stdin. */
function stdinGo(): Promise<number> {
  console.log('WASMESH_PROTO_READY');
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (b: Buffer): void => {
      text += b.toString();
      const m = /^GO (\d+)\n/.exec(text);
      if (m !== null) {
        process.stdin.off('data', onData);
        process.stdin.pause();
        resolve(Number(m[1]));
      } else if (text.includes('\n')) {
        reject(new Error(`load process: expected "GO <Date.now() ms>" on stdin, got ${JSON.stringify(text.slice(0, 80))}`));
      }
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => reject(new Error('load process: stdin closed before GO')));
  });
}

if (!isMainThread && (workerData as NodeLoad | undefined)?.kind !== undefined) {
  const part = workerData as NodeLoad;
  const start = new Promise<number>((resolve) => parentPort!.once('message', (m: { startAtEpochMs: number }) => resolve(m.startAtEpochMs)));
  parentPort!.postMessage({ ready: true } satisfies ThreadMessage);
  const startAtEpochMs = await start;
  parentPort!.postMessage({ figures: await runNodeLoad({ ...part, startAtEpochMs }) } satisfies ThreadMessage);
} else if (process.argv[1]?.endsWith('load-client.js')) {
  const load = JSON.parse(process.argv[2] ?? '{}') as NodeLoad;
  const figures = await runNodeLoad(load, load.handshake === true ? stdinGo : undefined);
  console.log(`WASMESH_PROTO_LOAD ${JSON.stringify(figures)}`);
  process.exit(0);
}
