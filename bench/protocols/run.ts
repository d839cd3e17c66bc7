// `npm run bench:protocols`: wasmesh against stock Envoy, side by side from the same Istio YAML,
// for the protocols past HTTP/1.1 (issue 15): HTTP/2 (h2load, h2c, to a node:http2 upstream),
// gRPC unary (grpc-js channels × concurrent calls, to a grpc-js server; and `grpc-h2load`, the
// same calls from h2load, so that a single-threaded JS client does not cap the rate), TCP bytes per second
// (bulk echo through a Gateway TCP port), TCP connections per second (connect, one exchange,
// close) and WebSocket messages per second (ws echo). Both proxies run at once (one worker
// each); every round measures every mode on both, in alternating order, so drift on a shared
// machine hits both alike (as bench:e2e does). Prints a Markdown table of each round and the
// medians with wasmesh/Envoy ratios, and writes the JSON under bench/results/. The mesh mTLS
// modes (only with --modes: mtls-tcp-bytes, mtls-http) put a pair of each plane in the path
// instead, Istio's mTLS between them (mtls-pairs.ts); their CPU is the pair's two processes.
//
// Options: --modes h2,grpc,grpc-h2load,tcp-bytes,tcp-conn,ws (default; also mtls-tcp-bytes,mtls-http)
//          --duration <s> (10)   --warmup <s> (2)
//          --rounds <n> (2)   --json <file>   --cpu-prof <dir> (wasmesh under node --cpu-prof)
//          --load-procs <n> (2)   --load-threads <n> (1): the Node load modes (grpc, tcp-bytes,
//          tcp-conn, ws) run in n load processes of m worker threads each, the connections dealt
//          out among them (the load's shape is the same for every n) and the figures merged
//          (load-split.ts: rates summed, latency histograms merged for p50 / p99)
//          --wasmesh-node-flag <flag> (repeatable: a Node/V8 flag for the wasmesh process)
//          --syscalls (each proxy's syscalls over the window, per unit, from perf stat: total,
//          reads, writes, polls; syscall-count.ts; for h2load modes the window of the CPU sample)
//          --gc (wasmesh under scripts/gc-counter.cjs: its scavenges and GC pause per unit over
//          the window and its longest pause; every proxy's resident set at the window's end and
//          its peak so far, VmRSS and VmHWM; gc-window.ts)
//          --proxies wasmesh,envoy (default both; `--proxies wasmesh` runs wasmesh alone, for A/B
//          runs of a wasmesh change; `wasmesh-core` is wasmesh with the core codec's downstream
//          HTTP/2 listener, WASMESH_HTTP2_CODEC=core: `--proxies wasmesh,wasmesh-core,envoy`;
//          `wasmesh-core-up` adds the core codec's upstream HTTP/2 connections
//          (WASMESH_HTTP2_UPSTREAM_CODEC=core)
//          measures both HTTP/2 listeners against Envoy in the same rounds); `direct` adds the
//          load sent straight to each mode's upstream, no proxy: the ceiling of the load tool and
//          the upstream (a row in the measurement table, no ratio, no proxy CPU)
// Each measurement also samples the proxy's CPU time (/proc/<pid>/stat, user + system) over
// the measuring window (exactly for the Node-driven modes; for h2load from a timer at the end of
// its warm-up to its exit): CPU ms per MiB echoed (tcp-bytes) or per 1000
// operations, steadier than the rate on a shared machine (the rate falls when a neighbour
// takes the core; the CPU spent per byte hardly moves). The load tool's own CPU (every load
// process, or h2load) is sampled over the same window and reported as the cores it kept busy
// (`load cores`): a tool near a whole core per process is what saturated, not the proxy; the
// upstream server's likewise (`upstream cores`: it is one Node process).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killChildren, stopChild } from '../e2e/processes.js';
import { repoRoot } from '../e2e/repo-root.js';
import { startSyscallCount, syscallsPer, type SyscallCounts } from './syscall-count.js';
import { statusMiB } from '../e2e/proc-stats.js';
import { GC_COUNTER, gcBetween, gcLogOf, readGcLog, type GcEvent } from './gc-window.js';
import { findH2load, runH2load, type H2Load } from './h2load.js';
import type { LoadFigures, NodeLoad, NodeLoadKind } from './load-client.js';
import { mergeFigures, splitLoad } from './load-split.js';
import { protocolMeshYaml, type UpstreamPorts } from './mesh-yaml.js';
import { envoyMissing, KNOWN_PROXIES, PROXIES, startProxy, type ProxyName, type RunningProxy } from './proxies.js';
import { GRPC_ECHO_PATH, GRPC_MESSAGE, type ServerKind } from './servers.js';
import { isMtlsMode, MTLS_MODES, MTLS_PLANES, MtlsPairs, type MtlsMode } from './mtls-pairs.js';

export type Mode = 'h2' | 'grpc' | 'grpc-h2load' | 'tcp-bytes' | 'tcp-conn' | 'ws' | MtlsMode;
/** What runs without --modes: the gateway modes (plaintext through one proxy). */
export const MODES: readonly Mode[] = ['h2', 'grpc', 'grpc-h2load', 'tcp-bytes', 'tcp-conn', 'ws'];
/** What --modes accepts: also the mTLS pair modes (mtls-pairs.ts). */
export const ALL_MODES: readonly Mode[] = [...MODES, ...MTLS_MODES];
const UNIT: Record<Mode, string> = { h2: 'req/s', grpc: 'calls/s', 'grpc-h2load': 'calls/s', 'tcp-bytes': 'MiB/s', 'tcp-conn': 'conn/s', ws: 'msg/s', 'mtls-tcp-bytes': 'MiB/s', 'mtls-http': 'req/s' };
/** The modes whose unit is bytes (rate in MiB/s, CPU and syscalls per MiB). */
const BYTES_MODES: ReadonlySet<Mode> = new Set(['tcp-bytes', 'mtls-tcp-bytes']);
const SHAPE: Record<Mode, string> = {
  h2: 'h2load -c 4 -m 16 -t 1 (h2c prior knowledge) → node:http2 upstream over an HTTP2 port',
  grpc: 'grpc-js: 4 channels × 16 concurrent unary calls (64 B) → grpc-js server over a GRPC port',
  'grpc-h2load': 'h2load -c 4 -m 16 -t 1: unary gRPC POSTs (one framed 64 B message, te: trailers) → grpc-js server over a GRPC port',
  'tcp-bytes': '4 connections × 4 × 64 KiB chunks in flight through Gateway TCP port → TCP echo (echoed bytes; p99 of a chunk round trip)',
  'tcp-conn': '16 loops of connect, 5-byte exchange, close through Gateway TCP port → TCP echo (p99 of the whole exchange)',
  ws: '8 WebSocket connections × 8 messages (64 B) in flight → ws echo (p99 of a message round trip)',
  'mtls-tcp-bytes': 'as tcp-bytes, through a pair: Gateway TCP port of proxy A → Istio mTLS (auto mTLS, ISTIO_MUTUAL, ALPN istio-peer-exchange/istio) → proxy B (STRICT) → TCP echo',
  'mtls-http': 'h2load --h1 -c 16 -m 1 (HTTP/1.1, keep-alive) through a pair: proxy A\'s Gateway HTTP port → Istio mTLS (ISTIO_MUTUAL, ALPN istio-http/1.1) → proxy B (STRICT) → node:http upstream (200 "ok")',
};
const CPU_UNIT: Record<Mode, string> = { h2: 'per 1000 req', grpc: 'per 1000 calls', 'grpc-h2load': 'per 1000 calls', 'tcp-bytes': 'per MiB', 'tcp-conn': 'per 1000 conn', ws: 'per 1000 msg', 'mtls-tcp-bytes': 'per MiB', 'mtls-http': 'per 1000 req' };
const SERVER_OF: Record<Mode, ServerKind> = { h2: 'h2', grpc: 'grpc', 'grpc-h2load': 'grpc', 'tcp-bytes': 'tcp', 'tcp-conn': 'tcp', ws: 'ws', 'mtls-tcp-bytes': 'tcp', 'mtls-http': 'http' };

export interface ProtocolsOptions {
  modes: Mode[];
  durationS: number;
  warmupS: number;
  rounds: number;
  json?: string;
  cpuProfDir?: string;
  /** Extra Node flags for the wasmesh process (after its own: they win), e.g. a V8 setting under test. */
  wasmeshNodeFlags: string[];
  /** Which proxies to run (default both); one alone gives no ratio, only its own figures. */
  proxies: ProxyName[];
  /** Load processes for the Node load modes (default 2: one per core of the machine this runs on). */
  loadProcs: number;
  /** Worker threads per load process (default 1: the process's main thread only). */
  loadThreads: number;
  /** Count each proxy's syscalls over the window (perf stat; the Node load modes). */
  syscalls?: boolean;
  /** wasmesh's collections over each window (scripts/gc-counter.cjs) and every proxy's RSS. */
  gc?: boolean;
}

/** Load processes by default: two (a 2-core machine; measured against one and against threads in BENCHMARKS.md). */
export const DEFAULT_LOAD_PROCS = 2;


export class OptionsError extends Error {}

export function parseOptions(argv: readonly string[]): ProtocolsOptions {
  const o: ProtocolsOptions = { modes: [...MODES], durationS: 10, warmupS: 2, rounds: 2, wasmeshNodeFlags: [], proxies: [...PROXIES], loadProcs: DEFAULT_LOAD_PROCS, loadThreads: 1 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--syscalls' || flag === '--gc') {
      o[flag === '--gc' ? 'gc' : 'syscalls'] = true;
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined) throw new OptionsError(`${flag}: needs a value`);
    i++;
    const num = (min: number): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < min) throw new OptionsError(`${flag}: expected a number ≥ ${min}, got "${value}"`);
      return n;
    };
    const integer = (min: number, max: number): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min || n > max) throw new OptionsError(`${flag}: expected a whole number from ${min} to ${max}, got "${value}"`);
      return n;
    };
    switch (flag) {
      case '--modes': {
        const modes = value.split(',').map((m) => m.trim()).filter((m) => m !== '');
        const bad = modes.find((m) => !ALL_MODES.includes(m as Mode));
        if (bad !== undefined || modes.length === 0) throw new OptionsError(`--modes: unknown mode "${bad ?? ''}" (modes: ${ALL_MODES.join(', ')})`);
        o.modes = modes as Mode[];
        break;
      }
      case '--duration': o.durationS = num(0.5); break;
      case '--warmup': o.warmupS = num(0); break;
      case '--rounds': o.rounds = Math.floor(num(1)); break;
      case '--json': o.json = value; break;
      case '--cpu-prof': o.cpuProfDir = value; break;
      case '--wasmesh-node-flag': o.wasmeshNodeFlags.push(value); break;
      case '--load-procs': o.loadProcs = integer(1, 64); break;
      case '--load-threads': o.loadThreads = integer(1, 64); break;
      case '--proxies': {
        const names = value.split(',').map((m) => m.trim()).filter((m) => m !== '');
        const bad = names.find((m) => !KNOWN_PROXIES.includes(m as ProxyName));
        if (bad !== undefined || names.length === 0) throw new OptionsError(`--proxies: unknown proxy "${bad ?? ''}" (proxies: ${KNOWN_PROXIES.join(', ')})`);
        o.proxies = [...new Set(names)] as ProxyName[];
        break;
      }
      default: throw new OptionsError(`unknown option ${flag} (options: --modes, --duration, --warmup, --rounds, --json, --cpu-prof, --wasmesh-node-flag, --proxies, --load-procs, --load-threads, --syscalls, --gc)`);
    }
  }
  return o;
}

export interface Measurement {
  mode: Mode;
  proxy: ProxyName;
  round: number;
  figures: LoadFigures;
  /** The proxy's CPU seconds (user + system) over the measuring window; null when not sampled (h2load, no /proc). */
  proxyCpuS: number | null;
  /** CPU ms per MiB echoed (tcp-bytes) or per 1000 operations (other modes); null when not sampled. */
  cpuMsPerUnit: number | null;
  /** The load tool's CPU seconds over the window (all its processes; h2load's up to just before its end); null when not sampled. */
  loadCpuS: number | null;
  /** loadCpuS ÷ the window: the cores the load tool kept busy (1.0 per process is a saturated tool). */
  loadCores: number | null;
  /** The same for the upstream server (one Node process: 1.0 is a saturated upstream); null when not sampled. */
  upstreamCores: number | null;
  /**
   * The load tool's and the upstream's CPU ms per unit (as cpuMsPerUnit): what one proxy costs
   * the processes it shares the machine with (a client that reads a proxy's responses in more
   * pieces spends more per call); null when not sampled.
   */
  loadCpuMsPerUnit?: number | null;
  upstreamCpuMsPerUnit?: number | null;
  /** With --syscalls: the proxy's syscalls in the window per MiB (tcp-bytes) or per 1000 operations; null when not counted. */
  syscallsPerUnit?: SyscallCounts | null;
  /** With --syscalls, the Node load modes: the load processes' syscalls likewise (how many reads the proxy's writes cost the client). */
  loadSyscallsPerUnit?: SyscallCounts | null;
  /**
   * With --gc, wasmesh: its collections in the window, per MiB (tcp-bytes) or per 1000 operations,
   * and the longest single pause (ms); null when the log could not be read.
   */
  gc?: { scavengesPerUnit: number; markSweepsPerUnit: number; pauseMsPerUnit: number; maxPauseMs: number } | null;
  /** With --gc: the proxy's resident set at the window's end (VmRSS) and its peak so far (VmHWM), MiB. */
  rssMiB?: number;
  peakRssMiB?: number;
}

export interface ModeSummary {
  mode: Mode;
  /** Which wasmesh (`wasmesh`, `wasmesh-core` or `wasmesh-core-up`) the row compares with Envoy. */
  variant: ProxyName;
  unit: string;
  shape: string;
  wasmesh: { rate: number; p50Ms: number; p99Ms: number; errors: number };
  envoy: { rate: number; p50Ms: number; p99Ms: number; errors: number };
  /** wasmesh / Envoy, medians of the rounds. */
  throughputRatio: number;
  p99Ratio: number;
  /** The same ratio per round (both measured back to back in that round). */
  roundRatios: number[];
}

export interface ProtocolsReport {
  date: string;
  command: string;
  machine: { cpus: number; loadavgAtStart: number[]; loadavgAtEnd: number[] };
  options: ProtocolsOptions;
  skipped: Record<string, string>;
  measurements: Measurement[];
  summary: ModeSummary[];
}

const here = dirname(fileURLToPath(import.meta.url));
/** Upstream servers that exited while the run went on (checked after each measurement). */
const serverDeaths: string[] = [];

/** Starts one upstream server process; resolves with its port. */
async function startServer(kind: ServerKind): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(here, 'servers.js'), kind], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${kind} server not listening within 15 s:\n${out}`)); }, 15_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /WASMESH_PROTO_SERVER (\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ port: Number(m[1]), child }); }
    });
    child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // After it was up: every later measurement against it would be the proxies' 503s.
      serverDeaths.push(`${kind} server exited (${code ?? signal}):\n${out.slice(-2000)}`);
      reject(new Error(`${kind} server exited (${code ?? signal}):\n${out}`));
    });
  });
}

/** CPU seconds (user + system) process `pid` has used so far, from /proc; null where there is none. */
export function processCpuS(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces, so: after the last ')'); utime and stime
    // are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** windowMs: the measuring window in epoch ms (from the proxy's CPU samples), to pick its collections out of the GC log. */
interface Sampled { figures: LoadFigures; proxyCpuS: number | null; loadCpuS: number | null; loadCores: number | null; upstreamCpuS: number | null; upstreamCores: number | null; syscalls?: SyscallCounts | null; loadSyscalls?: SyscallCounts | null; windowMs?: [number, number] }

/** CPU seconds `pids` used between two samples (summed); null when any is missing. */
function cpuBetween(start: (number | null)[] | null, end: (number | null)[] | null): number | null {
  if (start === null || end === null || start.length !== end.length) return null;
  let sum = 0;
  for (let i = 0; i < start.length; i++) {
    if (start[i] === null || end[i] === null) return null;
    sum += end[i]! - start[i]!;
  }
  return sum;
}

/** One load process (load-client.ts) running `load` with the handshake: `onReady` once it is loaded (then `go(epochMs)` starts it). */
function runLoadProcess(load: NodeLoad, onSpawn: (pid: number) => void, onReady: (go: (epochMs: number) => void) => void): Promise<LoadFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'load-client.js'), JSON.stringify({ ...load, handshake: true })], { stdio: ['pipe', 'pipe', 'pipe'] });
    if (child.pid !== undefined) onSpawn(child.pid);
    child.stdin!.on('error', () => {}); // a load process that died: its exit reports it
    let out = '';
    let readySeen = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), (load.durationS + load.warmupS + 60) * 1000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (!readySeen && out.includes('WASMESH_PROTO_READY')) {
        readySeen = true;
        onReady((epochMs) => child.stdin!.end(`GO ${epochMs}\n`));
      }
    });
    child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('WASMESH_PROTO_LOAD '));
      if (line === undefined) reject(new Error(`${load.kind} load exited (${code ?? signal}) without figures:\n${out}`));
      else resolve(loadFigures(line.slice('WASMESH_PROTO_LOAD '.length)));
    });
  });
}

/**
 * One Node load split over `procs` load processes of `threads` threads each. Once every one has
 * loaded, all get the same start (their warm-up, then one window); the proxy `pid`'s CPU, the
 * load processes' own and the upstream's are sampled when the window opens and closes.
 */
async function runNodeLoadProcesses(load: NodeLoad, pid: readonly number[] | null, upstreamPid: number | null, procs: number, threads: number, syscalls = false): Promise<Sampled> {
  const parts = splitLoad({ ...load, threads }, procs);
  const pids: number[] = [];
  const sample = (): { proxy: number | null; load: (number | null)[]; upstream: number | null } =>
    ({ proxy: pid === null ? null : processesCpuS(pid), load: pids.map(processCpuS), upstream: upstreamPid === null ? null : processCpuS(upstreamPid) });
  let atStart: ReturnType<typeof sample> | null = null;
  let atEnd: ReturnType<typeof sample> | null = null;
  let counter: ReturnType<typeof startSyscallCount> | null = null;
  let counted: Promise<SyscallCounts | null> | null = null;
  let loadCounter: ReturnType<typeof startSyscallCount> | null = null;
  let loadCounted: Promise<SyscallCounts | null> | null = null;
  const timers: NodeJS.Timeout[] = [];
  const windowMs: [number, number] = [NaN, NaN];
  const gos: ((epochMs: number) => void)[] = [];
  const onReady = (go: (epochMs: number) => void): void => {
    gos.push(go);
    if (gos.length < parts.length) return;
    const now = Date.now();
    for (const g of gos) g(now);
    timers.push(setTimeout(() => {
      atStart = sample();
      windowMs[0] = Date.now();
      if (syscalls && pid !== null) counter = startSyscallCount(pid);
      if (syscalls && pids.length > 0) loadCounter = startSyscallCount(pids);
    }, load.warmupS * 1000));
    timers.push(setTimeout(() => {
      atEnd = sample();
      windowMs[1] = Date.now();
      counted = (counter as ReturnType<typeof startSyscallCount> | null)?.stop() ?? null;
      loadCounted = (loadCounter as ReturnType<typeof startSyscallCount> | null)?.stop() ?? null;
    }, (load.warmupS + load.durationS) * 1000));
  };
  try {
    const figures = await Promise.all(parts.map((part) => runLoadProcess(part, (p) => pids.push(p), onReady)));
    const merged = mergeFigures(load.kind, figures, `${load.kind} load processes`);
    delete merged.histogram;
    const s = atStart as ReturnType<typeof sample> | null;
    const e = atEnd as ReturnType<typeof sample> | null;
    const proxyCpuS = s === null || e === null || s.proxy === null || e.proxy === null ? null : e.proxy - s.proxy;
    const loadCpuS = cpuBetween(s?.load ?? null, e?.load ?? null);
    const upstreamCpuS = cpuBetween([s?.upstream ?? null], [e?.upstream ?? null]);
    const syscallCounts = counted === null ? null : await (counted as Promise<SyscallCounts | null>);
    const loadSyscalls = loadCounted === null ? null : await (loadCounted as Promise<SyscallCounts | null>);
    return { figures: merged, proxyCpuS, loadCpuS, loadCores: loadCpuS === null ? null : loadCpuS / load.durationS, upstreamCpuS, upstreamCores: upstreamCpuS === null ? null : upstreamCpuS / load.durationS, syscalls: syscallCounts, loadSyscalls, windowMs };
  } finally {
    for (const t of timers) clearTimeout(t);
    void (counter as ReturnType<typeof startSyscallCount> | null)?.stop();
    void (loadCounter as ReturnType<typeof startSyscallCount> | null)?.stop();
  }
}

/**
 * Where a mode's load goes on `p` and the processes whose CPU it costs (a pair's two); for
 * `direct`, the mode's upstream itself (and no proxy to sample).
 */
function target(mode: Mode, p: RunningProxy, upstreamPort: number): { httpPort: number; tcpPort: number; pid: readonly number[] | null } {
  return p.name === 'direct' ? { httpPort: upstreamPort, tcpPort: upstreamPort, pid: null } : { httpPort: p.httpPort, tcpPort: p.tcpPort, pid: p.pids ?? [p.pid] };
}

/** CPU seconds the processes `pids` have used so far, summed; null when one cannot be read. */
function processesCpuS(pids: readonly number[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    const s = processCpuS(pid);
    if (s === null) return null;
    sum += s;
  }
  return sum;
}

function measureOne(mode: Mode, proxy: RunningProxy, upstream: { port: number; pid: number | null }, o: ProtocolsOptions, h2load: string | null, durationS: number, warmupS: number): Promise<Sampled> {
  const p = target(mode, proxy, upstream.port);
  const upstreamPid = upstream.pid;
  const node = (kind: NodeLoadKind, port: number, connections: number, inFlight: number, extra: Partial<NodeLoad> = {}): Promise<Sampled> =>
    runNodeLoadProcesses({ kind, host: '127.0.0.1', port, connections, inFlight, durationS, warmupS, ...extra }, p.pid, upstreamPid, o.loadProcs, o.loadThreads, o.syscalls === true);
  switch (mode) {
    case 'h2':
    case 'grpc-h2load':
    case 'mtls-http': {
      // h2load prints no marks: the proxy's CPU is sampled when its warm-up ends (a timer from
      // the start) and when it exits, which is its measuring window plus its teardown. h2load's
      // own CPU is sampled from the same start to 0.1 s before its window ends (once it has
      // exited there is nothing left to read).
      const warm = Math.max(warmupS, 0.1);
      let cpuAtStart: number | null = null;
      let h2loadPid: number | undefined;
      let loadAtStart: number | null = null;
      let loadAtEnd: number | null = null;
      let upAtStart: number | null = null;
      let upAtEnd: number | null = null;
      const loadWindowS = Math.max(durationS - 0.1, 0.05);
      let counter: ReturnType<typeof startSyscallCount> | null = null;
      let from = NaN;
      const mark = setTimeout(() => {
        cpuAtStart = p.pid === null ? null : processesCpuS(p.pid);
        from = Date.now();
        if (o.syscalls === true && p.pid !== null) counter = startSyscallCount(p.pid);
        if (h2loadPid !== undefined) loadAtStart = processCpuS(h2loadPid);
        if (upstreamPid !== null) upAtStart = processCpuS(upstreamPid);
      }, warm * 1000);
      const loadEnd = setTimeout(() => {
        if (h2loadPid !== undefined) loadAtEnd = processCpuS(h2loadPid);
        if (upstreamPid !== null) upAtEnd = processCpuS(upstreamPid);
      }, (warm + loadWindowS) * 1000);
      const load: H2Load = mode === 'h2'
        ? { url: `http://127.0.0.1:${p.httpPort}/`, clients: 4, streams: 16, durationS, warmupS: warm }
        : mode === 'mtls-http'
          // HTTP/1.1 keep-alive, one request in flight per connection (no pipelining: the e2e modes' shape).
          ? { url: `http://127.0.0.1:${p.httpPort}/`, clients: 16, streams: 1, durationS, warmupS: warm, h1: true }
          : {
          // The gRPC load of the grpc mode without grpc-js's client: one h2load process, so that
          // the proxy, not a single-threaded JS client, is what the rate measures.
          url: `http://127.0.0.1:${p.httpPort}${GRPC_ECHO_PATH}`, clients: 4, streams: 16, durationS, warmupS: warm,
          body: GRPC_MESSAGE, dataBytesPerResponse: GRPC_MESSAGE.length,
          headers: [':authority: grpc-echo.bench.internal', 'content-type: application/grpc', 'te: trailers'],
        };
      return runH2load(h2load!, load, (pid) => (h2loadPid = pid)).then(async (figures) => {
        clearTimeout(mark);
        clearTimeout(loadEnd);
        const now = p.pid === null ? null : processesCpuS(p.pid);
        const windowMs: [number, number] = [from, Date.now()];
        // Counted over the same window as the CPU (warm-up end to h2load's exit).
        const syscalls = counter === null ? null : await (counter as ReturnType<typeof startSyscallCount>).stop();
        const loadCpuS = cpuBetween([loadAtStart], [loadAtEnd]);
        const upstreamCpuS = cpuBetween([upAtStart], [upAtEnd]);
        return {
          figures, proxyCpuS: cpuAtStart === null || now === null ? null : now - cpuAtStart,
          loadCpuS, loadCores: loadCpuS === null ? null : loadCpuS / loadWindowS, upstreamCpuS, upstreamCores: upstreamCpuS === null ? null : upstreamCpuS / loadWindowS,
          syscalls, windowMs,
        };
      });
    }
    case 'grpc': return node('grpc', p.httpPort, 4, 16, { authority: 'grpc-echo.bench.internal' });
    case 'tcp-bytes':
    case 'mtls-tcp-bytes': return node('tcp-bytes', p.tcpPort, 4, 4);
    case 'tcp-conn': return node('tcp-conn', p.tcpPort, 16, 1);
    case 'ws': return node('ws', p.httpPort, 8, 8, { path: '/ws' });
  }
}

/**
 * With --gc, once the proxies have exited (gc-counter.cjs writes its log then): each wasmesh
 * measurement's collections over its window, per unit as cpuPerUnit. The logs are removed after.
 */
function gcPerMeasurement(ms: Measurement[], windows: ReadonlyMap<number, [number, number]>, proxies: readonly RunningProxy[]): void {
  const logs = new Map<ProxyName, GcEvent[] | null>();
  for (const p of proxies) {
    if (p.name === 'envoy' || p.name === 'direct' || p.pid === 0) continue; // pid 0: no gateway proxy started (mTLS modes alone)
    try {
      logs.set(p.name, readGcLog(gcLogOf(p.pid)));
    } catch (err) {
      process.stderr.write(`bench:protocols --gc: ${(err as Error).message}\n`);
      logs.set(p.name, null);
    }
    rmSync(gcLogOf(p.pid), { force: true });
  }
  ms.forEach((m, i) => {
    const events = logs.get(m.proxy);
    const w = windows.get(i);
    if (events === undefined || w === undefined) return;
    const units = m.mode === 'tcp-bytes' ? m.figures.bytes / (1024 * 1024) : m.figures.ops / 1000;
    if (events === null || !(units > 0)) {
      m.gc = null;
      return;
    }
    const g = gcBetween(events, w[0], w[1]);
    m.gc = { scavengesPerUnit: g.scavenges / units, markSweepsPerUnit: g.markSweeps / units, pauseMsPerUnit: g.pauseMs / units, maxPauseMs: g.maxPauseMs };
  });
}

/** With --gc: one row per measurement, wasmesh's collections per unit and every proxy's memory. */
export function gcTable(r: ProtocolsReport): string {
  const lines = ['| round | mode | proxy | scavenges | mark-sweeps | GC pause ms | longest pause ms | RSS MiB | peak RSS MiB |', '|---|---|---|---|---|---|---|---|---|'];
  const f = (x: number | undefined, d: number): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const g = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : x === 0 ? '0' : x.toPrecision(3));
  for (const m of r.measurements) {
    if (m.rssMiB === undefined) continue;
    const per = CPU_UNIT[m.mode];
    lines.push(`| ${m.round} | ${m.mode} | ${m.proxy} | ${m.gc ? `${g(m.gc.scavengesPerUnit)} ${per}` : '-'} | ${g(m.gc?.markSweepsPerUnit)} | ${g(m.gc?.pauseMsPerUnit)} | ${f(m.gc?.maxPauseMs, 2)} | ${f(m.rssMiB, 1)} | ${f(m.peakRssMiB, 1)} |`);
  }
  return lines.join('\n');
}

/** CPU ms per MiB (tcp-bytes) or per 1000 operations; null without a sample or without work. */
export function cpuPerUnit(mode: Mode, f: LoadFigures, cpuS: number | null): number | null {
  if (cpuS === null) return null;
  const units = BYTES_MODES.has(mode) ? f.bytes / (1024 * 1024) : f.ops / 1000;
  return units > 0 ? (cpuS * 1000) / units : null;
}

/** Syscalls per MiB (tcp-bytes) or per 1000 operations, the units of cpuPerUnit; null without counts or without work. */
export function syscallsPerUnit(mode: Mode, f: LoadFigures, counts: SyscallCounts | null | undefined): SyscallCounts | null {
  if (counts == null) return null;
  const units = BYTES_MODES.has(mode) ? f.bytes / (1024 * 1024) : f.ops / 1000;
  return units > 0 ? syscallsPer(counts, units) : null;
}

/**
 * The load process's figures. A window with no completed operation has no latency: its NaN
 * percentiles arrive as JSON null and are read back as NaN (printed "NaN", never a crash).
 */
function loadFigures(json: string): LoadFigures {
  const f = JSON.parse(json) as LoadFigures;
  const num = (x: number | null): number => (x === null ? NaN : x);
  return { ...f, latencyMs: { p50: num(f.latencyMs.p50), p99: num(f.latencyMs.p99) } };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export function summarize(ms: readonly Measurement[], modes: readonly Mode[]): ModeSummary[] {
  const out: ModeSummary[] = [];
  for (const mode of modes) for (const variant of ['wasmesh', 'wasmesh-nghttp2', 'wasmesh-core', 'wasmesh-core-up', 'wasmesh-socket'] as const) {
    const of = (proxy: ProxyName): Measurement[] => ms.filter((m) => m.mode === mode && m.proxy === proxy);
    const w = of(variant);
    const e = of('envoy');
    if (w.length === 0 || e.length === 0) continue;
    const fig = (xs: Measurement[]): ModeSummary['wasmesh'] => ({
      rate: median(xs.map((x) => x.figures.rate)),
      p50Ms: median(xs.map((x) => x.figures.latencyMs.p50)),
      p99Ms: median(xs.map((x) => x.figures.latencyMs.p99)),
      errors: xs.reduce((a, x) => a + x.figures.errors, 0),
    });
    const wf = fig(w);
    const ef = fig(e);
    const roundRatios = w.map((x) => {
      const other = e.find((y) => y.round === x.round);
      return other === undefined ? NaN : x.figures.rate / other.figures.rate;
    });
    out.push({ mode, variant, unit: UNIT[mode], shape: SHAPE[mode], wasmesh: wf, envoy: ef, throughputRatio: wf.rate / ef.rate, p99Ratio: wf.p99Ms / ef.p99Ms, roundRatios });
  }
  return out;
}

const rateText = (mode: Mode, rate: number): string => (BYTES_MODES.has(mode) ? (rate / (1024 * 1024)).toFixed(1) : rate.toFixed(0));

/** Every measurement, one row each: rate and proxy CPU (all there is with one proxy alone). */
export function measurementTable(r: ProtocolsReport): string {
  const lines = ['| round | mode | proxy | rate | proxy CPU (s) | CPU ms per unit | load cores | upstream cores | errors |', '|---|---|---|---|---|---|---|---|---|'];
  for (const m of r.measurements) {
    lines.push(`| ${m.round} | ${m.mode} | ${m.proxy} | ${rateText(m.mode, m.figures.rate)} ${UNIT[m.mode]} | ${m.proxyCpuS?.toFixed(2) ?? '-'} | ${m.cpuMsPerUnit === null ? '-' : `${m.cpuMsPerUnit.toFixed(2)} ${CPU_UNIT[m.mode]}`} | ${m.loadCores?.toFixed(2) ?? '-'} | ${m.upstreamCores?.toFixed(2) ?? '-'} | ${m.figures.errors} |`);
  }
  return lines.join('\n');
}

export function markdownTable(r: ProtocolsReport): string {
  const lines = [
    `| mode | wasmesh | Envoy | wasmesh/Envoy throughput (per round) | p50 wasmesh / Envoy (ms) | p99 wasmesh / Envoy (ms) | errors w/e |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const s of r.summary) {
    lines.push(`| ${s.variant === 'wasmesh' ? s.mode : `${s.mode} (${s.variant})`} | ${rateText(s.mode, s.wasmesh.rate)} ${s.unit} | ${rateText(s.mode, s.envoy.rate)} ${s.unit} | **${s.throughputRatio.toFixed(2)}×** (${s.roundRatios.map((x) => x.toFixed(2)).join(', ')}) | ${s.wasmesh.p50Ms.toFixed(2)} / ${s.envoy.p50Ms.toFixed(2)} | ${s.wasmesh.p99Ms.toFixed(2)} / ${s.envoy.p99Ms.toFixed(2)} | ${s.wasmesh.errors}/${s.envoy.errors} |`);
  }
  return lines.join('\n');
}

export async function runProtocols(o: ProtocolsOptions, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<ProtocolsReport> {
  const require = (env: string, why: string): void => {
    if (process.env[env] === '1') throw new Error(`bench:protocols: ${env}=1 but ${why}`);
  };
  const skipped: Record<string, string> = {};
  const missingEnvoy = envoyMissing();
  if (missingEnvoy !== null) {
    require('WASMESH_REQUIRE_ENVOY', missingEnvoy);
    throw new Error(`bench:protocols: ${missingEnvoy}; nothing to compare against`);
  }
  const h2load = findH2load();
  let modes = [...o.modes];
  const h2loadModes: readonly Mode[] = ['h2', 'grpc-h2load', 'mtls-http'];
  if (modes.some((m) => h2loadModes.includes(m)) && h2load === null) {
    const why = `h2load not found (H2LOAD_BIN=${process.env.H2LOAD_BIN ?? 'unset'}; Debian: apt-get install nghttp2-client, or scripts/install-loadgen.sh)`;
    require('WASMESH_REQUIRE_LOADGEN', why);
    for (const m of h2loadModes) if (modes.includes(m)) skipped[m] = why;
    log(`bench:protocols: ${h2loadModes.filter((m) => modes.includes(m)).join(', ')} skipped: ${why}`);
    modes = modes.filter((m) => !h2loadModes.includes(m));
  }

  const report: ProtocolsReport = {
    date: new Date().toISOString(),
    command: `npm run bench:protocols -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: cpus().length, loadavgAtStart: loadavg(), loadavgAtEnd: [] },
    options: o, skipped, measurements: [], summary: [],
  };
  const servers = new Map<ServerKind, { port: number; child: ChildProcess }>();
  const proxies: RunningProxy[] = [];
  let pairs: MtlsPairs | null = null;
  /** With --gc: each measurement's window (by its index in report.measurements). */
  const windows = new Map<number, [number, number]>();
  const meshDir = mkdtempSync(join(tmpdir(), 'wasmesh-proto-mesh-'));
  const onSignal = (): void => { killChildren(); for (const s of servers.values()) s.child.kill('SIGKILL'); process.exit(130); };
  process.once('SIGINT', onSignal);
  try {
    for (const kind of new Set(modes.map((m) => SERVER_OF[m]))) servers.set(kind, await startServer(kind));
    const port = (k: ServerKind): number => servers.get(k)?.port ?? 1;
    const ports: UpstreamPorts = { h2: port('h2'), grpc: port('grpc'), ws: port('ws'), tcp: port('tcp') };
    for (const [name, text] of Object.entries(protocolMeshYaml(ports))) writeFileSync(join(meshDir, name), text);
    const pairArgs = [...(o.cpuProfDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : []), ...o.wasmeshNodeFlags];
    const wasmeshArgs = [...(o.gc === true ? [`--require=${GC_COUNTER()}`] : []), ...pairArgs];
    // The gateway proxies serve the plaintext modes; with mTLS modes alone none is started (a name stands for its pairs).
    const plainModes = modes.some((m) => !isMtlsMode(m));
    for (const name of o.proxies) {
      proxies.push(name === 'direct' || !plainModes ? { name, httpPort: 0, tcpPort: 0, pid: 0, stop: async () => {} } : await startProxy(name, meshDir, name !== 'envoy' ? wasmeshArgs : []));
    }
    const mtlsModes = modes.filter(isMtlsMode);
    if (mtlsModes.length > 0) {
      const planes = o.proxies.filter((n) => MTLS_PLANES.includes(n));
      for (const n of o.proxies.filter((x) => x !== 'direct' && !MTLS_PLANES.includes(x))) log(`bench:protocols: ${n} has no mTLS pair: not measured in ${mtlsModes.join(', ')}`);
      pairs = await MtlsPairs.start(mtlsModes, planes, (m) => port(SERVER_OF[m]), pairArgs); // --gc counts the gateway proxies only
    }
    /** What a mode measures for `p`: its pair in an mTLS mode (none for a variant without one), else `p` itself. */
    const at = (mode: Mode, p: RunningProxy): RunningProxy | null =>
      (!isMtlsMode(mode) || p.name === 'direct' ? p : MTLS_PLANES.includes(p.name) ? pairs!.get(mode, p.name) : null);

    // Prime each path once, unrecorded: the first HTTP/2 or gRPC connection loads code both
    // proxies load lazily, and under a loaded machine that can take longer than a short window.
    const upstream = (mode: Mode): { port: number; pid: number | null } => ({ port: port(SERVER_OF[mode]), pid: servers.get(SERVER_OF[mode])?.child.pid ?? null });
    for (const mode of modes) for (const p of proxies) if (at(mode, p) !== null) await measureOne(mode, at(mode, p)!, upstream(mode), o, h2load, 0.5, 0);
    if (serverDeaths.length > 0) throw new Error(`bench:protocols: an upstream died while priming:\n${serverDeaths.join('\n')}`);

    for (let round = 1; round <= o.rounds; round++) {
      for (const mode of modes) {
        // Alternate who goes first each round (and each mode), so neither always runs on a warmer or quieter machine.
        // With three proxies the order rotates as well, so each one goes first in turn.
        const turn = (round + modes.indexOf(mode)) % proxies.length;
        const rotated = [...proxies.slice(turn), ...proxies.slice(0, turn)];
        const order = proxies.length === 2 ? rotated : (round % 2 === 0 ? rotated : rotated.reverse());
        for (const p of order) {
          const measured = at(mode, p);
          if (measured === null) continue;
          const { figures, proxyCpuS, loadCpuS, loadCores, upstreamCpuS, upstreamCores, syscalls, loadSyscalls, windowMs } = await measureOne(mode, measured, upstream(mode), o, h2load, o.durationS, o.warmupS);
          const cpuMsPerUnit = cpuPerUnit(mode, figures, proxyCpuS);
          // h2load's and the upstream's windows are 0.1 s shorter than the proxy's there: per unit, a slight underestimate.
          const loadCpuMsPerUnit = cpuPerUnit(mode, figures, loadCpuS);
          const upstreamCpuMsPerUnit = cpuPerUnit(mode, figures, upstreamCpuS);
          const sc = o.syscalls === true && p.name !== 'direct' ? syscallsPerUnit(mode, figures, syscalls) : undefined;
          const lsc = loadSyscalls === undefined ? undefined : syscallsPerUnit(mode, figures, loadSyscalls);
          if (serverDeaths.length > 0) throw new Error(`bench:protocols: an upstream died during ${mode} on ${p.name}; figures from then on would measure its absence:\n${serverDeaths.join('\n')}`);
          // --gc reads the gateway proxy's own process (its log and RSS); an mTLS pair's two processes are not counted.
          const gcHere = o.gc === true && p.name !== 'direct' && !isMtlsMode(mode);
          const memory = gcHere ? { rssMiB: statusMiB(p.pid, 'VmRSS'), peakRssMiB: statusMiB(p.pid, 'VmHWM') } : {};
          if (gcHere && windowMs !== undefined) windows.set(report.measurements.length, windowMs);
          report.measurements.push({ mode, proxy: p.name, round, figures, proxyCpuS, cpuMsPerUnit, loadCpuS, loadCores, upstreamCores, loadCpuMsPerUnit, upstreamCpuMsPerUnit, ...(sc !== undefined ? { syscallsPerUnit: sc } : {}), ...(lsc !== undefined ? { loadSyscallsPerUnit: lsc } : {}), ...memory });
          log(`round ${round} ${mode} ${p.name}: ${rateText(mode, figures.rate)} ${UNIT[mode]}, ${cpuMsPerUnit === null ? 'CPU not sampled' : `${cpuMsPerUnit.toFixed(2)} CPU ms ${CPU_UNIT[mode]} (proxy CPU ${proxyCpuS!.toFixed(2)} s)`}, load tool ${loadCores === null ? 'CPU not sampled' : `${loadCores.toFixed(2)} cores (${loadCpuMsPerUnit?.toFixed(1) ?? '-'} ms ${CPU_UNIT[mode]})`}, upstream ${upstreamCores === null ? 'CPU not sampled' : `${upstreamCores.toFixed(2)} cores (${upstreamCpuMsPerUnit?.toFixed(1) ?? '-'} ms ${CPU_UNIT[mode]})`}, p50 ${figures.latencyMs.p50.toFixed(2)} ms, p99 ${figures.latencyMs.p99.toFixed(2)} ms, errors ${figures.errors}${figures.firstError ? ` (${figures.firstError})` : ''}${sc === undefined ? '' : sc === null ? ', syscalls not counted' : `, syscalls ${CPU_UNIT[mode]} ${sc.total.toFixed(0)} (reads ${sc.reads.toFixed(0)}, writes ${sc.writes.toFixed(0)}, polls ${sc.polls.toFixed(0)})`}${lsc == null ? '' : `, load syscalls ${lsc.total.toFixed(0)} (reads ${lsc.reads.toFixed(0)}, writes ${lsc.writes.toFixed(0)}, polls ${lsc.polls.toFixed(0)})`}`);
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    for (const p of proxies) await p.stop();
    await pairs?.stop();
    for (const s of servers.values()) {
      s.child.removeAllListeners('exit');
      await stopChild(s.child);
    }
    rmSync(meshDir, { recursive: true, force: true });
  }
  if (o.gc === true) gcPerMeasurement(report.measurements, windows, proxies);
  report.machine.loadavgAtEnd = loadavg();
  report.summary = summarize(report.measurements, modes);
  return report;
}

if (process.argv[1]?.endsWith(join('protocols', 'run.js'))) {
  let o: ProtocolsOptions;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof OptionsError) {
      console.error(`bench:protocols: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  try {
    const report = await runProtocols(o);
    const file = o.json ?? join(repoRoot(), 'bench', 'results', `protocols-${report.date.replace(/[:.]/g, '-')}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`${report.date}, ${report.machine.cpus} CPUs, load average ${report.machine.loadavgAtStart.map((x) => x.toFixed(2)).join(' ')} at start, ${report.machine.loadavgAtEnd.map((x) => x.toFixed(2)).join(' ')} at end`);
    console.log(`${o.rounds} rounds × ${o.durationS} s (+${o.warmupS} s warm-up) per mode and proxy; Node load modes in ${o.loadProcs} load process(es) × ${o.loadThreads} thread(s)\n`);
    console.log(`${measurementTable(report)}\n`);
    if (o.gc === true) console.log(`${gcTable(report)}\n`);
    if (report.summary.length > 0) console.log(markdownTable(report));
    for (const s of report.summary.filter((x) => x.variant === report.summary.find((y) => y.mode === x.mode)!.variant)) console.log(`- ${s.mode}: ${s.shape}`);
    for (const [m, why] of Object.entries(report.skipped)) console.log(`- ${m}: skipped (${why})`);
    console.log(`\nJSON: ${file}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
