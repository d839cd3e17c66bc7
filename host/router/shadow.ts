// Fire-and-forget copies of a request (Istio mirror / mirrors, Envoy's request shadowing): the
// copy goes to another cluster with its Host suffixed `-shadow`, its response is read and
// discarded, its failures are only counted, and nothing it does reaches the original request.
import type { Cancellable, ExchangeHandler, PoolCallbacks, PoolFailure, UpstreamStream } from '../upstream/conn-pool/conn-pool.js';
import { liveStream } from './live-stream.js';
import type { ResponseHead } from '../upstream/upstream-head.js';
import type { ClusterRuntime } from '../http/route-config.js';
import type { EndpointLease } from '../upstream/cluster-manager.js';

/** One copy ready to send: its head (written while the request view held the request) and framing. */
export interface MirrorCopy {
  cluster: ClusterRuntime;
  /** Position of the cluster in the version (for the endpoint pick). */
  clusterIndex: number;
  head: Uint8Array;
}

export interface MirrorRequest {
  isHead: boolean;
  chunked: boolean;
  hasBody: boolean;
  /** The whole request body (already buffered: the copy is sent once the request is complete). */
  body: readonly Uint8Array[];
  timeoutMs: number;
}

class MirrorExchange implements PoolCallbacks, ExchangeHandler {
  readonly #copy: MirrorCopy;
  readonly #req: MirrorRequest;
  readonly #lease: EndpointLease;
  #pending: Cancellable | null = null;
  #upstream: UpstreamStream | null = null;
  /** Its generation when handed over (UpstreamStream.generation): calls only while it is unchanged. */
  #upstreamGeneration: number | undefined = undefined;
  #timer: NodeJS.Timeout | null = null;
  #done = false;

  constructor(copy: MirrorCopy, req: MirrorRequest, lease: EndpointLease) {
    this.#copy = copy;
    this.#req = req;
    this.#lease = lease;
  }

  start(): void {
    const stats = this.#copy.cluster.stats;
    stats.inc('upstream_rq_mirror');
    stats.inc('upstream_rq_total');
    if (this.#req.timeoutMs > 0) {
      this.#timer = setTimeout(() => this.#fail(true), this.#req.timeoutMs);
      // A pending copy never keeps the process alive.
      this.#timer.unref();
    }
    this.#lease.endpoint.activeRequests++;
    this.#pending = this.#lease.endpoint.newStream(this);
  }

  onPoolFailure(failure: PoolFailure): void {
    this.#pending = null;
    if (this.#done) return;
    // A shadow request is an upstream request like any other: it feeds outlier detection.
    if (failure !== 'overflow') this.#lease.report('connect_failed');
    this.#fail(false);
  }

  onPoolReady(upstream: UpstreamStream): void {
    this.#pending = null;
    if (this.#done) {
      this.#lease.endpoint.release(upstream, true);
      return;
    }
    this.#lease.report('connect_success');
    this.#upstream = upstream;
    this.#upstreamGeneration = upstream.generation;
    const req = this.#req;
    upstream.start(this.#copy.head, this, { isHead: req.isHead, chunked: req.chunked, hasBody: req.hasBody });
    // The body is in memory already; the stream buffers what it cannot take at once. Through #up:
    // a start that failed ended the stream, which may be another exchange's by now.
    for (const chunk of req.body) this.#up?.writeBody(chunk);
    if (req.hasBody) this.#up?.endRequest();
  }

  /** The stream while it is still this copy's (a pooled stream moves on when its exchange ends). */
  get #up(): UpstreamStream | null {
    return liveStream(this.#upstream, this.#upstreamGeneration);
  }

  onResponseHead(head: ResponseHead): void {
    this.#lease.report(head.code);
    const stats = this.#copy.cluster.stats;
    stats.incDynamic(`upstream_rq_${head.code}`);
    stats.inc(`upstream_rq_${Math.floor(head.code / 100)}xx` as 'upstream_rq_2xx');
  }

  onResponseData(): boolean {
    return true; // discarded
  }

  onResponseEnd(): void {
    this.#upstream = null;
    this.#copy.cluster.stats.inc('upstream_rq_completed');
    this.#end();
  }

  onUpstreamFailure(): void {
    this.#upstream = null;
    this.#lease.report('reset');
    this.#fail(false);
  }

  onRequestDrain(): void {}

  #fail(timeout: boolean): void {
    if (this.#done) return;
    const stats = this.#copy.cluster.stats;
    stats.inc('upstream_rq_mirror_failed');
    if (timeout) {
      stats.inc('upstream_rq_timeout');
      this.#lease.report('timeout');
    }
    this.#pending?.cancel();
    this.#pending = null;
    this.#up?.abort();
    this.#upstream = null;
    this.#end();
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#lease.release();
    this.#lease.endpoint.activeRequests--;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/**
 * Sends `copy` to the endpoint `pick` leases from its cluster (null: none healthy, the copy
 * is skipped and counted). Returns at once; nothing is reported back to the original.
 */
export function sendMirror(copy: MirrorCopy, req: MirrorRequest, pick: () => EndpointLease | null): void {
  const lease = pick();
  if (!lease) {
    copy.cluster.stats.inc('upstream_rq_mirror_skipped');
    return;
  }
  new MirrorExchange(copy, req, lease).start();
}
