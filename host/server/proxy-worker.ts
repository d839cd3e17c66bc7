// A data-path worker thread of `wasmesh proxy --workers N`: its own core instance (from the
// main thread's compiled module), its own listener accepting on its descriptor of the main
// thread's listening socket (whichever thread accepts first takes a connection), pools,
// outlier state and stats. Config
// versions, stats requests and shutdown come from the main thread (host/server/worker-pool.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { ProxyServer } from './proxy-server.js';
import { WorkloadCertificateCell } from '../tls/workload-certificate-cell.js';
import { AccessLogBuffer } from '../telemetry/access-log.js';
import { envoyAccessLogLine } from '../telemetry/access-log-line.js';
import {
  SNAPSHOT_DATA, SNAPSHOT_LENGTH, SNAPSHOT_READY, SNAPSHOT_STATE, SNAPSHOT_TOO_BIG,
  type FromWorker, type StatsSnapshot, type ToWorker, type WorkerInit,
} from './worker-messages.js';

const port = parentPort;
if (!port) throw new Error('wasmesh: proxy-worker.js runs only as a worker thread (WORKER_ONLY)');
const init = workerData as WorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);
const encoder = new TextEncoder();

// The main thread's workload certificate, renewed by message; absent when it has no source.
const workload = init.workload ? new WorkloadCertificateCell() : undefined;
if (workload !== undefined && init.workloadCertificate !== null) workload.set(init.workloadCertificate);
const logBuffer = init.accessLog ? new AccessLogBuffer((text) => post({ type: 'log', text })) : null;
const server = new ProxyServer({
  host: init.host,
  port: init.port,
  listenFd: init.listenFd,
  limits: init.limits,
  seed: init.seed,
  coreModule: init.module,
  ...init.transport,
  workloadCertificates: workload,
  reservedPorts: () => init.reservedPorts ?? [],
  ...(init.istio !== undefined ? { workload: init.istio.workload, istioMetrics: init.istio.reporter } : {}),
  log: logBuffer ? (entry) => logBuffer.push(envoyAccessLogLine(entry)) : undefined,
});

function apply(mesh: Parameters<ProxyServer['apply']>[0], version: number): void {
  try {
    server.apply(mesh, version);
    post({ type: 'applied', version });
  } catch (err) {
    // The main thread applied the same mesh first, so this is not expected; it is reported.
    post({ type: 'apply-failed', version, message: err instanceof Error ? err.message : String(err) });
  }
}

function snapshot(buffer: SharedArrayBuffer): void {
  const state = new Int32Array(buffer, 0, 2);
  const snap: StatsSnapshot = { stats: server.stats.records(), clusters: server.clusters(), ...(server.istio !== null ? { istio: server.istio.snapshot() } : {}) };
  const bytes = encoder.encode(JSON.stringify(snap));
  if (bytes.length > buffer.byteLength - SNAPSHOT_DATA) {
    state[SNAPSHOT_LENGTH] = bytes.length;
    Atomics.store(state, SNAPSHOT_STATE, SNAPSHOT_TOO_BIG);
  } else {
    new Uint8Array(buffer, SNAPSHOT_DATA, bytes.length).set(bytes);
    state[SNAPSHOT_LENGTH] = bytes.length;
    Atomics.store(state, SNAPSHOT_STATE, SNAPSHOT_READY);
  }
  Atomics.notify(state, SNAPSHOT_STATE);
}

// An uncaught error ends this worker alone: uWS's sockets are closed first (a worker thread
// that ends while uWS holds sockets aborts the whole process), the main thread is told, and
// the kernel sends new connections to the remaining listeners.
function crash(err: unknown): void {
  post({ type: 'crashed', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  try {
    server.closeListenerNow();
  } finally {
    process.exit(70);
  }
}
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'apply':
      apply(m.mesh, m.version);
      break;
    case 'snapshot':
      snapshot(m.buffer);
      break;
    case 'workload-certificate':
      // A certificate a transport cannot load is logged by the transport, which fails closed.
      try {
        workload?.set(m.cert);
      } catch {
        /* logged by the transport */
      }
      break;
    case 'close':
      void server.close().then(() => {
        logBuffer?.flush();
        post({ type: 'closed' });
        // Nothing else keeps the thread alive once uWS closed its sockets: it exits.
        port.close();
      });
      break;
    case 'fail':
      setImmediate(() => {
        throw new Error(m.message);
      });
      break;
  }
});

if (init.config) apply(init.config.mesh, init.config.version);
server.listen().then(
  () => post({ type: 'listening', port: server.port }),
  (err: unknown) => {
    post({ type: 'listen-failed', message: err instanceof Error ? err.message : String(err) });
    port.close();
  },
);
