// The HTTP connection manager: every request a listener hands over becomes an HttpStream on the
// configuration version current at that moment; requests that arrive before the first version or
// during shutdown are answered 503 at once. Versions are swapped atomically by setConfig().
import type { Downstream, DownstreamHandler } from '../listener/downstream.js';
import { HttpStream, type StreamContext } from './http-stream.js';
import type { RouteConfig } from './route-config.js';

/** For requests answered before any stream exists (no config yet, shutting down). */
const IGNORE_DOWNSTREAM: DownstreamHandler = { onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} };

export class HttpConnectionManager {
  readonly ctx: StreamContext;
  #current: RouteConfig | null = null;
  #closing = false;

  constructor(ctx: StreamContext) {
    this.ctx = ctx;
  }

  /** The version new streams start on (null before the first). */
  get current(): RouteConfig | null {
    return this.#current;
  }

  /** Swaps in `config`; streams on the previous version keep it until they end, then it is freed. */
  setConfig(config: RouteConfig | null): void {
    const prev = this.#current;
    this.#current = config;
    prev?.retire();
  }

  /** New requests are refused from now on (503, "proxy is shutting down"). */
  startClosing(): void {
    this.#closing = true;
  }

  /** The listener's callback for each request (synchronously, while the listener's request is valid). */
  onRequest(ds: Downstream): void {
    const config = this.#current;
    if (!config || this.#closing) {
      ds.attach(IGNORE_DOWNSTREAM, false);
      ds.reply('503 Service Unavailable', [], this.#closing ? 'proxy is shutting down' : 'no configuration loaded');
      return;
    }
    new HttpStream(this.ctx, ds).run(config);
  }
}
