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
// took to start. Loaded means connected: the grpc, tcp-bytes and ws connections are open before
// the load says ready (or starts its warm-up, without the handshake), so a slow connect on a
// loaded machine cannot use up the window (tcp-conn's load is the connecting). With `threads` > 1
// the process runs its load in that many worker threads, each with its share of the
// connections (ready before the process says so), and prints their merged figures.
import { connect, type Socket } from 'node:net';
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
  /** An error; counted when inside the window or when `always` (a connection that never opened). */
  fail(e: unknown, always = false): void {
    if (always || (performance.now() >= this.start && performance.now() <= this.end)) this.errors++;
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

/**
 * A load kind, in two steps: open its connections (each one's error, or null once open), then
 * run the load on them in window `w`. Split so that the window is set after the connecting.
 */
type OpenedLoad = (w: Window) => Promise<void>;

/** Connections that never opened count as errors of the run, the first one's reason kept. */
function failUnopened(w: Window, opened: ReadonlyArray<Error | null>): void {
  for (const e of opened) if (e !== null) w.fail(e, true);
}

const EchoClient = grpc.makeGenericClientConstructor(GRPC_ECHO_SERVICE, 'Echo');
type EchoClient = InstanceType<typeof EchoClient>;

async function grpcLoad(l: NodeLoad): Promise<OpenedLoad> {
  const payload = Buffer.alloc(64, 'g');
  const clients = Array.from({ length: l.connections }, () => new EchoClient(`${l.host}:${l.port}`, grpc.credentials.createInsecure(), {
    ...(l.authority !== undefined ? { 'grpc.default_authority': l.authority } : {}),
    // Each channel its own connection (grpc-js shares subchannels between channels otherwise).
    'grpc.use_local_subchannel_pool': 1,
  }));
  const opened = await Promise.all(clients.map((c) => new Promise<Error | null>((resolve) => c.waitForReady(Date.now() + OPEN_TIMEOUT_MS, (e) => resolve(e ?? null)))));
  // One of a channel's in-flight slots: a unary call at a time while the window runs.
  const loop = async (w: Window, c: EchoClient): Promise<void> => {
    while (w.running) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => c.Say(payload, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null) => {
        if (e) w.fail(e); else w.done(t0);
        resolve();
      }));
    }
  };
  return async (w) => {
    failUnopened(w, opened);
    await Promise.all(clients.flatMap((c, i) => (opened[i] === null ? Array.from({ length: l.inFlight }, () => loop(w, c)) : [])));
    for (const c of clients) c.close();
  };
}

/** How long a connection may take to open before it counts as an error (gRPC's waitForReady deadline). */
const OPEN_TIMEOUT_MS = 30_000;

async function tcpBytesLoad(l: NodeLoad): Promise<OpenedLoad> {
  const CHUNK = 64 * 1024;
  const chunk = Buffer.alloc(CHUNK, 't');
  const sockets = await Promise.all(Array.from({ length: l.connections }, () => new Promise<{ s: Socket; error: Error | null }>((resolve) => {
    const s = connect({ host: l.host, port: l.port, noDelay: true });
    s.once('connect', () => resolve({ s, error: null }));
    s.once('error', (e) => resolve({ s, error: e }));
  })));
  const one = (w: Window, s: Socket): Promise<void> => new Promise((resolve) => {
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
    s.on('data', (d: Buffer) => {
      received += d.length;
      // Chunk k is back when (k + 1) × CHUNK bytes have come back.
      while (sentAt.length > 0 && received >= (sent - sentAt.length + 1) * CHUNK) w.done(sentAt.shift()!, CHUNK);
      pump();
    });
    s.on('error', (e) => w.fail(e));
    s.on('close', () => resolve());
    pump();
  });
  return async (w) => {
    failUnopened(w, sockets.map((c) => c.error));
    await Promise.all(sockets.filter((c) => c.error === null).map((c) => one(w, c.s)));
  };
}

/** tcp-conn: nothing to open beforehand, connecting is the load. */
async function tcpConnLoad(l: NodeLoad): Promise<OpenedLoad> {
  const exchangeOnce = (w: Window): Promise<void> => new Promise((resolve) => {
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
  const loop = async (w: Window): Promise<void> => {
    while (w.running) await exchangeOnce(w);
  };
  return async (w) => {
    await Promise.all(Array.from({ length: l.connections }, () => loop(w)));
  };
}

async function wsLoad(l: NodeLoad): Promise<OpenedLoad> {
  const message = Buffer.alloc(64, 'w');
  const sockets = await Promise.all(Array.from({ length: l.connections }, () => new Promise<{ ws: WebSocket; error: Error | null }>((resolve) => {
    const ws = new WebSocket(`ws://${l.host}:${l.port}${l.path ?? '/ws'}`, { perMessageDeflate: false, handshakeTimeout: OPEN_TIMEOUT_MS });
    ws.once('open', () => resolve({ ws, error: null }));
    ws.once('error', (e) => resolve({ ws, error: e }));
  })));
  const one = (w: Window, ws: WebSocket): Promise<void> => new Promise((resolve) => {
    const sentAt: number[] = [];
    const pump = (): void => {
      while (w.running && sentAt.length < l.inFlight) {
        sentAt.push(performance.now());
        ws.send(message, { binary: true });
      }
      if (!w.running && sentAt.length === 0) ws.close(1000);
    };
    ws.on('message', () => {
      w.done(sentAt.shift()!);
      pump();
    });
    ws.on('error', (e) => w.fail(e));
    ws.on('close', () => resolve());
    pump();
  });
  return async (w) => {
    failUnopened(w, sockets.map((c) => c.error));
    await Promise.all(sockets.filter((c) => c.error === null).map((c) => one(w, c.ws)));
  };
}

const LOADS: Readonly<Record<NodeLoadKind, (l: NodeLoad) => Promise<OpenedLoad>>> = { grpc: grpcLoad, 'tcp-bytes': tcpBytesLoad, 'tcp-conn': tcpConnLoad, ws: wsLoad };

/**
 * Runs `l`: opens its connections, then awaits `go`, when given (once everything is loaded,
 * worker threads included), which returns the instant (Date.now() ms) the warm-up starts;
 * without it the warm-up starts once the connections are open.
 */
export async function runNodeLoad(l: NodeLoad, go?: () => Promise<number>): Promise<LoadFigures> {
  if ((l.threads ?? 1) > 1) return runInThreads(l, go);
  const run = await LOADS[l.kind](l);
  const w = new Window(l.warmupS, l.durationS, go !== undefined ? (await go()) + l.warmupS * 1000 : undefined);
  await run(w);
  return w.figures(l.kind);
}

/** What a load thread posts: `ready` once its connections are open, then its figures. */
type ThreadMessage = { ready: true } | { figures: LoadFigures };

/**
 * `l` split over `l.threads` worker threads of this process (each runs this file): once every
 * thread has opened its connections, they get one go instant (so one window); their figures
 * are merged.
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
  const goAtEpochMs = go !== undefined ? await go() : Date.now();
  for (const w of workers) w.postMessage({ goAtEpochMs });
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
  // Ready once the connections are open (runNodeLoad calls this then); the warm-up counts from the instant the process sends.
  const go = (): Promise<number> => new Promise<number>((resolve) => {
    parentPort!.once('message', (m: { goAtEpochMs: number }) => resolve(m.goAtEpochMs));
    parentPort!.postMessage({ ready: true } satisfies ThreadMessage);
  });
  parentPort!.postMessage({ figures: await runNodeLoad(part, go) } satisfies ThreadMessage);
} else if (process.argv[1]?.endsWith('load-client.js')) {
  const load = JSON.parse(process.argv[2] ?? '{}') as NodeLoad;
  const figures = await runNodeLoad(load, load.handshake === true ? stdinGo : undefined);
  console.log(`WASMESH_PROTO_LOAD ${JSON.stringify(figures)}`);
  process.exit(0);
}
