// The main thread's side of `wasmesh proxy --workers N`: starts the extra data-path worker
// threads (the main thread serves as worker 0), sends each config version to all of them,
// reads their stats synchronously for the admin API, forwards their access-log batches,
// reports a crashed worker, and shuts them down.
import type { WorkloadMetadata } from '../model/workload-metadata.js';
import type { Reporter } from '../telemetry/istio-labels.js';
import { Worker } from 'node:worker_threads';
import type { ProxyTlsSettings } from '../tls/tls-settings.js';
import type { WorkloadCertificate, WorkloadCertificateSource } from '../tls/workload-certificate.js';
import { join } from 'node:path';
import { compiledEntry, coreModule, packageRoot } from '../core/wasm.js';
import type { MeshConfig } from '../model/mesh.js';
import type { Limits } from '../common/limits.js';
import type { Log } from '../common/log.js';
import {
  SNAPSHOT_DATA, SNAPSHOT_LENGTH, SNAPSHOT_READY, SNAPSHOT_STATE, SNAPSHOT_TOO_BIG, SNAPSHOT_WAITING,
  type FromWorker, type StatsSnapshot, type ToWorker, type WorkerInit,
} from './worker-messages.js';

export interface WorkerPoolOptions {
  /** Extra worker threads to start (workers - 1: the main thread serves too). */
  count: number;
  host: string;
  /** The port the main thread's listener already holds. */
  port: number;
  /** One descriptor of the main thread's listening socket per worker (ProxyServer.listenFds). */
  listenFds: number[];
  limits: Limits;
  seed?: number;
  /** The main thread's TLS settings (ProxyServer.transportSettings); absent: plain TCP. */
  transport?: ProxyTlsSettings;
  /**
   * The main thread's workload certificate source (ProxyServer.workloadCertificates): each worker
   * gets the certificate in hand at start and every renewal, as PEMs, in a cell of its own.
   */
  workloadCertificates?: WorkloadCertificateSource;
  /** Receives the workers' access-log batches (whole lines); absent: workers log nothing. */
  accessLog?: (text: string) => void;
  /** Operational events: a worker that crashed or failed to apply a version. */
  log: Log;
  /** Ports of this process passthrough may not reach (admin, further listeners). */
  reservedPorts?: number[];
  /** How long a snapshot waits for a worker before using its last one (ms). */
  snapshotTimeoutMs?: number;
  /** The main thread's workload and Istio metrics reporter (ProxyServer.istioSettings). */
  istio?: { workload: WorkloadMetadata; reporter: Reporter | 'off' };
}

/** The compiled worker entry: dist/host/server/proxy-worker.js (also when the host runs from TypeScript sources, as in tests). */
function workerScript(): string {
  const script = compiledEntry(new URL('./proxy-worker.js', import.meta.url), 'host/server/proxy-worker.js');
  if (script === null) throw new Error(`wasmesh: ${join(packageRoot(), 'dist', 'host', 'server', 'proxy-worker.js')} is missing; run \`npm run build\` first (WORKER_SCRIPT_MISSING)`);
  return script;
}

class PoolWorker {
  readonly index: number;
  readonly thread: Worker;
  appliedVersion = 0;
  exited = false;
  crashed = false;
  buffer = new SharedArrayBuffer(256 * 1024);
  last: StatsSnapshot = { stats: [], clusters: [] };

  constructor(index: number, thread: Worker) {
    this.index = index;
    this.thread = thread;
  }

  post(m: ToWorker): void {
    if (!this.exited) this.thread.postMessage(m);
  }
}

export class WorkerPool {
  readonly #opts: WorkerPoolOptions;
  readonly #workers: PoolWorker[] = [];
  #config: { mesh: MeshConfig; version: number } | null = null;
  #closing: Promise<void> | null = null;
  #crashes = 0;
  readonly #appliedWaiters: Array<() => void> = [];
  #unsubscribe: (() => void) | null = null;

  constructor(opts: WorkerPoolOptions) {
    this.#opts = opts;
  }

  /** Worker threads that crashed (uncaught error or unexpected exit) since start. */
  get crashes(): number {
    return this.#crashes;
  }

  /** Worker threads still running. */
  get live(): number {
    return this.#workers.filter((w) => !w.exited).length;
  }

  /** The config version each worker thread has applied (0: none yet), by worker index. */
  get appliedVersions(): number[] {
    return this.#workers.map((w) => w.appliedVersion);
  }

  /** Starts the threads; resolves once every one listens (rejects, stopping them, if one cannot). */
  async start(): Promise<void> {
    const script = workerScript();
    const module = coreModule();
    const ready: Array<Promise<void>> = [];
    const source = this.#opts.workloadCertificates;
    // Subscribed before the first worker starts, so no renewal falls between its init and its first message.
    if (source !== undefined) this.#unsubscribe = source.subscribe((cert) => this.#sendCertificate(cert));
    for (let i = 1; i <= this.#opts.count; i++) {
      const init: WorkerInit = {
        index: i,
        host: this.#opts.host,
        port: this.#opts.port,
        listenFd: this.#opts.listenFds[i - 1]!,
        limits: this.#opts.limits,
        seed: this.#opts.seed,
        accessLog: this.#opts.accessLog !== undefined,
        module,
        config: this.#config,
        transport: this.#opts.transport ?? {},
        workload: source !== undefined,
        workloadCertificate: source?.current() ?? null,
        ...(this.#opts.reservedPorts !== undefined && { reservedPorts: this.#opts.reservedPorts }),
        ...(this.#opts.istio !== undefined && { istio: this.#opts.istio }),
      };
      const w = new PoolWorker(i, new Worker(script, { workerData: init }));
      this.#workers.push(w);
      ready.push(this.#watch(w));
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  #watch(w: PoolWorker): Promise<void> {
    return new Promise((resolve, reject) => {
      let listening = false;
      w.thread.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'listening':
            listening = true;
            resolve();
            break;
          case 'listen-failed':
            reject(new Error(`wasmesh: worker ${w.index}: ${m.message}`));
            break;
          case 'applied':
            w.appliedVersion = m.version;
            for (const wake of this.#appliedWaiters.splice(0)) wake();
            break;
          case 'apply-failed':
            this.#opts.log('error', `worker ${w.index} could not apply config version ${m.version}: ${m.message} (WORKER_APPLY_FAILED)`);
            break;
          case 'log':
            this.#opts.accessLog?.(m.text);
            break;
          case 'closed':
            break;
          case 'crashed':
            w.crashed = true;
            this.#crashes++;
            this.#opts.log('error', `worker ${w.index} crashed: ${m.message} (WORKER_CRASHED)`);
            if (!listening) reject(new Error(`wasmesh: worker ${w.index} failed to start: ${m.message}`));
            break;
        }
      });
      w.thread.on('error', (err) => {
        // The worker reports its own uncaught errors ('crashed'); this is an error before its
        // handlers were installed (e.g. while loading). Reported, not restarted.
        if (w.crashed) return;
        w.crashed = true;
        this.#crashes++;
        this.#opts.log('error', `worker ${w.index} crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)} (WORKER_CRASHED)`);
        if (!listening) reject(new Error(`wasmesh: worker ${w.index} failed to start: ${err instanceof Error ? err.message : String(err)}`));
      });
      w.thread.on('exit', (code) => {
        w.exited = true;
        if (!this.#closing && !w.crashed) {
          w.crashed = true;
          this.#crashes++;
          this.#opts.log('error', `worker ${w.index} exited unexpectedly (code ${code}) (WORKER_CRASHED)`);
        }
        if (!listening) reject(new Error(`wasmesh: worker ${w.index} exited before listening (code ${code})`));
        for (const wake of this.#appliedWaiters.splice(0)) wake();
      });
    });
  }

  /** Sends a version to every worker (the main thread applied it already, so it is valid). */
  apply(mesh: MeshConfig, version: number): void {
    this.#config = { mesh, version };
    for (const w of this.#workers) w.post({ type: 'apply', mesh, version });
  }

  /** Resolves once every live worker serves `version` or later. */
  async whenApplied(version: number): Promise<void> {
    while (this.#workers.some((w) => !w.exited && w.appliedVersion < version)) {
      await new Promise<void>((wake) => this.#appliedWaiters.push(wake));
    }
  }

  /**
   * Every live worker's stats and clusters, read synchronously (the admin API's sources are
   * synchronous): all are asked at once, then each answer is awaited with Atomics.wait. A
   * worker that does not answer in time contributes its previous snapshot.
   */
  snapshots(): StatsSnapshot[] {
    const live = this.#workers.filter((w) => !w.exited);
    for (const w of live) this.#ask(w);
    const deadline = Date.now() + (this.#opts.snapshotTimeoutMs ?? 1000);
    const out: StatsSnapshot[] = [];
    for (const w of live) {
      let state = this.#await(w, deadline);
      if (state === SNAPSHOT_TOO_BIG) {
        const need = new Int32Array(w.buffer, 0, 2)[SNAPSHOT_LENGTH]!;
        w.buffer = new SharedArrayBuffer(SNAPSHOT_DATA + need * 2);
        this.#ask(w);
        state = this.#await(w, deadline);
      }
      if (state === SNAPSHOT_READY) {
        const len = new Int32Array(w.buffer, 0, 2)[SNAPSHOT_LENGTH]!;
        // Copied out: TextDecoder does not read shared memory.
        const bytes = new Uint8Array(len);
        bytes.set(new Uint8Array(w.buffer, SNAPSHOT_DATA, len));
        w.last = JSON.parse(new TextDecoder().decode(bytes)) as StatsSnapshot;
      }
      out.push(w.last);
    }
    return out;
  }

  #ask(w: PoolWorker): void {
    Atomics.store(new Int32Array(w.buffer, 0, 2), SNAPSHOT_STATE, SNAPSHOT_WAITING);
    w.post({ type: 'snapshot', buffer: w.buffer });
  }

  #await(w: PoolWorker, deadline: number): number {
    const state = new Int32Array(w.buffer, 0, 2);
    for (;;) {
      const now = Atomics.load(state, SNAPSHOT_STATE);
      if (now !== SNAPSHOT_WAITING) return now;
      const left = deadline - Date.now();
      if (left <= 0) return SNAPSHOT_WAITING;
      Atomics.wait(state, SNAPSHOT_STATE, SNAPSHOT_WAITING, left);
    }
  }

  /**
   * Asks every worker to drain and stop (each aborts what remains after the drain period) and
   * waits for the threads to end. A worker still running 2 s after that is reported and left:
   * Worker#terminate() on a thread whose uWS sockets are open aborts the whole process.
   */
  /** Every running worker's cell takes the new certificate. */
  #sendCertificate(cert: WorkloadCertificate): void {
    // Plain data only: a source may hand over an object with more than the interface's fields.
    const plain: WorkloadCertificate = { identity: cert.identity, certChainPem: cert.certChainPem, keyPem: cert.keyPem, rootsPem: cert.rootsPem, notAfter: cert.notAfter };
    for (const w of this.#workers) w.post({ type: 'workload-certificate', cert: plain });
  }

  close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    return (this.#closing ??= (async () => {
      const grace = this.#opts.limits.drainTimeoutMs + 2000;
      await Promise.all(
        this.#workers.map(async (w) => {
          if (w.exited) return;
          const exited = new Promise<'exited'>((resolve) => w.thread.once('exit', () => resolve('exited')));
          w.post({ type: 'close' });
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), grace)));
          if ((await Promise.race([exited, late])) === 'late') this.#opts.log('warn', `worker ${w.index} did not stop within ${grace} ms (WORKER_STUCK)`);
          clearTimeout(timer);
        }),
      );
    })());
  }

  /** Makes worker `index` (1-based) throw an uncaught error: for crash-reporting tests. */
  failForTest(index: number, message: string): void {
    this.#workers[index - 1]?.post({ type: 'fail', message });
  }
}
